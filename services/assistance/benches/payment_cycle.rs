//! A 50,000-line payment roll generated, submitted, approved (another person), exported and
//! reconciled through the PaymentRollService gRPC API on PostgreSQL, next to a baseline from the same
//! run: the same roll's stored lines copied into a scratch table by one COPY. Not run in CI.
//!
//! ```text
//! CIVIL_TEST_PG=postgres://postgres@127.0.0.1:5432/test cargo bench -p assistance --bench payment_cycle
//! CIVIL_BENCH_LINES=5000 CIVIL_BENCH_ROUNDS=3 ...                        # a smaller run
//! ```
//!
//! Fails at once without CIVIL_TEST_PG: the figures are PostgreSQL's. Benefits and accounts are
//! seeded straight into the store (`assistance::seed`), not measured. Each round pays the next
//! month; the median of the rounds is printed per step.

use std::time::{Duration, Instant};

use assistance::domain::month::Month;
use contracts::civil::assistance::v1 as pb;
use contracts::civil::assistance::v1::payment_roll_service_client::PaymentRollServiceClient;
use futures::StreamExt;
use kit::testing::{Role, TestSuite};
use sqlx::Connection;
use tonic::transport::Channel;

const COUNTY: &str = "330723";

fn client(suite: &TestSuite) -> PaymentRollServiceClient<Channel> {
    PaymentRollServiceClient::new(suite.channel.clone())
        .max_decoding_message_size(256 * 1024 * 1024)
        .max_encoding_message_size(256 * 1024 * 1024)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn all_paid(file: &pb::BankFile) -> String {
    let rows: Vec<&str> = file.content.lines().collect();
    let body = &rows[1..rows.len() - 1];
    let mut out = format!(
        "CIVILPAYRET|1|{}|{}|{}\n",
        file.roll_id,
        body.len(),
        file.total_fen
    );
    for r in body {
        let f: Vec<&str> = r.split('|').collect();
        out.push_str(&format!("{}|{}|PAID\n", f[0], f[4]));
    }
    out.push_str(&format!("END|{}|{}|0\n", body.len(), file.total_fen));
    out
}

#[derive(Default)]
struct Times {
    generate: Vec<Duration>,
    submit: Vec<Duration>,
    approve: Vec<Duration>,
    export: Vec<Duration>,
    import: Vec<Duration>,
    total: Vec<Duration>,
    copy: Vec<Duration>,
}

async fn run(url: String, n: usize, rounds: usize) {
    // A 50,000-line roll is one request: longer than the default 30 s deadline in a debug build.
    let suite = kit::testing::spawn_with(&[assistance::SERVICE], |config| {
        config.request_timeout_ms = 600_000;
    })
    .await;
    let maker = suite.token_for("approver-1", &[Role::CountyApprover], COUNTY);
    let checker = suite.token_for("approver-2", &[Role::CountyApprover], COUNTY);
    let today = kit::today_cst();
    let start = Instant::now();
    assistance::seed::benefits_with_accounts(&suite.config, n, today)
        .await
        .expect("seed");
    println!(
        "payment cycle benchmark, PostgreSQL: seeded {n} benefits with accounts in {:.2?} (not measured)",
        start.elapsed()
    );
    let mut pg = sqlx::PgConnection::connect(&url)
        .await
        .expect("baseline connection");
    let schema: String = sqlx::query_scalar(
        "SELECT table_schema FROM information_schema.tables WHERE table_name = 'pay_lines' AND table_schema LIKE $1",
    )
    .bind(format!("{}%", suite.config.db_schema_prefix))
    .fetch_one(&mut pg)
    .await
    .expect("the suite's schema");
    let mut t = Times::default();
    let mut c = client(&suite);
    for r in 0..rounds {
        let month = Month::of(today).plus(1 + r as u32).to_string();
        let tag = format!("r{r}");
        let round = Instant::now();
        let s = Instant::now();
        let roll = c
            .generate_roll(suite.request(
                pb::GenerateRollRequest {
                    request_id: format!("gen-{tag}"),
                    month: month.clone(),
                },
                &maker,
            ))
            .await
            .expect("generate")
            .into_inner();
        t.generate.push(s.elapsed());
        assert_eq!(roll.line_count as usize, n, "every benefit on the roll");
        let s = Instant::now();
        c.submit_roll(suite.request(
            pb::SubmitRollRequest {
                request_id: format!("sub-{tag}"),
                roll_id: roll.id.clone(),
            },
            &maker,
        ))
        .await
        .expect("submit");
        t.submit.push(s.elapsed());
        let s = Instant::now();
        c.approve_roll(suite.request(
            pb::ApproveRollRequest {
                request_id: format!("app-{tag}"),
                roll_id: roll.id.clone(),
            },
            &checker,
        ))
        .await
        .expect("approve");
        t.approve.push(s.elapsed());
        let s = Instant::now();
        let file = c
            .export_bank_file(suite.request(
                pb::ExportBankFileRequest {
                    request_id: format!("exp-{tag}"),
                    roll_id: roll.id.clone(),
                },
                &maker,
            ))
            .await
            .expect("export")
            .into_inner();
        t.export.push(s.elapsed());
        let content = all_paid(&file);
        let s = Instant::now();
        let done = c
            .import_bank_return(suite.request(
                pb::ImportBankReturnRequest {
                    request_id: format!("imp-{tag}"),
                    roll_id: roll.id.clone(),
                    content,
                },
                &maker,
            ))
            .await
            .expect("import")
            .into_inner();
        t.import.push(s.elapsed());
        t.total.push(round.elapsed());
        assert_eq!(done.state, pb::RollState::Reconciled as i32);
        assert_eq!(done.reconciliation.expect("r").paid_lines as usize, n);

        // Baseline: the same stored rows, out and back in by one COPY into a scratch table.
        let mut data = Vec::new();
        let mut out = pg
            .copy_out_raw(&format!(
                "COPY (SELECT * FROM \"{schema}\".pay_lines WHERE roll_id = '{}') TO STDOUT",
                roll.id
            ))
            .await
            .expect("copy out");
        while let Some(chunk) = out.next().await {
            data.extend_from_slice(&chunk.expect("chunk"));
        }
        drop(out);
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE TEMP TABLE IF NOT EXISTS bench_lines (LIKE \"{schema}\".pay_lines)"
        )))
        .execute(&mut pg)
        .await
        .expect("scratch table");
        sqlx::query("TRUNCATE bench_lines")
            .execute(&mut pg)
            .await
            .expect("truncate");
        let s = Instant::now();
        let mut copy = pg
            .copy_in_raw("COPY bench_lines FROM STDIN")
            .await
            .expect("copy in");
        copy.send(data.as_slice()).await.expect("send");
        let rows = copy.finish().await.expect("finish");
        t.copy.push(s.elapsed());
        assert_eq!(rows as usize, n);
        println!(
            "round {r} ({month}): generate {:.2?}, submit {:.2?}, approve {:.2?}, export {:.2?}, import {:.2?}; cycle {:.2?}; baseline COPY {:.2?}",
            t.generate[r],
            t.submit[r],
            t.approve[r],
            t.export[r],
            t.import[r],
            t.total[r],
            t.copy[r]
        );
    }
    println!("median of {rounds} rounds, {n} lines:");
    for (step, v) in [
        ("GenerateRoll", t.generate),
        ("SubmitRoll", t.submit),
        ("ApproveRoll (hash)", t.approve),
        ("ExportBankFile", t.export),
        ("ImportBankReturn", t.import),
        ("whole cycle", t.total),
        ("baseline: one COPY of the same rows", t.copy),
    ] {
        let m = median(v);
        println!(
            "  {step:<38} {m:>10.2?}  ({:.0} lines/s)",
            n as f64 / m.as_secs_f64()
        );
    }
}

fn main() {
    let url = match std::env::var("CIVIL_TEST_PG") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "payment_cycle measures PostgreSQL: set CIVIL_TEST_PG=postgres://postgres@127.0.0.1:5432/test"
        ),
    };
    let n = std::env::var("CIVIL_BENCH_LINES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let rounds = std::env::var("CIVIL_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10usize)
        .max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(url, n, rounds));
}
