//! The pages on the suite's port: `GET /` is the app, its files are served with their types,
//! an unknown path is 404, and nothing an RPC uses is shadowed (gRPC, gRPC-Web, HTTP/JSON, the
//! OpenAPI document). The files are public: no token, no CORS origin and no rate limit is asked
//! for them, while the RPCs keep all three.

use std::time::Duration;

use auth::Role;
use bytes::Bytes;
use contracts::civil::onematter::v1 as pb;
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::TokioExecutor;
use kit::testing::TestSuite;
use prost::Message as _;

const REGION: &str = "330723";
const ALLOWED: &str = "https://portal.county.example";

struct Answer {
    status: u16,
    headers: http::HeaderMap,
    body: Bytes,
}

impl Answer {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// The suite with a rate limit of one call per second per caller and one allowed origin.
async fn suite() -> TestSuite {
    kit::testing::spawn_with(&suite::ALL, |c| {
        c.rate_limit_per_second = 1;
        c.rate_limit_burst = Some(1);
        c.cors_origins = Some(vec![ALLOWED.to_owned()]);
    })
    .await
}

async fn send(
    suite: &TestSuite,
    method: http::Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> Answer {
    let client = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let mut request = http::Request::builder()
        .method(method)
        .uri(format!("http://{}{path}", suite.addr));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let request = request.body(Full::new(body)).expect("request");
    let response = tokio::time::timeout(Duration::from_secs(20), client.request(request))
        .await
        .expect("answer within 20 s")
        .expect("HTTP answer");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    Answer {
        status,
        headers,
        body,
    }
}

async fn get(suite: &TestSuite, path: &str) -> Answer {
    send(suite, http::Method::GET, path, &[], Bytes::new()).await
}

#[tokio::test]
async fn the_root_is_the_portal_and_its_files_are_served_with_their_types() {
    let suite = suite().await;
    let page = get(&suite, "/").await;
    assert_eq!(page.status, 200, "{}", page.text());
    assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
    assert_eq!(page.header("cache-control"), "no-cache");
    assert_eq!(page.header("content-security-policy"), web::CSP);
    assert_eq!(page.header("x-content-type-options"), "nosniff");
    let html = page.text();
    assert!(html.contains("lang=\"zh-CN\""), "{html}");
    assert!(html.contains("一件事"), "{html}");
    assert!(
        html.contains("width=device-width"),
        "readable on a phone: {html}"
    );

    // Every file the page names, with its type; hashed names are cached for good.
    let named: Vec<&str> = html
        .split('"')
        .filter(|s| s.starts_with("/assets/"))
        .collect();
    assert!(named.iter().any(|p| p.ends_with(".js")), "{html}");
    assert!(named.iter().any(|p| p.ends_with(".css")), "{html}");
    for path in named {
        let file = get(&suite, path).await;
        assert_eq!(file.status, 200, "{path}");
        let want = if path.ends_with(".js") {
            "text/javascript; charset=utf-8"
        } else {
            "text/css; charset=utf-8"
        };
        assert_eq!(file.header("content-type"), want, "{path}");
        assert_eq!(
            file.header("cache-control"),
            "public, max-age=31536000, immutable"
        );
        assert!(!file.body.is_empty());
    }

    let head = send(&suite, http::Method::HEAD, "/", &[], Bytes::new()).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(head.header("content-length"), page.body.len().to_string());
    suite.stop().await;
}

#[tokio::test]
async fn an_unknown_path_is_404_and_nothing_outside_the_folder_is_reachable() {
    let suite = suite().await;
    for path in [
        "/assets/nope.js",
        "/nope.html",
        "/favicon.ico",
        "/assets/../../Cargo.toml",
        "/%2e%2e/Cargo.toml",
        "/civil.onematter.v1.OneMatterService/ListCases",
    ] {
        let a = get(&suite, path).await;
        assert_eq!(a.status, 404, "{path}: {}", a.text());
        assert_eq!(a.header("content-type"), "text/plain; charset=utf-8");
    }
    suite.stop().await;
}

#[tokio::test]
async fn the_files_ask_for_no_token_no_origin_and_no_quota() {
    let suite = suite().await;
    // One call per second per caller is the limit: the files are not calls.
    for _ in 0..20 {
        assert_eq!(get(&suite, "/").await.status, 200);
    }
    // Any origin may load the page (it holds no data); only an allowed one gets CORS headers.
    let other = send(
        &suite,
        http::Method::GET,
        "/",
        &[("origin", "https://elsewhere.example")],
        Bytes::new(),
    )
    .await;
    assert_eq!(other.status, 200);
    assert_eq!(other.header("access-control-allow-origin"), "");
    let allowed = send(
        &suite,
        http::Method::GET,
        "/",
        &[("origin", ALLOWED)],
        Bytes::new(),
    )
    .await;
    assert_eq!(allowed.status, 200);
    assert_eq!(allowed.header("access-control-allow-origin"), ALLOWED);
    // A bad token does not matter to a file.
    let bad = send(
        &suite,
        http::Method::GET,
        "/",
        &[("authorization", "Bearer not-a-token")],
        Bytes::new(),
    )
    .await;
    assert_eq!(bad.status, 200);
    suite.stop().await;
}

#[tokio::test]
async fn grpc_grpc_web_json_and_openapi_are_not_shadowed_by_the_pages() {
    let suite = suite().await;
    // gRPC.
    let mut health = tonic_health::pb::health_client::HealthClient::new(suite.channel.clone());
    let status = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "civil.onematter.v1.OneMatterService".into(),
        })
        .await
        .expect("health over gRPC")
        .into_inner();
    assert_eq!(status.status, 1, "SERVING");

