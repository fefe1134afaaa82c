//! 100,000 monitoring signals over 50,000 households pushed through the SignalIntakeService
//! gRPC API on PostgreSQL (each one found or made its household, fed the register, ran the
//! county's rules and raised or joined the household's warning), next to a baseline from the
//! same run: the rows those calls wrote (households, members, warnings, signals) copied into
//! scratch tables by COPY. Not run in CI.
//!
//! ```text
//! CIVIL_TEST_PG=postgres://postgres@127.0.0.1:5432/test cargo bench -p assistance --bench monitoring_intake
//! CIVIL_BENCH_SIGNALS=10000 CIVIL_BENCH_ROUNDS=3 ...                          # a smaller run
//! ```
//!
//! Fails at once without CIVIL_TEST_PG: the figures are PostgreSQL's. Each round runs on a fresh
//! suite (its own schema), so every round takes in the same signals into an empty store: one
//! medical-spending signal per household first (a new household, a yellow warning), then a
//! second per household (joins the open warning). 32 calls in flight. The median of the rounds
//! is printed.

use std::time::{Duration, Instant};

use contracts::civil::common::v1::PersonRef;
use contracts::civil::external::v1 as ext;
use contracts::civil::external::v1::signal_intake_service_client::SignalIntakeServiceClient;
use futures::StreamExt;
use kit::error::to_proto_date;
use sqlx::Connection;

const COUNTY: &str = "330723";
const IN_FLIGHT: usize = 32;
const TABLES: [&str; 4] = [
    "mon_households",
    "mon_members",
    "mon_warnings",
    "mon_signals",
];

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// A distinct valid identity number per household `h`.
fn person(h: usize) -> String {
    let base = time::macros::date!(1950 - 01 - 01);
    let birth = base + time::Duration::days((h % 20_000) as i64);
    let seq = 100 + h / 20_000;
    let first17 = format!(
        "{COUNTY}{:04}{:02}{:02}{seq:03}",
        birth.year(),
        u8::from(birth.month()),
        birth.day()
    );
    format!("{first17}{}", civil_id::IdNumber::check_char(&first17))
}

/// Signal `i` of `n`: household `i % households`, in one of 10 townships' villages.
fn signal(i: usize, households: usize) -> ext::PushSignalRequest {
    let h = i % households;
    ext::PushSignalRequest {
        request_id: format!("b-{i}"),
        source: ext::SignalSource::MedicalInsurance as i32,
        source_record_id: format!("MI-{i}"),
        kind: ext::SignalKind::MedicalSpending as i32,
        person: Some(PersonRef {
            id_number: person(h),
            name: "张三".into(),
        }),
        region: format!("{COUNTY}{:03}{:03}", 101 + h % 10, 1 + (h / 10) % 20),
        occurred_on: Some(to_proto_date(kit::today_cst() - time::Duration::days(2))),
        amount_fen: 1_000_000 + (i % 7) as i64 * 10_000,
        detail: String::new(),
    }
}

async fn round(url: &str, n: usize, households: usize) -> (Duration, Duration) {
    let suite = kit::testing::spawn_with(&[assistance::SERVICE], |_| {}).await;
    let token = suite.token_for_profile("bench-mi", "medical_insurance", "");
    let client = SignalIntakeServiceClient::new(suite.channel.clone());
    let start = Instant::now();
    let answers: Vec<ext::SignalReceipt> = futures::stream::iter(0..n)
        .map(|i| {
            let (mut c, token, suite) = (client.clone(), token.clone(), &suite);
            async move {
                c.push_signal(suite.request(signal(i, households), &token))
                    .await
                    .expect("signal")
                    .into_inner()
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    let intake = start.elapsed();
    let raised = answers
        .iter()
        .filter(|r| r.outcome == ext::SignalOutcome::WarningRaised as i32)
        .count();
    assert_eq!(raised, households.min(n), "one warning per household");
    (intake, baseline(url, &suite).await)
}

/// The rows the round wrote, out of the suite's schema and back into scratch tables by COPY.
async fn baseline(url: &str, suite: &kit::testing::TestSuite) -> Duration {
    let mut pg = sqlx::PgConnection::connect(url)
        .await
        .expect("baseline connection");
    let schema: String = sqlx::query_scalar(
        "SELECT table_schema FROM information_schema.tables WHERE table_name = 'mon_signals' AND table_schema LIKE $1",
    )
    .bind(format!("{}%", suite.config.db_schema_prefix))
    .fetch_one(&mut pg)
    .await
    .expect("the suite's schema");
    let mut data = Vec::new();
    for table in TABLES {
        let mut bytes = Vec::new();
        let mut out = pg
            .copy_out_raw(&format!("COPY \"{schema}\".{table} TO STDOUT"))
            .await
            .expect("copy out");
        while let Some(chunk) = out.next().await {
            bytes.extend_from_slice(&chunk.expect("chunk"));
        }
        drop(out);
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE TEMP TABLE bench_{table} (LIKE \"{schema}\".{table} INCLUDING INDEXES)"
        )))
        .execute(&mut pg)
        .await
        .expect("scratch table");
        data.push((table, bytes));
    }
    let start = Instant::now();
    for (table, bytes) in &data {
        let mut copy = pg
            .copy_in_raw(&format!("COPY bench_{table} FROM STDIN"))
            .await
            .expect("copy in");
        copy.send(bytes.as_slice()).await.expect("send");
        copy.finish().await.expect("finish");
    }
    start.elapsed()
}

fn main() {
    let url = match std::env::var("CIVIL_TEST_PG") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "monitoring_intake measures PostgreSQL: set CIVIL_TEST_PG=postgres://postgres@127.0.0.1:5432/test"
        ),
    };
    let setting = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
            .max(1)
    };
    let n = setting("CIVIL_BENCH_SIGNALS", 100_000);
    let households = (n / 2).max(1);
    let rounds = setting("CIVIL_BENCH_ROUNDS", 10);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (mut intake, mut copy) = (Vec::new(), Vec::new());
    for r in 0..rounds {
        let (i, c) = runtime.block_on(round(&url, n, households));
        println!(
            "round {r}: {n} signals over {households} households in {i:.2?} ({:.0} signals/s); baseline COPY of the same rows {c:.2?}",
            n as f64 / i.as_secs_f64()
        );
        intake.push(i);
        copy.push(c);
    }
    let (i, c) = (median(intake), median(copy));
    println!("median of {rounds} rounds, {n} signals over {households} households:");
    println!(
        "  PushSignal, {IN_FLIGHT} in flight        {i:>10.2?}  ({:.0} signals/s)",
        n as f64 / i.as_secs_f64()
    );
    println!(
        "  baseline: COPY of the same rows   {c:>10.2?}  ({:.0} signals/s)",
        n as f64 / c.as_secs_f64()
    );
}
