//! The daily advanced-age allowance grants over 50,000 elders, through gRPC. Not run in CI.
//!
//! ```text
//! cargo bench -p eldercare --bench daily_grants                         # SQLite
//! CIVIL_TEST_PG=postgres://postgres@127.0.0.1:5432/test \
//!   cargo bench -p eldercare --bench daily_grants                       # PostgreSQL
//! CIVIL_BENCH_ELDERS=5000 cargo bench -p eldercare --bench daily_grants # a smaller run
//! ```
//!
//! Elders (valid identity numbers, birth dates spread from age 60 to 105 and around the bracket
//! birthdays, 29 February included) are imported with ImportElders in batches. RunDailyGrants
//! then runs twice for the same date (two request ids): the second run must grant nothing, and
//! the allowances in the store must be exactly the elders this bench finds eligible with its
//! own age arithmetic.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use contracts::civil::common::v1::PersonRef;
use contracts::civil::eldercare::v1 as pb;
use contracts::civil::eldercare::v1::eldercare_service_client::EldercareServiceClient;
use kit::error::to_proto_date;
use kit::testing::Role;
use sqlx::Row;
use time::Date;
use time::macros::date;

const DEFAULT_ELDERS: usize = 50_000;
const BATCH: usize = 2_000;
const COUNTY: &str = "330723";
/// The run date: 28 February of a common year, so those born on 29 February reach their age
/// today (民法典 art. 202 as the rules read it), and 1936-02-29 turns 90.
const RUN_DATE: Date = date!(2026 - 02 - 28);

/// A deterministic pseudo-random sequence, so runs compare.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// Age on `on` of someone born on `birth`, computed here independently of the service: the
/// birthday of someone born on 29 February is 28 February in a common year.
fn age(birth: Date, on: Date) -> i32 {
    let leap = |y: i32| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let (bm, bd) = match (u8::from(birth.month()), birth.day()) {
        (2, 29) if !leap(on.year()) => (2, 28),
        md => md,
    };
    let before_birthday = (u8::from(on.month()), on.day()) < (bm, bd);
    on.year() - birth.year() - i32::from(before_birthday)
}

fn bracket(age: i32) -> Option<&'static str> {
    match age {
        100.. => Some("100_plus"),
        90..=99 => Some("90_99"),
        80..=89 => Some("80_89"),
        _ => None,
    }
}

/// Birth dates: the bracket birthdays themselves (on, the day before and the day after the run
/// date, 29 February), then 60-79, 80-89, 90-99 and 100-105 year olds in proportion.
fn birth_dates(n: usize) -> Vec<Date> {
    let mut out = Vec::with_capacity(n);
    for years in [80, 90, 100] {
        for shift in [-1i64, 0, 1] {
            let on = RUN_DATE
                .replace_year(RUN_DATE.year() - years)
                .expect("date");
            out.push(on + time::Duration::days(shift));
        }
    }
    out.extend([
        date!(1936 - 02 - 29),
        date!(1944 - 02 - 29),
        date!(1948 - 02 - 29),
        date!(1926 - 02 - 27),
    ]);
    let mut rng = Lcg(2026);
    // (share of the rest in per mille, youngest age in days, oldest age in days).
    let bands = [
        (760, 60 * 365, 80 * 365 + 20),
        (160, 80 * 365 + 20, 90 * 365 + 22),
        (60, 90 * 365 + 22, 100 * 365 + 25),
        (20, 100 * 365 + 25, 106 * 365),
    ];
    let rest = n.saturating_sub(out.len());
    let mut filled = 0;
    for (i, (share, young, old)) in bands.iter().enumerate() {
        let count = if i + 1 == bands.len() {
            rest - filled
        } else {
            rest * share / 1000
        };
        filled += count;
        for _ in 0..count {
            let days = young + rng.next((old - young) as u64) as i64;
            out.push(RUN_DATE - time::Duration::days(days));
        }
    }
    out.truncate(n);
    out
}

fn records(births: &[Date]) -> Vec<pb::ElderRecord> {
    let mut seq: HashMap<Date, u32> = HashMap::new();
    births
        .iter()
        .enumerate()
        .map(|(i, birth)| {
            let s = seq.entry(*birth).or_insert(0);
            *s += 1;
            assert!(*s < 1000, "too many elders born on {birth}");
            let first17 = format!(
                "{COUNTY}{:04}{:02}{:02}{:03}",
                birth.year(),
                u8::from(birth.month()),
                birth.day(),
                *s
            );
            let id_number = format!("{first17}{}", civil_id::IdNumber::check_char(&first17));
            assert!(civil_id::IdNumber::parse(&id_number).is_ok());
            pb::ElderRecord {
                person: Some(PersonRef {
                    id_number,
                    name: "李某".into(),
                }),
                birth_date: Some(to_proto_date(*birth)),
                region: format!("{COUNTY}{:03}{:03}", 1 + i % 15, 1 + (i / 15) % 30),
                living_situations: if i % 7 == 0 {
                    vec![pb::LivingSituation::LivingAlone.into()]
                } else {
                    vec![]
                },
            }
        })
        .collect()
}

