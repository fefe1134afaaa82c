//! A durable write RPC against pgbench replaying the SQL that RPC commits.
//!
//! Target: `AssistanceService/GrantTemporaryAssistance` (临时救助, emergency type) on PostgreSQL
//! through the full stack: auth, validation, policy bounds, sealed record, blind indexes,
//! idempotency key, outbox event and audit row in one transaction. Baseline: pgbench running
//! `grant_temporary.pgbench.sql` (the same statements) against the same schema with the same
//! number of concurrent clients, right after, in the same run. Needs `CIVIL_TEST_PG`.
//! Run: `CIVIL_TEST_PG=postgres://postgres@127.0.0.1:5432/test cargo bench -p e2e --bench durable_write`

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use auth::Role;
use contracts::civil::assistance::v1::assistance_service_client::AssistanceServiceClient;
use contracts::civil::assistance::v1::{
    AreaKind, GrantTemporaryAssistanceRequest, Household, Member, Relationship,
};
use contracts::civil::common::v1::PersonRef;
use tonic::transport::Endpoint;

const CONNECTIONS: usize = 4;
const IN_FLIGHT: usize = 4;

fn household(n: u64) -> Household {
    Household {
        region: "330723001".into(),
        area: AreaKind::Rural as i32,
        members: vec![
            Member {
                person: Some(PersonRef {
                    id_number: "11010519491231002X".into(),
                    name: format!("甲{n}"),
                }),
                relationship: Relationship::Applicant as i32,
                ..Default::default()
            },
            Member {
                person: Some(PersonRef {
                    id_number: "110105195001010012".into(),
                    name: format!("乙{n}"),
                }),
                relationship: Relationship::Spouse as i32,
                ..Default::default()
            },
        ],
    }
}

#[tokio::main]
async fn main() {
    let Ok(pg) = std::env::var("CIVIL_TEST_PG") else {
        eprintln!(
            "durable_write: set CIVIL_TEST_PG=postgres://postgres@127.0.0.1:5432/test (pgbench baseline needs PostgreSQL)"
        );
        return;
    };
    let secs: u64 = std::env::args()
        .filter(|a| !a.starts_with("--"))
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let suite = kit::testing::spawn_with(&[assistance::SERVICE], |c| {
        c.db_max_connections = (CONNECTIONS * IN_FLIGHT) as u32
    })
    .await;
    let token = suite.token(&[Role::TownshipClerk], "330723");
    let mut channels = Vec::new();
    for _ in 0..CONNECTIONS {
        channels.push(
            Endpoint::from_shared(format!("http://{}", suite.addr))
                .expect("uri")
                .tcp_nodelay(true)
                .connect()
                .await
                .expect("connect"),
        );
    }
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let seq = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    let start = Instant::now();
    for ch in &channels {
        for _ in 0..IN_FLIGHT {
            let (ch, token, done, failed, stop, seq) = (
                ch.clone(),
                token.clone(),
                done.clone(),
                failed.clone(),
                stop.clone(),
                seq.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let mut client = AssistanceServiceClient::new(ch);
                while !stop.load(Ordering::Relaxed) {
                    let n = seq.fetch_add(1, Ordering::Relaxed);
                    let msg = GrantTemporaryAssistanceRequest {
                        request_id: format!("bench-{n}"),
                        emergency: true,
                        household: Some(household(n)),
                        amount_fen: 50_000,
                        circumstances: "house fire".into(),
                        out_of_pocket_fen: 0,
                    };
                    let mut req = tonic::Request::new(msg);
                    req.metadata_mut().insert(
                        "authorization",
                        format!("Bearer {token}").parse().expect("ascii"),
                    );
                    match client.grant_temporary_assistance(req).await {
                        Ok(_) => done.fetch_add(1, Ordering::Relaxed),
                        Err(e) => {
                            if failed.fetch_add(1, Ordering::Relaxed) == 0 {
                                eprintln!("first failure: {e}");
                            }
                            0
                        }
                    };
                }
            }));
        }
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let rpc_rate = done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64();
    assert_eq!(failed.load(Ordering::Relaxed), 0, "RPCs failed");

    // pgbench against the same schema, same concurrency.
    let schema = format!("{}assistance", suite.config.db_schema_prefix);
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/grant_temporary.pgbench.sql"
    );
    let clients = (CONNECTIONS * IN_FLIGHT).to_string();
    let out = std::process::Command::new("pgbench")
        .args([
            "-n",
            "-M",
            "prepared",
            "-f",
            script,
            "-c",
            &clients,
            "-j",
            "2",
            "-T",
            &secs.to_string(),
            &pg,
        ])
        .env("PGOPTIONS", format!("-c search_path={schema}"))
        .output()
        .expect("pgbench runs (Debian package postgresql-contrib / postgresql-client)");
    let text = String::from_utf8_lossy(&out.stdout);
    let tps: f64 = text
        .lines()
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
        });
    println!(
        "durable write RPC vs pgbench replay of its SQL ({clients} concurrent, {secs}s each, PostgreSQL)"
    );
    println!("GrantTemporaryAssistance: {rpc_rate:>8.0} req/s");
    println!("pgbench replay:           {tps:>8.0} tps");
    println!("ratio:                    {:>8.1}%", rpc_rate / tps * 100.0);
}
