//! Peak-day booking (5月20日, 七夕, 国庆): 10,000 booking attempts for 2,000 seats in one burst,
//! through gRPC against an in-process server. Reports over-booking (counted from the rows),
//! p50 / p99 latency and attempts per second. Not run in CI:
//!
//! ```text
//! cargo bench -p marriage --bench peak_booking
//! CIVIL_TEST_PG=postgres://postgres@127.0.0.1:5432/test cargo bench -p marriage --bench peak_booking
//! ```

use std::time::{Duration, Instant};

use contracts::civil::marriage::v1::{self as pb, marriage_service_client::MarriageServiceClient};
use kit::testing::{self, Role};
use sqlx::Row;
use tonic::Code;

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

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
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

    // Several connections, as many browsers behind a gateway would open.
    let mut clients = Vec::new();
    for _ in 0..CHANNELS {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", suite.addr))?
            .connect()
            .await?;
        clients.push(MarriageServiceClient::new(channel));
    }
    let tokens: Vec<String> = (0..CITIZENS)
        .map(|i| suite.token_for(&format!("citizen-{i}"), &[Role::Citizen], REGION))
        .collect();
    let requests: Vec<_> = (0..ATTEMPTS)
        .map(|i| {
            let message = pb::BookAppointmentRequest {
                request_id: uuid::Uuid::now_v7().to_string(),
                office_id: OFFICE.into(),
                date: Some(date),
                slot: slot_name(i % SLOTS),
                purpose: pb::AppointmentPurpose::Marriage.into(),
            };
            (
                clients[i % CHANNELS].clone(),
                suite.request(message, &tokens[i % CITIZENS]),
            )
        })
        .collect();

    println!(
        "peak booking: {ATTEMPTS} attempts for {} seats in one burst",
        SLOTS * QUOTA_PER_SLOT as usize
    );
    let started = Instant::now();
    let calls = requests
        .into_iter()
        .map(|(mut client, request)| async move {
            let t = Instant::now();
            let result = client.book_appointment(request).await;
            (t.elapsed(), result.map(|_| ()).map_err(|s| s.code()))
        });
    let handles: Vec<_> = calls.map(tokio::spawn).collect();
    let mut latencies = Vec::with_capacity(ATTEMPTS);
    let (mut booked, mut full, mut other) = (0usize, 0usize, Vec::new());
    for handle in handles {
        let (elapsed, result) = handle.await?;
        latencies.push(elapsed);
        match result {
            Ok(()) => booked += 1,
            Err(Code::ResourceExhausted) => full += 1,
            Err(code) => other.push(code),
        }
    }
    let wall = started.elapsed();
    latencies.sort();

    let db = suite.db("marriage").await;
    let rows: i64 = sqlx::query("SELECT COUNT(*) FROM appointments WHERE state = 'booked'")
        .fetch_one(&db.pool)
        .await?
        .get(0);
    let over: i64 = sqlx::query("SELECT COUNT(*) FROM slots WHERE booked > quota")
        .fetch_one(&db.pool)
        .await?
        .get(0);
    let seats = (SLOTS as i64) * i64::from(QUOTA_PER_SLOT);
    let per_slot_max: i64 = sqlx::query(
        "SELECT COALESCE(MAX(n), 0) FROM (SELECT COUNT(*) AS n FROM appointments WHERE state = 'booked'
         GROUP BY office_id, slot_date, slot) AS per_slot",
    )
    .fetch_one(&db.pool)
    .await?
    .get(0);

    println!(
        "  store:           {}",
        if std::env::var("CIVIL_TEST_PG").is_ok_and(|v| !v.is_empty()) {
            "postgresql"
        } else {
            "sqlite"
        }
    );
    println!("  booked:          {booked} (rows {rows}, seats {seats})");
    println!("  slot full:       {full}");
    println!(
        "  other errors:    {} {:?}",
        other.len(),
        other.iter().take(5).collect::<Vec<_>>()
    );
    println!(
        "  over-booking:    {} (slots over quota {over}, max rows in one slot {per_slot_max} of {QUOTA_PER_SLOT})",
        rows - seats.min(rows)
    );
    println!("  latency p50:     {:?}", percentile(&latencies, 0.50));
    println!("  latency p99:     {:?}", percentile(&latencies, 0.99));
    println!("  wall time:       {wall:?}");
    println!(
        "  attempts/s:      {:.0}",
        ATTEMPTS as f64 / wall.as_secs_f64()
    );

    anyhow::ensure!(
        over == 0 && rows <= seats && per_slot_max <= i64::from(QUOTA_PER_SLOT),
        "over-booked"
    );
    anyhow::ensure!(rows == booked as i64, "every success has exactly one row");
    suite.stop().await;
    Ok(())
}
