//! A 200,000-row census import through ImportCensusRecords, then prefix and pinyin search p50 /
//! p99 through gRPC over those records. Not run in CI.
//!
//! ```text
//! cargo bench -p placename --bench import                                  # SQLite
//! CIVIL_TEST_PG=postgres://postgres@127.0.0.1:5432/test \
//!   cargo bench -p placename --bench import                                # PostgreSQL
//! CIVIL_BENCH_ROWS=20000 cargo bench -p placename --bench import           # a smaller run
//! ```
//!
//! The file is one request (the import is all or nothing). It is larger than the default
//! `max_message_bytes` (4 MiB): the bench first shows the default limit refusing it, then runs
//! a suite whose limit is raised to 64 MiB (`CIVIL_MAX_MESSAGE_BYTES`). When the import does not
//! finish within the default request timeout (30 s; PostgreSQL), the bench shows that nothing
//! was imported and runs it again with the timeout raised (`CIVIL_REQUEST_TIMEOUT_MS`).

use std::time::{Duration, Instant};

use contracts::civil::placename::v1 as pb;
use contracts::civil::placename::v1::place_name_service_client::PlaceNameServiceClient;
use kit::testing::{Role, TestSuite};
use sqlx::Row;
use tonic::transport::Channel;

const DEFAULT_ROWS: usize = 200_000;
const QUERIES: usize = 2_000;
const RAISED_LIMIT: usize = 64 * 1024 * 1024;
/// The request timeout for the import when the default (30 s) is not enough.
const RAISED_TIMEOUT_MS: u64 = 20 * 60 * 1000;
const HEAD: &str = "name,generic_part,category,region_code,longitude_e6,latitude_e6,location,origin_meaning,status,approval_document\n";

/// Characters of the generated 专名 (common in place names, all in the standard table).
const CHARS: &str = "东南西北中上下前后新老大小长高平安和兴华民文明光红青绿金银石山水河湖江海云龙凤鹤松柏桃李梅兰竹菊春夏秋冬阳月星天宁康泰丰盛福寿德仁义礼智信忠孝永昌隆顺利通达远清秀美丽景园林田野溪湾塘坪岭岗峰泉井坊亭台楼阁门";

/// 通名 and their categories. None of these categories is in the seed (villages, townships),
/// so no generated name clashes with it.
const GENERICS: [(&str, &str); 8] = [
    ("路", "ROAD"),
    ("街", "ROAD"),
    ("巷", "ROAD"),
    ("小区", "RESIDENTIAL"),
    ("山", "NATURAL_FEATURE"),
    ("溪", "NATURAL_FEATURE"),
    ("桥", "INFRASTRUCTURE"),
    ("公园", "PARK"),
];

/// `rows` distinct names: 专名 of two characters, then three, over the character list.
fn names(rows: usize) -> Vec<(String, &'static str, &'static str)> {
    let chars: Vec<char> = {
        let mut c: Vec<char> = CHARS.chars().collect();
        c.sort();
        c.dedup();
        c
    };
    let n = chars.len();
    (0..rows)
        .map(|i| {
            let (generic, category) = GENERICS[i % GENERICS.len()];
            let mut s = i / GENERICS.len();
            let len = if s < n * n {
                2
            } else {
                s -= n * n;
                3
            };
            let mut specific = String::new();
            for _ in 0..len {
                specific.push(chars[s % n]);
                s /= n;
            }
            (format!("{specific}{generic}"), generic, category)
        })
        .collect()
}

fn census_csv(names: &[(String, &str, &str)]) -> String {
    let mut csv = String::from(HEAD);
    for (i, (name, generic, category)) in names.iter().enumerate() {
        // 20 townships of the county.
        let region = format!("330723{:03}", 1 + i % 20);
        let lon = 119_700_000 + (i % 50_000) as i64 * 5;
        let lat = 28_800_000 + (i / 50_000) as i64 * 1_000;
        csv.push_str(&format!(
            "{name},{generic},{category},{region},{lon},{lat},,地名普查,IN_USE,普查〔2024〕{}号\n",
            i % 1000
        ));
    }
    csv
}

/// A deterministic pseudo-random sequence, so runs compare.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }
}

fn queries(names: &[(String, &str, &str)]) -> (Vec<String>, Vec<String>) {
    let mut rng = Lcg(42);
    let mut prefixes = Vec::new();
    let mut pinyins = Vec::new();
    for i in 0..QUERIES {
        let name = &names[rng.next(names.len())].0;
        prefixes.push(name.chars().take(1 + i % 3).collect());
        let p = placename::domain::name::pinyin_forms(name);
        pinyins.push(if i % 2 == 0 {
            p.full.chars().take(4 + i % 5).collect()
        } else {
            p.initials.chars().take(2 + i % 2).collect()
        });
    }
    (prefixes, pinyins)
}

