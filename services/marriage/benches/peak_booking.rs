//! Peak-day booking (5月20日, 七夕, 国庆): 10,000 booking attempts for 2,000 seats (20 slots x
//! 100) in one burst, through gRPC against an in-process server, on SQLite or on PostgreSQL
//! (when `CIVIL_TEST_PG` is set). Not run in CI:
//!
//! ```text
//! RUST_LOG=error cargo bench -p marriage --bench peak_booking
//! RUST_LOG=error CIVIL_TEST_PG=postgres://postgres@127.0.0.1:5432/test cargo bench -p marriage --bench peak_booking
//! ```
//!
//! How it measures:
//! - Every request (token, message) is built before the clock starts. The burst is all
//!   requests issued at once, spread over [`CHANNELS`] client connections (HTTP/2, as many
//!   browsers behind a gateway would open); each request's latency runs from the moment its
//!   call is issued to its response, so it includes waiting in the client, the transport and
//!   the server.
//! - Baseline, in the same run and over the same connections: the same number of calls to
//!   `grpc.health.v1.Health/Check`, a trivial RPC (no token, no handler work, no database). Its
//!   latencies show how much of a burst's latency is client and transport queueing that no
//!   handler can remove; the booking numbers should be read against it.
//! - Second baseline: the same number of `GetMarriage` calls with a malformed certificate
//!   number, refused with INVALID_ARGUMENT and field details right after authentication: a
//!   call with the booking's token, headers and error details but no store and no desk.
//! - Over-booking is counted from the rows: exactly 2,000 booked appointments, no slot with more
//!   rows or a larger `booked` than its quota. The bench fails otherwise.
//!
//! Client and server share the process (and the machine's cores), as in the tests.

use std::time::{Duration, Instant};

use contracts::civil::marriage::v1::{self as pb, marriage_service_client::MarriageServiceClient};
use kit::testing::{self, Role};
use sqlx::Row;
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

const ATTEMPTS: usize = 10_000;
const SLOTS: usize = 20;
const QUOTA_PER_SLOT: i32 = 100; // 20 x 100 = 2,000 seats
const CHANNELS: usize = 8;
const CITIZENS: usize = 200;
const REGION: &str = "330723";
const OFFICE: &str = "peak-office";

fn slot_name(i: usize) -> String {
    let start = 8 * 60 + i * 15;
    let end = start + 15;
    format!(
        "{:02}:{:02}-{:02}:{:02}",
        start / 60,
        start % 60,
        end / 60,
        end % 60
    )
}

/// Latency percentiles of one burst.
struct Summary {
    sorted: Vec<Duration>,
}

impl Summary {
    fn new(mut latencies: Vec<Duration>) -> Self {
        latencies.sort();
        Self { sorted: latencies }
    }

    fn at(&self, p: f64) -> Duration {
        if self.sorted.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((self.sorted.len() as f64) * p).ceil() as usize;
        self.sorted[rank.clamp(1, self.sorted.len()) - 1]
    }

    fn line(&self) -> String {
        format!(
            "n {:>5}  p50 {:>9.2?}  p95 {:>9.2?}  p99 {:>9.2?}  max {:>9.2?}",
            self.sorted.len(),
            self.at(0.50),
            self.at(0.95),
            self.at(0.99),
            self.sorted.last().copied().unwrap_or_default()
        )
    }
}

async fn connect(addr: std::net::SocketAddr) -> anyhow::Result<Vec<Channel>> {
    let mut channels = Vec::new();
    for _ in 0..CHANNELS {
        channels.push(
            tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?
                .connect()
                .await?,
        );
    }
    Ok(channels)
}

/// Issues every call at once and waits for all; returns each call's latency and result, and
/// the wall time of the burst.
async fn burst<T, F>(calls: Vec<F>) -> anyhow::Result<(Vec<(Duration, T)>, Duration)>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let started = Instant::now();
    let handles: Vec<_> = calls
        .into_iter()
        .map(|call| {
            tokio::spawn(async move {
                let t = Instant::now();
                let result = call.await;
                (t.elapsed(), result)
            })
        })
        .collect();
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        out.push(handle.await?);
    }
    Ok((out, started.elapsed()))
}

