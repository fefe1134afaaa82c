//! Cached read RPC throughput against a no-op tonic server, under the same client.
//!
//! Baseline: a bare tonic server answering `grpc.health.v1.Health/Check` (no layers, no
//! work). Target: `AssistanceService/GetRecipientStatus` on the full stack (gRPC-Web, trace
//! span, metrics, JWT auth, permission check, cache, durable read audit: every answer waits for
//! its audit row's group commit). The load is a county's: 1,000 callers (distinct tokens),
//! 10,000 people (distinct identity numbers, read once before the rounds so their statuses are
//! cached), and one read in ten about somebody not read before (a cache miss that reads the
//! store), so about 90% of reads hit the cache. Both servers run in this process on loopback,
//! alternating within each round with the same connections and concurrency, so the shared
//! machine's load affects both alike. At least 10 rounds; the median and the spread (min-max)
//! of the ratio are reported. Any failed call fails the run; with `CIVIL_TEST_PG` /
//! `CIVIL_TEST_REDIS` set the suite runs on them and a missing backend fails at start. Run:
//! `cargo bench -p e2e --bench rpc` (optional args: seconds per round, in-flight per connection,
//! rounds).

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

const CALLERS: usize = 1_000;
const PEOPLE: u64 = 10_000;
/// One read in `MISS_EVERY` is about a person not read before.
const MISS_EVERY: u64 = 10;

/// A valid identity number (GB 11643 check character), the `n`th of a county's people.
fn person(n: u64) -> String {
    // Born 1940-01-01 plus n days' worth of sequence numbers: region, date, 3-digit sequence.
    let day = 1 + n / 999 % 28;
    let month = 1 + n / (999 * 28) % 12;
    let year = 1930 + n / (999 * 28 * 12);
    let first17 = format!("330723{year:04}{month:02}{day:02}{:03}", 1 + n % 999);
    let check = civil_id::IdNumber::check_char(&first17);
    format!("{first17}{check}")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().filter(|a| !a.starts_with("--")).collect();
    let secs: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(3);
    let in_flight: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(16);
    let rounds: usize = args
        .get(3)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10)
        .max(10);
    let backend = match (
        std::env::var("CIVIL_TEST_PG")
            .unwrap_or_default()
            .is_empty(),
        std::env::var("CIVIL_TEST_REDIS")
            .unwrap_or_default()
            .is_empty(),
    ) {
        (true, true) => "SQLite, in-process cache",
        (false, true) => "PostgreSQL, in-process cache",
        (true, false) => "SQLite, Redis cache",
        (false, false) => "PostgreSQL, Redis cache",
    };

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

    // Target: the suite's read, on the backend the environment names (spawn panics when it
    // cannot reach it).
    let suite = kit::testing::spawn(&[assistance::SERVICE]).await;
    let tokens: Arc<Vec<String>> = Arc::new(
        (0..CALLERS)
            .map(|i| suite.token_for(&format!("funeral-home-{i}"), &[Role::FuneralHome], "330723"))
            .collect(),
    );
    let people: Arc<Vec<String>> = Arc::new((0..PEOPLE).map(person).collect());
    let counter = Arc::new(AtomicU64::new(0));
    let misses = Arc::new(AtomicU64::new(0));
    let full = channels(suite.addr).await;
    let read = {
        let (tokens, people, counter, misses) = (
            tokens.clone(),
            people.clone(),
            counter.clone(),
            misses.clone(),
        );
        move |ch: Channel| {
            let i = counter.fetch_add(1, Ordering::Relaxed);
            let token = tokens[(i % CALLERS as u64) as usize].clone();
            // Somebody not read before (past the 10,000), or one of the cached people.
            let id_number = if i % MISS_EVERY == MISS_EVERY - 1 {
                let m = misses.fetch_add(1, Ordering::Relaxed);
                person(PEOPLE + m)
            } else {
                people[(i.wrapping_mul(7919) % PEOPLE) as usize].clone()
            };
            async move {
                let mut req = tonic::Request::new(GetRecipientStatusRequest {
                    id_number,
                    purpose: "benchmark".into(),
                });
                req.metadata_mut().insert(
                    "authorization",
                    format!("Bearer {token}").parse().expect("ascii"),
                );
                match AssistanceServiceClient::new(ch)
                    .get_recipient_status(req)
                    .await
                {
                    Ok(_) => true,
                    Err(e) => panic!("GetRecipientStatus failed: {e}"),
                }
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

    // Warm: every person read once (their statuses cached), connections, allocator.
    let mut warm = AssistanceServiceClient::new(full[0].clone());
    for (i, id_number) in people.iter().enumerate() {
        let mut req = tonic::Request::new(GetRecipientStatusRequest {
            id_number: id_number.clone(),
            purpose: "warm".into(),
        });
        let token = &tokens[i % CALLERS];
        req.metadata_mut().insert(
            "authorization",
            format!("Bearer {token}").parse().expect("ascii"),
        );
        warm.get_recipient_status(req).await.expect("warm read");
    }
    drive(&noop, in_flight, 1, check).await;
    drive(&full, in_flight, 1, read.clone()).await;
    let mut rows = Vec::new();
    for round in 1..=rounds {
        // Alternate which goes first, so a drift in the machine's load favours neither.
        let (base, ours) = if round % 2 == 1 {
            let b = drive(&noop, in_flight, secs, check).await;
            (b, drive(&full, in_flight, secs, read.clone()).await)
        } else {
            let o = drive(&full, in_flight, secs, read.clone()).await;
            (drive(&noop, in_flight, secs, check).await, o)
        };
        rows.push((round, base, ours));
    }
    let reads = counter.load(Ordering::Relaxed);
    let missed = misses.load(Ordering::Relaxed);
    println!(
        "cached read RPC vs no-op tonic server ({backend}; {CONNECTIONS} connections x {in_flight} in flight, {secs}s x {rounds} rounds)"
    );
    println!(
        "{CALLERS} callers, {PEOPLE} people, {reads} reads of which {missed} about a person not read before ({:.1}% cache hits), durable read audit on",
        100.0 * (reads - missed) as f64 / reads as f64
    );
    println!("round  no-op req/s  GetRecipientStatus req/s  ratio");
    for (round, base, ours) in &rows {
        println!(
            "{round:>5}  {base:>11.0}  {ours:>24.0}  {:>5.1}%",
            ours / base * 100.0
        );
    }
    let ratios: Vec<f64> = rows.iter().map(|(_, b, o)| o / b).collect();
    let lo = ratios.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = ratios.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    println!(
        "median: no-op {:.0} req/s, GetRecipientStatus {:.0} req/s, ratio {:.1}% (spread {:.1}%-{:.1}%)",
        median(rows.iter().map(|r| r.1).collect()),
        median(rows.iter().map(|r| r.2).collect()),
        median(ratios) * 100.0,
        lo * 100.0,
        hi * 100.0
    );
    // The audit rows are there: one per read answered (warm-up and rounds), none lost.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let db = suite.db("assistance").await;
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'assistance.GetRecipientStatus'",
    )
    .fetch_one(&db.pool)
    .await
    .expect("count audit rows");
    assert!(
        audited >= reads as i64,
        "{audited} audit rows for at least {reads} answered reads"
    );
}
