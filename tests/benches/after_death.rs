//! Completed after-death cases per second, and case latency, on the whole suite (every service
//! real, the outside systems instant doubles), on SQLite and, when `CIVIL_TEST_PG` is set, on
//! PostgreSQL.
//!
//! Each scenario: the funeral home registers the death (its event starts the case) and cremates
//! (the certificate household deregistration waits for), then the family applies and joins the
//! case, which runs the fee waiver (which asks assistance), assistance, eldercare, marriage,
//! socialorg and the three outside systems, each step a durable executor claim, an RPC and a
//! recorded result.
//!
//! Two measurements per backend:
//! - unloaded: cases one after another; latency from the case's creation to its completion;
//! - burst: N applications submitted at once (16 in flight); throughput from the first creation
//!   to the last completion, and each case's latency (queueing included).
//!
//! Latencies are read from the aggregator's store (`cases.created_at_ms` and the
//! `case_completed` update), so they use the store's clock and cost the run nothing.
//! On PostgreSQL the burst is compared with pgbench replaying one case's commit sequence
//! (`after_death_pgbench.sql`, captured by `capture_case_sql.sh`; one script run = one case) on
//! the schemas the suite just used, with as many clients as applications in flight.
//!
//! Run: `cargo bench -p e2e --bench after_death` (optional args: burst cases, unloaded cases,
//! pgbench seconds). `AFTER_DEATH_ONLY_PG=1` skips SQLite; `AFTER_DEATH_CAPTURE=1` runs one
//! marked case on PostgreSQL for the capture script.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use auth::Role;
use common::*;
use futures::StreamExt;
use kit::testing::TestSuite;

/// Applications in flight during the burst (and pgbench clients of the replay).
const IN_FLIGHT: u32 = 16;

async fn scalar(db: &kit::store::Db, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(&db.pool)
        .await
        .expect("query")
}

/// Latencies (ms) of completed cases, and (first creation, last completion).
async fn latencies(db: &kit::store::Db) -> (Vec<i64>, i64, i64) {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT c.created_at_ms, e.at_ms FROM cases c
         JOIN case_events e ON e.case_id = c.id AND e.kind = 'case_completed'",
    )
    .fetch_all(&db.pool)
    .await
    .expect("latencies");
    let first = rows.iter().map(|r| r.0).min().unwrap_or(0);
    let last = rows.iter().map(|r| r.1).max().unwrap_or(0);
    let mut ms: Vec<i64> = rows.iter().map(|(c, d)| d - c).collect();
    ms.sort_unstable();
    (ms, first, last)
}

fn pct(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The funeral home registers the death and cremates (the cremation certificate household
/// deregistration waits for), then the family applies and joins the case.
async fn apply(suite: &TestSuite, n: u32) -> String {
    let family = suite.token_for(&format!("family-{n}"), &[Role::Citizen], COUNTY);
    let people = People::new(n);
    register_death(suite, &Staff::of(suite), &people).await;
    onematter(suite)
        .start_case(suite.request(people.start_case(&format!("apply-{n}")), &family))
        .await
        .expect("application")
        .into_inner()
        .name
}

async fn wait_completed(db: &kit::store::Db, n: i64, poll: Duration, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        if scalar(db, "SELECT COUNT(*) FROM cases WHERE state = 'completed'").await >= n {
            return;
        }
        let other = scalar(
            db,
            "SELECT COUNT(*) FROM cases WHERE state NOT IN ('running', 'completed')",
        )
        .await;
        assert_eq!(other, 0, "a case did not complete");
        assert!(
            Instant::now() < deadline,
            "cases did not complete in {limit:?}"
        );
        tokio::time::sleep(poll).await;
    }
}

/// Runs the measurements on one backend; returns the burst's completed cases/s and the suite's
/// schema prefix (PostgreSQL: the schemas stay for the pgbench replay).
async fn run(label: &str, pg: bool, burst: u32, unloaded: u32) -> (f64, String) {
    let outside = Outside::start().await;
    let suite = spawn_suite(&outside, |c| {
        if !pg {
            c.database_url = None;
        }
        c.db_max_connections = 8;
    })
    .await;
    let db = suite.db("onematter").await;

    // Unloaded: one case at a time.
    for n in 0..unloaded {
        apply(&suite, n).await;
        wait_completed(
            &db,
            i64::from(n) + 1,
            Duration::from_millis(2),
            Duration::from_secs(60),
        )
        .await;
    }
    let (single, _, _) = latencies(&db).await;

    // Burst: everything at once.
    let started = Instant::now();
    let names: Vec<String> = futures::stream::iter(unloaded..unloaded + burst)
        .map(|n| {
            let suite = &suite;
            async move { apply(suite, n).await }
        })
        .buffer_unordered(IN_FLIGHT as usize)
        .collect()
        .await;
    let submitted = started.elapsed();
    let total = i64::from(unloaded + burst);
    wait_completed(
        &db,
        total,
        Duration::from_millis(20),
        Duration::from_secs(600),
    )
    .await;
    let wall = started.elapsed();
    let (all, _, _) = latencies(&db).await;
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT c.created_at_ms, e.at_ms FROM cases c
         JOIN case_events e ON e.case_id = c.id AND e.kind = 'case_completed'
         ORDER BY c.created_at_ms",
    )
    .fetch_all(&db.pool)
    .await
    .expect("rows");
    let burst_rows = &rows[unloaded as usize..];
    let first = burst_rows.iter().map(|r| r.0).min().unwrap_or(0);
    let last = burst_rows.iter().map(|r| r.1).max().unwrap_or(0);
    let mut burst_ms: Vec<i64> = burst_rows.iter().map(|(c, d)| d - c).collect();
    burst_ms.sort_unstable();
    assert_eq!(names.len() as u32, burst);
    assert_eq!(all.len() as i64, total);
    for method in OUTSIDE_AFTER_DEATH {
        assert_eq!(
            outside.calls(method) as i64,
            total,
            "{method} once per case"
        );
    }
    let span_s = (last - first) as f64 / 1000.0;
    println!("{label}:");
    println!(
        "  unloaded ({unloaded} cases, one at a time): latency p50 {} ms, p99 {} ms, max {} ms",
        pct(&single, 0.5),
        pct(&single, 0.99),
        single.last().copied().unwrap_or(0)
    );
    println!(
        "  burst ({burst} cases, submitted in {:.1} s): {:.1} completed cases/s ({:.1} s first creation to last completion, {:.1} s wall), latency p50 {} ms, p99 {} ms",
        submitted.as_secs_f64(),
        f64::from(burst) / span_s,
        span_s,
        wall.as_secs_f64(),
        pct(&burst_ms, 0.5),
        pct(&burst_ms, 0.99),
    );
    let prefix = suite.config.db_schema_prefix.clone();
    db.pool.close().await;
    suite.stop().await;
    (f64::from(burst) / span_s, prefix)
}

