//! What a hardened port lets in (Edge #16 item 4): CORS only for configured origins, a rate per
//! caller (RESOURCE_EXHAUSTED with RetryInfo and reason RATE_LIMITED, other callers unaffected),
//! load shedding, reflection of only the served services (or none), and TLS on the listener.

use std::time::Duration;

use kit::config::Config;
use kit::server::limits::Origins;
use kit::testing::Role;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::Code;
use tonic_types::StatusExt;

const GET: &str = "/civil.socialorg.v1.SocialOrgService/GetOrganisation";
const SOCIALORG: &str = "civil.socialorg.v1.SocialOrgService";

async fn suite(adjust: impl FnOnce(&mut Config)) -> kit::testing::TestSuite {
    kit::testing::spawn_with(&[socialorg::SERVICE], |cfg| {
        cfg.extra.insert("socialorg_sweep".into(), "off".into());
        adjust(cfg);
    })
    .await
}

// ---------------------------------------------------------------- CORS

/// Sends one HTTP/1.1 request and returns the response head, lower-cased.
async fn http_head(addr: std::net::SocketAddr, request: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    while !raw.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("answer in time")
            .expect("read");
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&raw).to_ascii_lowercase();
    text.split("\r\n\r\n").next().unwrap_or_default().to_owned()
}

fn preflight(origin: &str) -> String {
    format!(
        "OPTIONS {GET} HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: {origin}\r\n\
         Access-Control-Request-Method: POST\r\n\
         Access-Control-Request-Headers: content-type,x-grpc-web,authorization\r\n\
         Connection: close\r\n\r\n"
    )
}

fn grpc_web_call(origin: &str) -> String {
    format!(
        "POST {GET} HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: {origin}\r\n\
         Content-Type: application/grpc-web+proto\r\nX-Grpc-Web: 1\r\n\
         Content-Length: 5\r\nConnection: close\r\n\r\n\0\0\0\0\0"
    )
}

#[tokio::test]
async fn cors_answers_only_the_configured_origins_and_a_disallowed_origin_gets_no_cors_headers() {
    let portal = "https://portal.example.gov.cn";
    let suite = suite(|cfg| cfg.cors_origins = Some(vec![portal.to_owned()])).await;

    let allowed = http_head(suite.addr, &preflight(portal)).await;
    assert!(
        allowed.contains(&format!("access-control-allow-origin: {portal}")),
        "{allowed}"
    );
    let allowed = http_head(suite.addr, &grpc_web_call(portal)).await;
    assert!(
        allowed.contains(&format!("access-control-allow-origin: {portal}"))
            && allowed.contains("access-control-expose-headers"),
        "{allowed}"
    );

    for evil in ["https://evil.example", "http://localhost:3000", "null"] {
        for request in [preflight(evil), grpc_web_call(evil)] {
            let head = http_head(suite.addr, &request).await;
            assert!(
                !head.contains("access-control-"),
                "{evil} got CORS headers:\n{head}"
            );
        }
    }
}

#[test]
fn cors_default_is_no_origin_in_production_and_local_origins_in_development() {
    let production = Config {
        database_url: Some(kit::config::Secret("postgres://db/civil".into())),
        ..Config::default()
    };
    let production = Origins::from_config(&production);
    let development = Origins::from_config(&Config::default());
    for local in [
        "http://localhost:5173",
        "http://127.0.0.1:8080",
        "http://[::1]:3000",
    ] {
        assert!(!production.allows(local.as_bytes()), "production: {local}");
        assert!(development.allows(local.as_bytes()), "development: {local}");
    }
    for foreign in [
        "https://evil.example",
        "http://localhost.evil.example",
        "http://127.0.0.1.evil.example:80",
        "null",
    ] {
        assert!(!development.allows(foreign.as_bytes()), "{foreign}");
    }
    let listed = Config::load_from(&std::collections::BTreeMap::from([(
        "CIVIL_CORS_ORIGINS".to_owned(),
        "https://portal.example.gov.cn, https://zwfw.example.gov.cn/".to_owned(),
    )]))
    .expect("a list of origins");
    let listed = Origins::from_config(&listed);
    assert!(listed.allows(b"https://zwfw.example.gov.cn"));
    assert!(!listed.allows(b"http://localhost:5173"));
    assert!(
        Config::load_from(&std::collections::BTreeMap::from([(
            "CIVIL_CORS_ORIGINS".to_owned(),
            "portal.example.gov.cn".to_owned(),
        )]))
        .is_err(),
        "an origin without its scheme is refused at start"
    );
}

