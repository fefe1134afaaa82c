//! What Prometheus scrapes from a running suite: RED metrics per RPC with the gRPC status code,
//! the latency histogram, and each service's outbox lag.
//!
//! Alone in its file (its own process): the metrics recorder is installed once per process.

use std::time::{Duration, Instant};

use auth::Role;
use contracts::civil::assistance::v1 as assistance;
use contracts::civil::common::v1::Date;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `GET /metrics` over plain HTTP/1.0; the body.
async fn scrape(addr: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("metrics endpoint");
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .expect("request");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("response");
    let text = String::from_utf8(raw).expect("utf-8");
    let (head, body) = text.split_once("\r\n\r\n").expect("http response");
    assert!(
        head.starts_with("HTTP/1.") && head.contains(" 200"),
        "{head}"
    );
    body.to_owned()
}

/// The value of the sample `name{…}` whose labels include all of `labels`.
fn sample(body: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    body.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .find(|(series, _)| {
            series.strip_prefix(name).is_some_and(|rest| {
                rest.starts_with('{')
                    && labels
                        .iter()
                        .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")))
            })
        })
        .and_then(|(_, value)| value.parse().ok())
}

const ASSISTANCE: &str = "civil.assistance.v1.AssistanceService";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scrape_shows_rpc_counts_by_status_code_latency_buckets_and_outbox_lag() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("free port")
        .local_addr()
        .expect("addr")
        .port();
    let addr = format!("127.0.0.1:{port}");
    kit::telemetry::serve_metrics(&addr).expect("the exporter starts");
    let suite = kit::testing::spawn(&suite::ALL).await;
    let mut client =
        assistance::assistance_service_client::AssistanceServiceClient::new(suite.channel.clone());
    let status = |token: &str| {
        suite.request(
            assistance::GetRecipientStatusRequest {
                id_number: {
                    let first17 = "33072319400101001";
                    format!("{first17}{}", civil_id::IdNumber::check_char(first17))
                },
                purpose: "metrics test".into(),
            },
            token,
        )
    };

    // One answered call, one refused for the role, one refused by the rules.
    let approver = suite.token(&[Role::CountyApprover], "330723");
    client
        .get_recipient_status(status(&approver))
        .await
        .expect("answered");
    let placename = suite.token(&[Role::PlaceNameOfficer], "330723");
    let denied = client
        .get_recipient_status(status(&placename))
        .await
        .expect_err("not for place-name officers");
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);
    let tomorrow = kit::today_cst() + time::Duration::days(1);
    let refused = client
        .terminate_for_death(suite.request(
            assistance::TerminateForDeathRequest {
                request_id: "death-in-future".into(),
                id_number: "11010519491231002X".into(),
                date_of_death: Some(Date {
                    year: tomorrow.year(),
                    month: i32::from(u8::from(tomorrow.month())),
                    day: i32::from(tomorrow.day()),
                }),
            },
            &approver,
        ))
        .await
        .expect_err("a death tomorrow");
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);

    // The outbox relays report their lag on every pass; wait for all seven.
    let deadline = Instant::now() + Duration::from_secs(10);
    let body = loop {
        let body = scrape(&addr).await;
        let lags = suite::ALL
            .iter()
            .filter(|d| sample(&body, "civil_outbox_lag_seconds", &[("service", d.name)]).is_some())
            .count();
        if lags == suite::ALL.len() {
            break body;
        }
        assert!(
            Instant::now() < deadline,
            "outbox lag of {lags} services:\n{body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    let requests = |method: &str, code: &str| {
        sample(
            &body,
            "civil_rpc_requests_total",
            &[("service", ASSISTANCE), ("method", method), ("code", code)],
        )
    };
    assert_eq!(requests("GetRecipientStatus", "0"), Some(1.0), "OK\n{body}");
    assert_eq!(
        requests("GetRecipientStatus", "7"),
        Some(1.0),
        "PERMISSION_DENIED\n{body}"
    );
    assert_eq!(
        requests("TerminateForDeath", "9"),
        Some(1.0),
        "FAILED_PRECONDITION\n{body}"
    );
    assert_eq!(requests("TerminateForDeath", "0"), None, "never succeeded");

    let read = [("service", ASSISTANCE), ("method", "GetRecipientStatus")];
    assert_eq!(
        sample(&body, "civil_rpc_duration_seconds_count", &read),
        Some(2.0),
        "both calls timed\n{body}"
    );
    let mut buckets = Vec::new();
    for le in ["0.005", "0.1", "1", "10", "+Inf"] {
        let labels = [read[0], read[1], ("le", le)];
        let n = sample(&body, "civil_rpc_duration_seconds_bucket", &labels)
            .unwrap_or_else(|| panic!("bucket le={le}\n{body}"));
        buckets.push(n);
    }
    assert!(
        buckets.windows(2).all(|w| w[0] <= w[1]),
        "cumulative: {buckets:?}"
    );
    assert_eq!(buckets.last(), Some(&2.0));
    assert!(sample(&body, "civil_rpc_duration_seconds_sum", &read).is_some_and(|s| s > 0.0));
    for def in suite::ALL {
        let lag = sample(&body, "civil_outbox_lag_seconds", &[("service", def.name)]).expect("lag");
        assert!((0.0..60.0).contains(&lag), "{}: {lag}", def.name);
    }
    assert!(body.contains("# TYPE civil_rpc_requests_total counter"));
    assert!(body.contains("# TYPE civil_rpc_duration_seconds histogram"));
    assert!(body.contains("# TYPE civil_outbox_lag_seconds gauge"));
}