async fn health_burst(channels: &[Channel], n: usize) -> anyhow::Result<(Summary, Duration)> {
    let calls: Vec<_> = (0..n)
        .map(|i| {
            let mut client = HealthClient::new(channels[i % CHANNELS].clone());
            async move {
                client
                    .check(HealthCheckRequest {
                        service: "civil.marriage.v1.MarriageService".into(),
                    })
                    .await
                    .is_ok()
            }
        })
        .collect();
    let (results, wall) = burst(calls).await?;
    anyhow::ensure!(results.iter().all(|(_, ok)| *ok), "health checks failed");
    Ok((
        Summary::new(results.into_iter().map(|(d, _)| d).collect()),
        wall,
    ))
}

/// Authenticated calls refused before any work (INVALID_ARGUMENT with details).
async fn invalid_burst(
    channels: &[Channel],
    tokens: &[String],
    suite: &testing::TestSuite,
    n: usize,
) -> anyhow::Result<(Summary, Duration)> {
    let calls: Vec<_> = (0..n)
        .map(|i| {
            let mut client = MarriageServiceClient::new(channels[i % CHANNELS].clone());
            let request = suite.request(
                pb::GetMarriageRequest {
                    certificate_number: "not-a-certificate".into(),
                },
                &tokens[i % tokens.len()],
            );
            async move {
                client
                    .get_marriage(request)
                    .await
                    .err()
                    .is_some_and(|s| s.code() == Code::InvalidArgument)
            }
        })
        .collect();
    let (results, wall) = burst(calls).await?;
    anyhow::ensure!(
        results.iter().all(|(_, refused)| *refused),
        "malformed calls were not refused"
    );
    Ok((
        Summary::new(results.into_iter().map(|(d, _)| d).collect()),
        wall,
    ))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let suite = testing::spawn(&[marriage::SERVICE]).await;
    let registrar = suite.token(&[Role::Registrar], REGION);
    let mut client = MarriageServiceClient::new(suite.channel.clone());
    let date = kit::error::to_proto_date(kit::today_cst() + time::Duration::days(1));

    client
        .create_office(suite.request(
            pb::CreateOfficeRequest {
                request_id: uuid::Uuid::now_v7().to_string(),
                office_id: OFFICE.into(),
                display_name: "peak-day office".into(),
                region_code: REGION.into(),
            },
            &registrar,
        ))
        .await?;
    client
        .set_slot_quotas(
            suite.request(
                pb::SetSlotQuotasRequest {
                    request_id: uuid::Uuid::now_v7().to_string(),
                    office_id: OFFICE.into(),
                    date: Some(date),
                    slots: (0..SLOTS)
                        .map(|i| pb::TimeSlot {
                            slot: slot_name(i),
                            quota: QUOTA_PER_SLOT,
                            booked: 0,
                            free: 0,
                        })
                        .collect(),
                },
                &registrar,
            ),
        )
        .await?;

    let channels = connect(suite.addr).await?;
    let tokens: Vec<String> = (0..CITIZENS)
        .map(|i| suite.token_for(&format!("citizen-{i}"), &[Role::Citizen], REGION))
        .collect();
    // Warm the connections, the allocator and the token cache, not the slots.
    health_burst(&channels, 1_000).await?;
    invalid_burst(&channels, &tokens, &suite, 1_000).await?;
    let (baseline, baseline_wall) = health_burst(&channels, ATTEMPTS).await?;
    let (invalid, invalid_wall) = invalid_burst(&channels, &tokens, &suite, ATTEMPTS).await?;

    let calls: Vec<_> = (0..ATTEMPTS)
        .map(|i| {
            let message = pb::BookAppointmentRequest {
                request_id: uuid::Uuid::now_v7().to_string(),
                office_id: OFFICE.into(),
                date: Some(date),
                slot: slot_name(i % SLOTS),
                purpose: pb::AppointmentPurpose::Marriage.into(),
            };
            let request = suite.request(message, &tokens[i % CITIZENS]);
            let mut client = MarriageServiceClient::new(channels[i % CHANNELS].clone());
            async move {
                client
                    .book_appointment(request)
                    .await
                    .map(|_| ())
                    .map_err(|s| (s.code(), kit::error::reason_of(&s)))
            }
        })
        .collect();
    let (results, wall) = burst(calls).await?;

    let (mut ok, mut refused, mut other) = (Vec::new(), Vec::new(), Vec::new());
    for (latency, result) in &results {
        match result {
            Ok(()) => ok.push(*latency),
            Err((Code::ResourceExhausted, Some(reason))) if reason == "MARRIAGE_SLOT_FULL" => {
                refused.push(*latency)
            }
            Err(e) => other.push(e.clone()),
        }
    }
    let booked = ok.len();
    let all = Summary::new(results.iter().map(|(d, _)| *d).collect());

    let db = suite.db("marriage").await;
    let rows: i64 = sqlx::query("SELECT COUNT(*) FROM appointments WHERE state = 'booked'")
        .fetch_one(&db.pool)
        .await?
        .get(0);
    let over: i64 = sqlx::query("SELECT COUNT(*) FROM slots WHERE booked > quota")
        .fetch_one(&db.pool)
        .await?
        .get(0);
    let booked_column: i64 =
        sqlx::query("SELECT CAST(COALESCE(SUM(booked), 0) AS BIGINT) FROM slots")
            .fetch_one(&db.pool)
            .await?
            .get(0);
    let per_slot_max: i64 = sqlx::query(
        "SELECT COALESCE(MAX(n), 0) FROM (SELECT COUNT(*) AS n FROM appointments WHERE state = 'booked'
         GROUP BY office_id, slot_date, slot) AS per_slot",
    )
    .fetch_one(&db.pool)
    .await?
    .get(0);
    let seats = (SLOTS as i64) * i64::from(QUOTA_PER_SLOT);
    let store = if std::env::var("CIVIL_TEST_PG").is_ok_and(|v| !v.is_empty()) {
        "postgresql"
    } else {
        "sqlite"
    };

    println!(
        "peak booking on {store}: {ATTEMPTS} attempts for {seats} seats ({SLOTS} slots x {QUOTA_PER_SLOT}), one burst over {CHANNELS} connections"
    );
    println!("  booked (responses)   {booked}");
    println!("  booked (rows)        {rows}  (slots.booked sum {booked_column})");
    println!("  refused SLOT_FULL    {}", refused.len());
    println!(
        "  other errors         {} {:?}",
        other.len(),
        other.iter().take(5).collect::<Vec<_>>()
    );
    println!(
        "  over-booking         {}  (slots over quota {over}, most rows in one slot {per_slot_max} of {QUOTA_PER_SLOT})",
        (rows - seats).max(0)
    );
    println!("  latency, all         {}", all.line());
    println!("  latency, booked      {}", Summary::new(ok).line());
    println!("  latency, refused     {}", Summary::new(refused).line());
    println!(
        "  wall {wall:.2?}, {:.0} attempts/s",
        ATTEMPTS as f64 / wall.as_secs_f64()
    );
    println!(
        "baseline grpc.health.v1 Check, same server and connections: {}",
        baseline.line()
    );
    println!(
        "  wall {baseline_wall:.2?}, {:.0} calls/s",
        ATTEMPTS as f64 / baseline_wall.as_secs_f64()
    );
    println!(
        "baseline GetMarriage refused INVALID_ARGUMENT (token, details, no store): {}",
        invalid.line()
    );
    println!(
        "  wall {invalid_wall:.2?}, {:.0} calls/s",
        ATTEMPTS as f64 / invalid_wall.as_secs_f64()
    );

    anyhow::ensure!(
        over == 0 && per_slot_max <= i64::from(QUOTA_PER_SLOT),
        "over-booked"
    );
    anyhow::ensure!(
        rows == seats && booked_column == seats,
        "every seat is booked exactly once"
    );
    anyhow::ensure!(rows == booked as i64, "every success has exactly one row");
    anyhow::ensure!(other.is_empty(), "unexpected errors");
    suite.stop().await;
    Ok(())
}
