//! Peak-day booking, open loop (issue #21): 2,000 booking attempts per second offered for 10
//! seconds by a load generator in its own process, against the marriage service, 2,000 seats
//! (20 slots x 100) per round; the baseline, in the same run, is the same schedule of
//! `grpc.health.v1.Health/Check` calls (no token, no handler, no store). 10 rounds, each on a
//! fresh day's slots; the figures are the median and spread of the rounds' p99s.
//!
//! ```text
//! RUST_LOG=error cargo bench -p marriage --bench peak_open_loop
//! RUST_LOG=error CIVIL_TEST_PG=postgres://postgres@127.0.0.1:5432/test cargo bench -p marriage --bench peak_open_loop
//! ```
//!
//! How it measures (no coordinated omission): call `i` is due at `start + i / rate`; the load
//! generator issues it then, whatever earlier calls are doing, and its latency runs from the
//! moment it was due to its answer, so a stalled server shows as latency, never as a lower
//! offered rate. The generator reports how late it issued calls (its own lag); a round whose
//! generator fell more than 5 ms behind at p99 is reported as such. Over-booking is counted
//! from the rows after every round; the bench fails on any over-booking, on any error other
//! than MARRIAGE_SLOT_FULL, or when the booking p99 target (50 ms) is missed.

use std::io::Write as _;
use std::time::Duration;

use contracts::civil::marriage::v1::{self as pb, marriage_service_client::MarriageServiceClient};
use kit::testing::{self, Role};
use sqlx::Row;
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

const RATE: u64 = 2_000;
const SECONDS: u64 = 10;
const ROUNDS: usize = 10;
const SLOTS: usize = 20;
const QUOTA_PER_SLOT: i32 = 100;
const CHANNELS: usize = 8;
const CITIZENS: usize = 200;
const REGION: &str = "330723";
const OFFICE: &str = "peak-office";
const TARGET_P99: Duration = Duration::from_millis(50);

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

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// What the generator reports of one run: per outcome, latencies in microseconds.
#[derive(Default)]
struct Report {
    booked: Vec<u64>,
    full: Vec<u64>,
    other: Vec<String>,
    lag: Vec<u64>,
}

impl Report {
    fn parse(text: &str) -> anyhow::Result<Report> {
        let mut r = Report::default();
        for line in text.lines() {
            let (kind, value) = line.split_once(' ').unwrap_or((line, ""));
            match kind {
                "booked" => r.booked.push(value.parse()?),
                "full" => r.full.push(value.parse()?),
                "lag" => r.lag.push(value.parse()?),
                "other" => r.other.push(value.to_owned()),
                _ => {}
            }
        }
        Ok(r)
    }

    fn sorted(v: &[u64]) -> Vec<Duration> {
        let mut d: Vec<Duration> = v.iter().map(|&us| Duration::from_micros(us)).collect();
        d.sort();
        d
    }
}

// ---- the load generator (its own process) ----------------------------------------------