fn report(label: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    println!(
        "{label:<28} n={:<6} p50={:>9.3?} p99={:>9.3?} max={:>9.3?}",
        samples.len(),
        at(0.50),
        at(0.99),
        at(1.0)
    );
}

fn client(suite: &TestSuite) -> PlaceNameServiceClient<Channel> {
    PlaceNameServiceClient::new(suite.channel.clone())
}

async fn count(suite: &TestSuite) -> i64 {
    let db = suite.db("placename").await;
    sqlx::query("SELECT COUNT(*) FROM place_names")
        .fetch_one(&db.pool)
        .await
        .expect("count")
        .get(0)
}

async fn run(rows: usize) {
    let backend = match std::env::var("CIVIL_TEST_PG") {
        Ok(url) if !url.is_empty() => "PostgreSQL",
        _ => "SQLite",
    };
    let names = names(rows);
    let csv = census_csv(&names);
    println!(
        "census import benchmark: {rows} rows, {:.1} MiB of CSV, {backend}",
        csv.len() as f64 / (1024.0 * 1024.0)
    );
    let request = |request_id: &str| pb::ImportCensusRecordsRequest {
        request_id: request_id.into(),
        csv: csv.clone(),
    };

    // The default limit (4 MiB).
    if csv.len() > kit::config::Config::default().max_message_bytes {
        let suite = kit::testing::spawn(&[placename::SERVICE]).await;
        let officer = suite.token_for("pn-officer-1", &[Role::PlaceNameOfficer], "33");
        let before = count(&suite).await;
        let err = client(&suite)
            .import_census_records(suite.request(request("census-default"), &officer))
            .await
            .expect_err("over the default message limit");
        println!(
            "with the default max_message_bytes ({} bytes): {:?} \"{}\"",
            kit::config::Config::default().max_message_bytes,
            err.code(),
            err.message()
        );
        assert_eq!(count(&suite).await, before, "nothing imported");
    }

    // The raised message limit with the default request timeout, then, if the import cannot
    // finish within that timeout, a suite whose timeout is raised as well.
    let mut timeout_ms = kit::config::Config::default().request_timeout_ms;
    let (suite, imported, took) = loop {
        let suite = kit::testing::spawn_with(&[placename::SERVICE], |cfg| {
            cfg.max_message_bytes = RAISED_LIMIT;
            cfg.request_timeout_ms = timeout_ms;
        })
        .await;
        let officer = suite.token_for("pn-officer-1", &[Role::PlaceNameOfficer], "33");
        let before = count(&suite).await;
        let start = Instant::now();
        let result = client(&suite)
            .import_census_records(suite.request(request("census-1"), &officer))
            .await;
        let took = start.elapsed();
        match result {
            Ok(imported) => {
                assert_eq!(count(&suite).await - before, rows as i64);
                break (suite, imported.into_inner(), took);
            }
            Err(err) if timeout_ms < RAISED_TIMEOUT_MS => {
                println!(
                    "with max_message_bytes {RAISED_LIMIT} and the default request_timeout_ms ({timeout_ms}): {:?} \"{}\" after {took:.2?}",
                    err.code(),
                    err.message()
                );
                assert_eq!(count(&suite).await, before, "nothing half-imported");
                timeout_ms = RAISED_TIMEOUT_MS;
            }
            Err(err) => panic!("import: {err:?}"),
        }
    };
    assert!(
        imported.errors.is_empty(),
        "{:?}",
        &imported.errors[..5.min(imported.errors.len())]
    );
    assert_eq!(imported.imported as usize, rows);
    println!(
        "ImportCensusRecords (max_message_bytes {RAISED_LIMIT}, request_timeout_ms {timeout_ms}): {} rows in {took:.2?} ({:.0} rows/s)",
        imported.imported,
        rows as f64 / took.as_secs_f64()
    );

    let public = suite.token(&[Role::Citizen], "33");
    let (prefixes, pinyins) = queries(&names);
    let mut c = client(&suite);
    for (label, texts, mode) in [
        ("grpc prefix", &prefixes, pb::SearchMode::Prefix),
        ("grpc pinyin", &pinyins, pb::SearchMode::Pinyin),
    ] {
        let mut samples = Vec::with_capacity(texts.len());
        for t in texts.iter() {
            let r = pb::SearchPlaceNamesRequest {
                query: t.clone(),
                mode: mode.into(),
                page_size: 20,
                ..Default::default()
            };
            let start = Instant::now();
            let page = c
                .search_place_names(suite.request(r, &public))
                .await
                .expect("search")
                .into_inner();
            samples.push(start.elapsed());
            assert!(
                !page.place_names.is_empty(),
                "{label} {t:?} finds the name it came from"
            );
        }
        report(label, samples);
    }
}

fn main() {
    let rows = std::env::var("CIVIL_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_ROWS);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(rows));
}
