//! Cached read RPC throughput against a no-op tonic server, under the same client.
//!
//! Baseline: a bare tonic server answering `grpc.health.v1.Health/Check` (no layers, no
//! work). Target: `AssistanceService/GetRecipientStatus` on the full stack (gRPC-Web, trace
//! span, metrics, JWT auth, permission check, cache hit, read audit row). Both run in this
//! process on loopback, one after the other, with the same connections and concurrency, so
//! the shared 2-core machine's load affects both alike. Run:
//! `cargo bench -p e2e --bench rpc` (optional args: seconds per round, in-flight per connection).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use auth::Role;
use contracts::civil::assistance::v1::GetRecipientStatusRequest;
use contracts::civil::assistance::v1::assistance_service_client::AssistanceServiceClient;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

const CONNECTIONS: usize = 4;

async fn channels(addr: std::net::SocketAddr) -> Vec<Channel> {
    let mut out = Vec::new();
    for _ in 0..CONNECTIONS {
        out.push(
            Endpoint::from_shared(format!("http://{addr}"))
                .expect("uri")
                .tcp_nodelay(true)
                .connect()
                .await
                .expect("connect"),
        );
    }
    out
}

/// Runs `call` from CONNECTIONS x in_flight loops for `secs`; returns requests/s.
async fn drive<F, Fut>(channels: &[Channel], in_flight: usize, secs: u64, call: F) -> f64
where
    F: Fn(Channel) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for ch in channels {
        for _ in 0..in_flight {
            let (ch, call, done, failed, stop) = (
                ch.clone(),
                call.clone(),
                done.clone(),
                failed.clone(),
                stop.clone(),
            );
            tasks.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    if call(ch.clone()).await {
                        done.fetch_add(1, Ordering::Relaxed);
                    } else {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
    }
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let failures = failed.load(Ordering::Relaxed);
    assert_eq!(failures, 0, "calls failed during the run");
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().filter(|a| !a.starts_with("--")).collect();
    let secs: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(5);
    let in_flight: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(16);

    // Baseline: the no-op server.
    let (_reporter, health) = tonic_health::server::health_reporter();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let noop_addr = listener.local_addr().expect("addr");
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(health)
            .serve_with_incoming(
                tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
            ),
    );
    let noop = channels(noop_addr).await;

    // Target: the suite's cached read.
    let suite = kit::testing::spawn(&[assistance::SERVICE]).await;
    let token = suite.token(&[Role::FuneralHome], "330723");
    let full = channels(suite.addr).await;
    let read = {
        let token = token.clone();
        move |ch: Channel| {
            let token = token.clone();
            async move {
                let mut req = tonic::Request::new(GetRecipientStatusRequest {
                    id_number: "11010519491231002X".into(),
                    purpose: "benchmark".into(),
                });
                req.metadata_mut().insert(
                    "authorization",
                    format!("Bearer {token}").parse().expect("ascii"),
                );
                AssistanceServiceClient::new(ch)
                    .get_recipient_status(req)
                    .await
                    .is_ok()
            }
        }
    };
    let check = |ch: Channel| async move {
        HealthClient::new(ch)
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .is_ok()
    };

    // Warm both (connections, cache, JIT-free but allocator and page cache).
    drive(&noop, in_flight, 1, check).await;
    drive(&full, in_flight, 1, read.clone()).await;
    let mut rows = Vec::new();
    for round in 1..=2 {
        let base = drive(&noop, in_flight, secs, check).await;
        let ours = drive(&full, in_flight, secs, read.clone()).await;
        rows.push((round, base, ours));
    }
    println!(
        "cached read RPC vs no-op tonic server ({CONNECTIONS} connections x {in_flight} in flight, {secs}s rounds)"
    );
    println!("round  no-op req/s  GetRecipientStatus req/s  ratio");
    for (round, base, ours) in &rows {
        println!(
            "{round:>5}  {base:>11.0}  {ours:>24.0}  {:>5.1}%",
            ours / base * 100.0
        );
    }
}