// ---------------------------------------------------------------- rate limits, shedding

#[tokio::test]
async fn a_caller_over_its_rate_gets_resource_exhausted_with_retry_info_while_another_passes() {
    // A generous default, and a tight one for socialorg (CIVIL_SOCIALORG_RATE_LIMIT_*).
    let suite = suite(|cfg| {
        cfg.rate_limit_per_second = 1000;
        cfg.extra
            .insert("socialorg_rate_limit_per_second".into(), "1".into());
        cfg.extra
            .insert("socialorg_rate_limit_burst".into(), "3".into());
    })
    .await;
    let busy = suite.token_for("clerk-busy", &[Role::SocialOrgOfficer], "330723");
    let other = suite.token_for("clerk-other", &[Role::SocialOrgOfficer], "330723");

    for i in 0..3 {
        let answer = suite.raw_call(GET, Vec::new(), &busy).await;
        assert!(
            answer
                .as_ref()
                .err()
                .is_none_or(|s| s.code() != Code::ResourceExhausted),
            "call {i} is within the burst: {answer:?}"
        );
    }
    let refused = suite
        .raw_call(GET, Vec::new(), &busy)
        .await
        .expect_err("the fourth call is over the rate");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    let details = refused.get_error_details();
    assert_eq!(
        details.error_info().map(|i| i.reason.as_str()),
        Some("RATE_LIMITED"),
        "{refused:?}"
    );
    let retry = details
        .retry_info()
        .and_then(|r| r.retry_delay)
        .expect("RetryInfo says when to retry");
    assert!(
        retry > Duration::ZERO && retry <= Duration::from_secs(1),
        "{retry:?}"
    );

    // Another caller is not affected.
    let answer = suite.raw_call(GET, Vec::new(), &other).await;
    assert!(
        answer
            .as_ref()
            .err()
            .is_none_or(|s| s.code() != Code::ResourceExhausted),
        "{answer:?}"
    );

    // After the delay, the busy caller passes again.
    tokio::time::sleep(retry + Duration::from_millis(20)).await;
    let answer = suite.raw_call(GET, Vec::new(), &busy).await;
    assert!(
        answer
            .as_ref()
            .err()
            .is_none_or(|s| s.code() != Code::ResourceExhausted),
        "{answer:?}"
    );
}

#[tokio::test]
async fn rate_limits_are_off_by_default() {
    let suite = suite(|_| {}).await;
    let token = suite.token(&[Role::SocialOrgOfficer], "330723");
    for _ in 0..50 {
        let answer = suite.raw_call(GET, Vec::new(), &token).await;
        assert!(
            answer
                .as_ref()
                .err()
                .is_none_or(|s| s.code() != Code::ResourceExhausted),
            "{answer:?}"
        );
    }
}

#[tokio::test]
async fn a_full_process_answers_unavailable_at_once_instead_of_queueing() {
    let suite = suite(|cfg| cfg.max_concurrent_calls = 1).await;
    let token = suite.token(&[Role::SocialOrgOfficer], "330723");

    // One call in progress: its request body never ends, so its handler never starts.
    let (hold, body) = tokio::sync::mpsc::channel::<Vec<u8>>(1);
    let mut grpc = tonic::client::Grpc::new(suite.channel.clone());
    grpc.ready().await.expect("ready");
    let stream = tokio_stream::wrappers::ReceiverStream::new(body);
    let held = tokio::spawn(async move {
        let _ = grpc
            .client_streaming(
                suite_request(stream, &token),
                http::uri::PathAndQuery::from_static(GET),
                kit::testing::RawCodec,
            )
            .await;
    });
    tokio::time::sleep(Duration::from_millis(200)).await;

    let token = suite.token(&[Role::SocialOrgOfficer], "330723");
    let started = std::time::Instant::now();
    let refused = suite
        .raw_call(GET, Vec::new(), &token)
        .await
        .expect_err("the process is full");
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "refused at once"
    );
    let details = refused.get_error_details();
    assert_eq!(
        details.error_info().map(|i| i.reason.as_str()),
        Some("OVERLOADED")
    );
    assert!(details.retry_info().is_some(), "{refused:?}");

    // The held call ends: the next one is served.
    drop(hold);
    held.await.expect("held call ends");
    let answer = suite.raw_call(GET, Vec::new(), &token).await;
    assert!(
        answer
            .as_ref()
            .err()
            .is_none_or(|s| s.code() != Code::Unavailable),
        "{answer:?}"
    );
}