    // gRPC-Web, as the page calls it: authenticated and answered by the handler.
    let citizen = suite.token(&[Role::Citizen], REGION);
    let message = pb::ListCasesRequest {
        page_size: 5,
        ..Default::default()
    }
    .encode_to_vec();
    let mut frame = vec![0u8];
    frame.extend_from_slice(&u32::try_from(message.len()).expect("small").to_be_bytes());
    frame.extend_from_slice(&message);
    let bearer = format!("Bearer {citizen}");
    let web = send(
        &suite,
        http::Method::POST,
        "/civil.onematter.v1.OneMatterService/ListCases",
        &[
            ("content-type", "application/grpc-web+proto"),
            ("x-grpc-web", "1"),
            ("authorization", &bearer),
        ],
        Bytes::from(frame.clone()),
    )
    .await;
    assert_eq!(web.status, 200);
    assert!(
        web.header("content-type")
            .starts_with("application/grpc-web"),
        "{:?}",
        web.headers
    );
    assert!(web.text().contains("grpc-status:0"), "{:?}", web.text());
    // Without a token the same call is refused by auth, not answered by a page.
    let anonymous = send(
        &suite,
        http::Method::POST,
        "/civil.onematter.v1.OneMatterService/ListCases",
        &[("content-type", "application/grpc-web+proto")],
        Bytes::from(frame),
    )
    .await;
    let refused = format!("{:?}{}", anonymous.headers, anonymous.text());
    assert!(
        refused.contains("grpc-status") && refused.contains("16"),
        "{refused}"
    );

    // HTTP/JSON.
    let other_citizen = suite.token(&[Role::Citizen], REGION);
    let json = send(
        &suite,
        http::Method::POST,
        "/v1/civil.onematter.v1.OneMatterService/ListCases",
        &[
            ("content-type", "application/json"),
            ("authorization", &format!("Bearer {other_citizen}")),
        ],
        Bytes::from_static(b"{}"),
    )
    .await;
    assert_eq!(json.status, 200, "{}", json.text());
    assert_eq!(json.header("content-type"), "application/json");

    // The OpenAPI document is still the JSON layer's.
    let doc = get(&suite, "/openapi.json").await;
    assert_eq!(doc.status, 200);
    assert_eq!(doc.header("content-type"), "application/json");
    assert!(doc.text().contains("\"openapi\""));

    // A POST to / is no page.
    let post = send(
        &suite,
        http::Method::POST,
        "/",
        &[("content-type", "application/grpc")],
        Bytes::new(),
    )
    .await;
    assert!(!post.header("content-type").starts_with("text/html"));
    suite.stop().await;
}
