//! A JSON call against the same gRPC call: same process, same client (one hyper HTTP/2
//! client), same address, same handler (marriage ListFreeSlots). Prints both medians and
//! their ratio; the target is JSON <= 1.5x gRPC.
//!
//! `cargo bench -p edge --bench json_vs_grpc` (EDGE_BENCH_CALLS sets the calls per kind).

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use auth::Role;
use bytes::Bytes;
use contracts::civil::marriage::v1 as pb;
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::TokioExecutor;
use prost::Message as _;

type Client = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    Full<Bytes>,
>;

async fn call(
    client: &Client,
    uri: &str,
    content_type: &str,
    token: &str,
    body: Bytes,
) -> (u16, Option<String>) {
    let request = http::Request::post(uri)
        .header("content-type", content_type)
        .header("te", "trailers")
        .header("authorization", format!("Bearer {token}"))
        .body(Full::new(body))
        .expect("request");
    let response = client.request(request).await.expect("answer");
    let status = response.status().as_u16();
    let collected = response.into_body().collect().await.expect("body");
    let grpc_status = collected
        .trailers()
        .and_then(|t| t.get("grpc-status"))
        .and_then(|v| v.to_str().ok().map(str::to_owned));
    (status, grpc_status)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn p90(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() * 9 / 10]
}

#[tokio::main]
async fn main() {
    let calls: usize = std::env::var("EDGE_BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let edge = support::Edge::start().await;
    let registrar = edge.token(Role::Registrar);
    let mut client =
        pb::marriage_service_client::MarriageServiceClient::new(edge.suite.channel.clone());
    let date = contracts::civil::common::v1::Date {
        year: 2099,
        month: 3,
        day: 2,
    };
    client
        .create_office(edge.suite.request(
            pb::CreateOfficeRequest {
                request_id: "bench-1".into(),
                office_id: "bench-office".into(),
                display_name: "bench 婚姻登记处".into(),
                region_code: support::REGION.into(),
            },
            &registrar,
        ))
        .await
        .expect("office");
    client
        .set_slot_quotas(
            edge.suite.request(
                pb::SetSlotQuotasRequest {
                    request_id: "bench-2".into(),
                    office_id: "bench-office".into(),
                    date: Some(date),
                    slots: ["09:00-09:30", "09:30-10:00", "10:00-10:30", "10:30-11:00"]
                        .into_iter()
                        .map(|s| pb::TimeSlot {
                            slot: s.into(),
                            quota: 5,
                            ..Default::default()
                        })
                        .collect(),
                },
                &registrar,
            ),
        )
        .await
        .expect("quotas");

    // No Nagle delay on the client's socket (the server sets TCP_NODELAY too): otherwise
    // delayed ACKs, not the calls, set the figures.
    let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
    connector.set_nodelay(true);
    let http: Client = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build(connector);
    let citizen = edge.token(Role::Citizen);
    let message = pb::ListFreeSlotsRequest {
        office_id: "bench-office".into(),
        date: Some(date),
    }
    .encode_to_vec();
    let mut framed = vec![0u8];
    framed.extend_from_slice(&(message.len() as u32).to_be_bytes());
    framed.extend_from_slice(&message);
    let grpc_body = Bytes::from(framed);
    let json_body = Bytes::from_static(
        br#"{"officeId": "bench-office", "date": {"year": 2099, "month": 3, "day": 2}}"#,
    );
    let grpc_uri = format!(
        "http://{}/civil.marriage.v1.MarriageService/ListFreeSlots",
        edge.addr
    );
    let json_uri = format!(
        "http://{}/v1/civil.marriage.v1.MarriageService/ListFreeSlots",
        edge.addr
    );

    let (s, g) = call(
        &http,
        &grpc_uri,
        "application/grpc",
        &citizen,
        grpc_body.clone(),
    )
    .await;
    assert_eq!((s, g.as_deref()), (200, Some("0")), "gRPC call works");
    let (s, _) = call(
        &http,
        &json_uri,
        "application/json",
        &citizen,
        json_body.clone(),
    )
    .await;
    assert_eq!(s, 200, "JSON call works");

    // Warm up, then alternate rounds so both kinds see the same machine load.
    for _ in 0..100 {
        call(
            &http,
            &grpc_uri,
            "application/grpc",
            &citizen,
            grpc_body.clone(),
        )
        .await;
        call(
            &http,
            &json_uri,
            "application/json",
            &citizen,
            json_body.clone(),
        )
        .await;
    }
    let mut grpc = Vec::with_capacity(calls);
    let mut json = Vec::with_capacity(calls);
    let round = 50;
    while grpc.len() < calls {
        for _ in 0..round {
            let t = Instant::now();
            let (_, status) = call(
                &http,
                &grpc_uri,
                "application/grpc",
                &citizen,
                grpc_body.clone(),
            )
            .await;
            grpc.push(t.elapsed());
            assert_eq!(status.as_deref(), Some("0"), "every gRPC call answers OK");
        }
        for _ in 0..round {
            let t = Instant::now();
            let (status, _) = call(
                &http,
                &json_uri,
                "application/json",
                &citizen,
                json_body.clone(),
            )
            .await;
            json.push(t.elapsed());
            assert_eq!(status, 200, "every JSON call answers OK");
        }
    }
    let (gm, jm) = (median(grpc.clone()), median(json.clone()));
    let ratio = jm.as_secs_f64() / gm.as_secs_f64();
    println!(
        "ListFreeSlots, {calls} calls each, one HTTP/2 client, {}:",
        if support::integrated() {
            "JSON layer in the suite's own stack"
        } else {
            "JSON layer in a front stack over a channel to the suite (gRPC calls take the same hop)"
        }
    );
    println!(
        "  gRPC median {:>8.1} us  p90 {:>8.1} us",
        gm.as_secs_f64() * 1e6,
        p90(grpc).as_secs_f64() * 1e6
    );
    println!(
        "  JSON median {:>8.1} us  p90 {:>8.1} us",
        jm.as_secs_f64() * 1e6,
        p90(json).as_secs_f64() * 1e6
    );
    println!("  JSON / gRPC = {ratio:.2} (target <= 1.50)");
    assert!(ratio <= 1.5, "JSON costs {ratio:.2}x gRPC");
}