fn suite_request<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut r = tonic::Request::new(message);
    r.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("ascii"),
    );
    r
}

// ---------------------------------------------------------------- reflection

async fn listed_services(channel: tonic::transport::Channel) -> Result<Vec<String>, tonic::Status> {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    let mut client = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = client
        .server_reflection_info(tokio_stream::once(request))
        .await?
        .into_inner();
    let answer = answers
        .message()
        .await?
        .ok_or_else(|| tonic::Status::internal("no answer"))?;
    match answer.message_response {
        Some(MessageResponse::ListServicesResponse(list)) => {
            Ok(list.service.into_iter().map(|s| s.name).collect())
        }
        other => Err(tonic::Status::internal(format!("{other:?}"))),
    }
}

#[tokio::test]
async fn reflection_lists_only_the_services_this_process_serves() {
    let suite = suite(|_| {}).await;
    let mut names = listed_services(suite.channel.clone())
        .await
        .expect("reflection answers");
    names.sort();
    assert!(names.contains(&SOCIALORG.to_owned()), "{names:?}");
    assert!(
        names.contains(&"grpc.health.v1.Health".to_owned()),
        "{names:?}"
    );
    for name in &names {
        assert!(
            name == SOCIALORG || name.starts_with("grpc."),
            "{name} is listed but not served: {names:?}"
        );
    }
}

#[tokio::test]
async fn reflection_can_be_switched_off() {
    let suite = suite(|cfg| cfg.reflection = false).await;
    let refused = listed_services(suite.channel.clone())
        .await
        .expect_err("no reflection");
    assert_eq!(refused.code(), Code::Unimplemented, "{refused:?}");
    assert!(
        Config::load_from(&std::collections::BTreeMap::from([(
            "CIVIL_REFLECTION".to_owned(),
            "off".to_owned()
        )]))
        .is_ok_and(|c| !c.reflection)
    );
}

// ---------------------------------------------------------------- TLS

#[tokio::test]
async fn with_tls_on_a_tls_client_connects_and_a_plaintext_one_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("certificate");
    let cert_pem = certified.cert.pem();
    let cert_file = dir.path().join("server.pem");
    let key_file = dir.path().join("server.key");
    std::fs::write(&cert_file, &cert_pem).expect("write cert");
    std::fs::write(&key_file, certified.signing_key.serialize_pem()).expect("write key");
    let suite = suite(|cfg| {
        cfg.tls_cert_file = Some(cert_file.clone());
        cfg.tls_key_file = Some(key_file.clone());
    })
    .await;
    let port = suite.addr.port();

    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(&cert_pem))
        .domain_name("localhost");
    let channel = tonic::transport::Endpoint::from_shared(format!("https://127.0.0.1:{port}"))
        .expect("uri")
        .tls_config(tls)
        .expect("tls config")
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .expect("a TLS client connects");
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    let serving = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: SOCIALORG.into(),
        })
        .await
        .expect("health over TLS")
        .into_inner();
    assert_eq!(
        serving.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );

    let mut plain = tonic_health::pb::health_client::HealthClient::new(suite.channel.clone());
    let refused = tokio::time::timeout(
        Duration::from_secs(10),
        plain.check(tonic_health::pb::HealthCheckRequest {
            service: SOCIALORG.into(),
        }),
    )
    .await
    .expect("the plaintext client is answered in time");
    assert!(
        refused.is_err(),
        "a plaintext client is refused: {refused:?}"
    );
}

#[test]
fn tls_needs_both_certificate_and_key() {
    let err = Config::load_from(&std::collections::BTreeMap::from([(
        "CIVIL_TLS_CERT_FILE".to_owned(),
        "/etc/civil/tls.pem".to_owned(),
    )]))
    .expect_err("a certificate without its key");
    assert!(err.to_string().contains("CIVIL_TLS_KEY_FILE"), "{err}");
}