async fn run(n: usize) {
    let backend = match std::env::var("CIVIL_TEST_PG") {
        Ok(url) if !url.is_empty() => "PostgreSQL",
        _ => "SQLite",
    };
    let births = birth_dates(n);
    let mut eligible: BTreeMap<&'static str, i64> = BTreeMap::new();
    for b in &births {
        if let Some(br) = bracket(age(*b, RUN_DATE)) {
            *eligible.entry(br).or_default() += 1;
        }
    }
    let eligible_total: i64 = eligible.values().sum();
    println!(
        "daily grants benchmark: {n} elders, run date {RUN_DATE}, {backend}; eligible by this bench's count: {eligible_total} {eligible:?}"
    );

    let suite = kit::testing::spawn_with(&[eldercare::SERVICE], |cfg| {
        cfg.extra.insert("eldercare_daily_job".into(), "off".into());
    })
    .await;
    // The run date must be today or within the grant catch-up window.
    suite.clock.set_today(RUN_DATE);
    let staff = suite.token_for("staff-1", &[Role::EldercareStaff], COUNTY);
    let mut client = EldercareServiceClient::new(suite.channel.clone());

    let all = records(&births);
    let start = Instant::now();
    let mut created = 0;
    for (b, chunk) in all.chunks(BATCH).enumerate() {
        let request = pb::ImportEldersRequest {
            request_id: format!("import-{b}"),
            elders: chunk.to_vec(),
        };
        let response = client
            .import_elders(suite.request(request, &staff))
            .await
            .expect("import")
            .into_inner();
        created += response.created as usize;
    }
    let imported = start.elapsed();
    println!(
        "ImportElders: {created} elders in {} batches of {BATCH} in {imported:.2?} ({:.0} elders/s)",
        n.div_ceil(BATCH),
        created as f64 / imported.as_secs_f64()
    );
    assert_eq!(created, n, "every elder is new");

    let grants = |request_id: &'static str| {
        let request = suite.request(
            pb::RunDailyGrantsRequest {
                request_id: request_id.into(),
                date: Some(to_proto_date(RUN_DATE)),
            },
            &staff,
        );
        let mut client = client.clone();
        async move {
            let start = Instant::now();
            let response = client
                .run_daily_grants(request)
                .await
                .expect("grants")
                .into_inner();
            (response, start.elapsed())
        }
    };
    let (first, first_time): (pb::RunDailyGrantsResponse, Duration) = grants("grants-1").await;
    println!(
        "RunDailyGrants {RUN_DATE} run 1: {first_time:.2?}, granted {}, upgraded {}",
        first.granted, first.upgraded
    );
    let (second, second_time) = grants("grants-2").await;
    println!(
        "RunDailyGrants {RUN_DATE} run 2: {second_time:.2?}, granted {}, upgraded {}",
        second.granted, second.upgraded
    );
    assert_eq!(
        (second.granted, second.upgraded),
        (0, 0),
        "the second run grants nothing new"
    );
    assert_eq!(i64::from(first.granted), eligible_total);
    assert_eq!(first.upgraded, 0, "nobody held an allowance before");

    let db = suite.db("eldercare").await;
    let rows = sqlx::query(
        "SELECT bracket, COUNT(*) AS n FROM elders WHERE bracket IS NOT NULL GROUP BY bracket",
    )
    .fetch_all(&db.pool)
    .await
    .expect("count");
    let stored: BTreeMap<&'static str, i64> = rows
        .iter()
        .map(|r| {
            let b: String = r.get("bracket");
            let b = ["80_89", "90_99", "100_plus"]
                .into_iter()
                .find(|x| *x == b)
                .expect("known bracket");
            (b, r.get::<i64, _>("n"))
        })
        .collect();
    assert_eq!(stored, eligible, "allowances in the store");
    let events: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE event_type = 'civil.eldercare.v1.AllowanceGranted'",
    )
    .fetch_one(&db.pool)
    .await
    .expect("events");
    assert_eq!(events, eligible_total, "one AllowanceGranted per grant");
    println!("allowances in the store match the independent count: {stored:?}");

    // The birthday cases, one by one (the first records): bracket as this bench computes it.
    for (record, birth) in all.iter().zip(&births).take(13) {
        let id_number = record.person.as_ref().expect("person").id_number.clone();
        let elder = client
            .get_elder(suite.request(
                pb::GetElderRequest {
                    name: String::new(),
                    id_number,
                },
                &staff,
            ))
            .await
            .expect("elder")
            .into_inner();
        let shown = elder.allowance.map(|a| {
            pb::AgeBracket::try_from(a.bracket)
                .expect("bracket")
                .as_str_name()
        });
        let expected =
            bracket(age(*birth, RUN_DATE)).map(|b| format!("AGE_BRACKET_{}", b.to_uppercase()));
        assert_eq!(shown.map(str::to_owned), expected, "born {birth}");
    }
}

fn main() {
    let n = std::env::var("CIVIL_BENCH_ELDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_ELDERS);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(n));
}