/// One case on PostgreSQL with markers around it, for `capture_case_sql.sh` (which turns
/// `log_statement = 'all'` on around this run and reads the server log between the markers).
async fn capture() {
    let outside = Outside::start().await;
    let suite = spawn_suite(&outside, |c| c.db_max_connections = 8).await;
    let db = suite.db("onematter").await;
    // Warm-up: every service's lazily prepared statements and pools.
    apply(&suite, 0).await;
    wait_completed(&db, 1, Duration::from_millis(2), Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    scalar(&db, "SELECT 1 AS after_death_capture_begin").await;
    apply(&suite, 1).await;
    wait_completed(&db, 2, Duration::from_millis(2), Duration::from_secs(60)).await;
    // Trailing work of the case (outbox relays, audit writers) lands before the end marker.
    tokio::time::sleep(Duration::from_secs(1)).await;
    scalar(&db, "SELECT 1 AS after_death_capture_end").await;
    println!("schema prefix: {}", suite.config.db_schema_prefix);
    db.pool.close().await;
    suite.stop().await;
}

/// pgbench replaying one case's commit sequence (`after_death_pgbench.sql`, one script run =
/// one case) against the schemas of the suite that just ran, `clients` concurrent.
fn pgbench_replay(url: &str, prefix: &str, clients: u32, secs: u64) -> f64 {
    let script = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/after_death_pgbench.sql"
    ))
    .expect("after_death_pgbench.sql");
    let dir = tempfile_dir();
    let path = dir.join("after_death_pgbench.sql");
    std::fs::write(&path, script.replace("{{p}}", prefix)).expect("write script");
    let out = std::process::Command::new("pgbench")
        .args([
            "-n",
            "-M",
            "prepared",
            "-c",
            &clients.to_string(),
            "-j",
            "2",
            "-T",
            &secs.to_string(),
            "-f",
        ])
        .arg(&path)
        .arg(url)
        .output()
        .expect("pgbench runs (Debian package postgresql-contrib / postgresql-client)");
    let _ = std::fs::remove_dir_all(&dir);
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| {
            l.trim_start_matches("tps = ")
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| {
            panic!(
                "no tps in pgbench output: {text}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("after-death-pgbench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let pg = std::env::var("CIVIL_TEST_PG").unwrap_or_default();
    if std::env::var("AFTER_DEATH_CAPTURE").is_ok_and(|v| v == "1") {
        assert!(!pg.is_empty(), "capture needs CIVIL_TEST_PG");
        capture().await;
        return;
    }
    let burst: u32 = args.first().and_then(|s| s.parse().ok()).unwrap_or(200);
    let unloaded: u32 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(20);
    let replay_secs: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(20);
    assert!(burst + unloaded < 450, "people run out");
    println!("after-death cases on the whole suite (outside systems instant doubles)");
    if std::env::var("AFTER_DEATH_ONLY_PG").is_err() {
        run("SQLite", false, burst, unloaded).await;
    }
    if pg.is_empty() {
        println!("PostgreSQL: skipped (set CIVIL_TEST_PG)");
        return;
    }
    let (rate, prefix) = run("PostgreSQL", true, burst, unloaded).await;
    let replay = pgbench_replay(&pg, &prefix, IN_FLIGHT, replay_secs);
    println!(
        "after-death cases/s vs pgbench replay cases/s (= tps of one-case-per-transaction-script, after_death_pgbench.sql, {IN_FLIGHT} clients, {replay_secs} s):"
    );
    println!("  after-death (burst): {rate:>8.1} cases/s");
    println!("  pgbench replay:      {replay:>8.1} cases/s");
    println!("  ratio:               {:>8.1}%", rate / replay * 100.0);
}