/// `PEAK_LOADGEN=<addr> PEAK_MODE=book|health PEAK_DATE=YYYY-MM-DD PEAK_TOKENS=<file>`: offers
/// RATE calls per second for SECONDS and prints one line per call.
fn load_generator(addr: String) -> anyhow::Result<()> {
    let mode = std::env::var("PEAK_MODE")?;
    let date: time::Date = time::Date::parse(
        &std::env::var("PEAK_DATE")?,
        time::macros::format_description!("[year]-[month]-[day]"),
    )?;
    let tokens: Vec<String> = std::fs::read_to_string(std::env::var("PEAK_TOKENS")?)?
        .lines()
        .map(str::to_owned)
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let lines = runtime.block_on(offer(addr, mode == "book", date, tokens))?;
    let mut out = std::io::stdout().lock();
    for line in lines {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

async fn offer(
    addr: String,
    book: bool,
    date: time::Date,
    tokens: Vec<String>,
) -> anyhow::Result<Vec<String>> {
    let mut channels = Vec::new();
    for _ in 0..CHANNELS {
        channels.push(
            tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?
                .connect()
                .await?,
        );
    }
    let total = (RATE * SECONDS) as usize;
    let proto_date = kit::error::to_proto_date(date);
    // Every request is built before the clock starts.
    let calls: Vec<(Channel, Option<tonic::Request<pb::BookAppointmentRequest>>)> = (0..total)
        .map(|i| {
            let channel = channels[i % CHANNELS].clone();
            let request = book.then(|| {
                let mut r = tonic::Request::new(pb::BookAppointmentRequest {
                    request_id: uuid::Uuid::now_v7().to_string(),
                    office_id: OFFICE.into(),
                    date: Some(proto_date),
                    slot: slot_name(i % SLOTS),
                    purpose: pb::AppointmentPurpose::Marriage.into(),
                });
                let bearer = format!("Bearer {}", tokens[i % tokens.len()]);
                r.metadata_mut()
                    .insert("authorization", bearer.parse().expect("ascii token"));
                r
            });
            (channel, request)
        })
        .collect();
    let start = tokio::time::Instant::now() + Duration::from_millis(200);
    let mut tasks = Vec::with_capacity(total);
    for (i, (channel, request)) in calls.into_iter().enumerate() {
        let due = start + Duration::from_nanos(i as u64 * 1_000_000_000 / RATE);
        tokio::time::sleep_until(due).await;
        let lag = due.elapsed();
        tasks.push(tokio::spawn(async move {
            let outcome = match request {
                Some(request) => match MarriageServiceClient::new(channel)
                    .book_appointment(request)
                    .await
                {
                    Ok(_) => "booked".to_owned(),
                    Err(s) if s.code() == Code::ResourceExhausted => "full".to_owned(),
                    Err(s) => format!("other {:?} {}", s.code(), s.message()),
                },
                None => match HealthClient::new(channel)
                    .check(HealthCheckRequest {
                        service: "civil.marriage.v1.MarriageService".into(),
                    })
                    .await
                {
                    Ok(_) => "booked".to_owned(),
                    Err(s) => format!("other {:?} {}", s.code(), s.message()),
                },
            };
            (due.elapsed(), lag, outcome)
        }));
    }
    let mut lines = Vec::with_capacity(total * 2);
    for task in tasks {
        let (latency, lag, outcome) = task.await?;
        lines.push(format!("lag {}", lag.as_micros()));
        if outcome.starts_with("other") {
            lines.push(outcome);
        } else {
            lines.push(format!("{outcome} {}", latency.as_micros()));
        }
    }
    Ok(lines)
}

// ---- the server side and the rounds ----------------------------------------------------

fn run_generator(
    addr: std::net::SocketAddr,
    mode: &str,
    date: time::Date,
    tokens: &std::path::Path,
) -> anyhow::Result<Report> {
    let output = std::process::Command::new(std::env::current_exe()?)
        .env("PEAK_LOADGEN", addr.to_string())
        .env("PEAK_MODE", mode)
        .env("PEAK_DATE", date.to_string())
        .env("PEAK_TOKENS", tokens)
        .stderr(std::process::Stdio::inherit())
        .output()?;
    anyhow::ensure!(
        output.status.success(),
        "the load generator failed: {}",
        output.status
    );
    Report::parse(&String::from_utf8(output.stdout)?)
}

async fn open_day(
    client: &mut MarriageServiceClient<Channel>,
    suite: &testing::TestSuite,
    registrar: &str,
    date: time::Date,
) -> anyhow::Result<()> {
    client
        .set_slot_quotas(
            suite.request(
                pb::SetSlotQuotasRequest {
                    request_id: uuid::Uuid::now_v7().to_string(),
                    office_id: OFFICE.into(),
                    date: Some(kit::error::to_proto_date(date)),
                    slots: (0..SLOTS)
                        .map(|i| pb::TimeSlot {
                            slot: slot_name(i),
                            quota: QUOTA_PER_SLOT,
                            booked: 0,
                            free: 0,
                        })
                        .collect(),
                },
                registrar,
            ),
        )
        .await?;
    Ok(())
}

/// Booked rows of a day and the slots over their quota (from the store, as a user would
/// count them).
async fn count_day(db: &kit::store::Db, date: time::Date) -> anyhow::Result<(i64, i64)> {
    let day = date.to_string();
    let rows: i64 =
        sqlx::query("SELECT COUNT(*) FROM appointments WHERE state = 'booked' AND slot_date = $1")
            .bind(&day)
            .fetch_one(&db.pool)
            .await?
            .get(0);
    let over: i64 = sqlx::query("SELECT COUNT(*) FROM slots WHERE booked > quota")
        .fetch_one(&db.pool)
        .await?
        .get(0);
    Ok((rows, over))
}

fn main() -> anyhow::Result<()> {
    if let Ok(addr) = std::env::var("PEAK_LOADGEN") {
        return load_generator(addr);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(server_side())
}

async fn server_side() -> anyhow::Result<()> {
    let suite = testing::spawn(&[marriage::SERVICE]).await;
    let registrar = suite.token(&[Role::Registrar], REGION);
    let mut client = MarriageServiceClient::new(suite.channel.clone());
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
    let tokens = tempfile::NamedTempFile::new()?;
    let list: Vec<String> = (0..CITIZENS)
        .map(|i| suite.token_for(&format!("citizen-{i}"), &[Role::Citizen], REGION))
        .collect();
    std::fs::write(tokens.path(), list.join("\n"))?;
    let db = suite.db("marriage").await;
    let store = if std::env::var("CIVIL_TEST_PG").is_ok_and(|v| !v.is_empty()) {
        "postgresql"
    } else {
        "sqlite"
    };
    println!(
        "peak booking, open loop, on {store}: {RATE} attempts/s offered for {SECONDS} s by a load generator process, {} seats per round ({SLOTS} x {QUOTA_PER_SLOT}), {CHANNELS} connections, {ROUNDS} rounds; cores: {}",
        SLOTS as i64 * i64::from(QUOTA_PER_SLOT),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "command: RUST_LOG={} cargo bench -p marriage --bench peak_open_loop",
        std::env::var("RUST_LOG").unwrap_or_default()
    );
    let (mut book_p99, mut booked_p99, mut health_p99, mut lag_p99) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut failures = Vec::new();
    for round in 0..ROUNDS {
        let date = kit::today_cst() + time::Duration::days(1 + round as i64);
        open_day(&mut client, &suite, &registrar, date).await?;
        let addr = suite.addr;
        let path = tokens.path().to_owned();
        let health =
            tokio::task::spawn_blocking(move || run_generator(addr, "health", date, &path))
                .await??;
        let path = tokens.path().to_owned();
        let book =
            tokio::task::spawn_blocking(move || run_generator(addr, "book", date, &path)).await??;
        let (rows, over) = count_day(&db, date).await?;
        let all: Vec<u64> = book.booked.iter().chain(&book.full).copied().collect();
        let (all, booked, base, lag) = (
            Report::sorted(&all),
            Report::sorted(&book.booked),
            Report::sorted(&health.booked),
            Report::sorted(&book.lag),
        );
        println!(
            "  round {round:>2}: attempts p50 {:>8.2?} p99 {:>8.2?} | booked {} p99 {:>8.2?} | full {} | other {} | rows {rows} over-quota slots {over} | no-op p99 {:>8.2?} | generator lag p99 {:>7.2?}",
            percentile(&all, 0.5),
            percentile(&all, 0.99),
            book.booked.len(),
            percentile(&booked, 0.99),
            book.full.len(),
            book.other.len() + health.other.len(),
            percentile(&base, 0.99),
            percentile(&lag, 0.99),
        );
        let seats = SLOTS as i64 * i64::from(QUOTA_PER_SLOT);
        if over != 0 || rows > seats || rows != book.booked.len() as i64 {
            failures.push(format!(
                "round {round}: over-booking or lost bookings ({rows} rows, {} answers, {over} slots over quota)",
                book.booked.len()
            ));
        }
        if !book.other.is_empty() || !health.other.is_empty() {
            failures.push(format!(
                "round {round}: unexpected errors {:?}",
                book.other
                    .iter()
                    .chain(&health.other)
                    .take(3)
                    .collect::<Vec<_>>()
            ));
        }
        book_p99.push(percentile(&all, 0.99));
        booked_p99.push(percentile(&booked, 0.99));
        health_p99.push(percentile(&base, 0.99));
        lag_p99.push(percentile(&lag, 0.99));
    }
    for v in [
        &mut book_p99,
        &mut booked_p99,
        &mut health_p99,
        &mut lag_p99,
    ] {
        v.sort();
    }
    let median = |v: &[Duration]| v[v.len() / 2];
    println!(
        "booking attempts p99: median {:.2?} (spread {:.2?}..{:.2?}), target < {TARGET_P99:?}",
        median(&book_p99),
        book_p99[0],
        book_p99[ROUNDS - 1]
    );
    println!(
        "  of which booked p99: median {:.2?} (spread {:.2?}..{:.2?})",
        median(&booked_p99),
        booked_p99[0],
        booked_p99[ROUNDS - 1]
    );
    println!(
        "baseline no-op (health check) p99, same schedule: median {:.2?} (spread {:.2?}..{:.2?})",
        median(&health_p99),
        health_p99[0],
        health_p99[ROUNDS - 1]
    );
    println!(
        "generator lag p99: median {:.2?} (a lag over 5 ms means the figures include the generator's own delay)",
        median(&lag_p99)
    );
    suite.stop().await;
    anyhow::ensure!(failures.is_empty(), "{}", failures.join("; "));
    anyhow::ensure!(
        median(&book_p99) < TARGET_P99,
        "booking p99 target missed: {:.2?}",
        median(&book_p99)
    );
    Ok(())
}
