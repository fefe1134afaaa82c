//! The seed: the townships and villages of the seed counties (data/regions), entered once as
//! in-use place names so that search works out of the box, and the index build on start.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::domain::census::parse_csv;
use crate::domain::name::{Category, NameStatus, pinyin_forms, split_generic};
use crate::index::SearchIndex;
use crate::regions::{STREETS_SEED, VILLAGES_SEED};
use crate::store::{self, PlaceRow};

/// Where the villages come from: the embedded seed counties, or a file with the same columns
/// (code,name,streetCode,…), e.g. the national set for benchmarks.
#[derive(Debug, Clone)]
pub enum SeedSource {
    Embedded,
    File(PathBuf),
}

impl SeedSource {
    fn marker(&self) -> String {
        match self {
            SeedSource::Embedded => "regions-seed-counties-2023".into(),
            SeedSource::File(p) => format!("villages-file:{}", p.display()),
        }
    }
}

/// (statistical code, name) rows of a region CSV whose first two columns are code and name.
fn code_names(csv: &str) -> Vec<(String, String)> {
    parse_csv(csv)
        .into_iter()
        .skip(1)
        .filter_map(|(_, row)| match row.as_slice() {
            [code, name, ..] if !code.trim().is_empty() && !name.trim().is_empty() => {
                Some((code.trim().to_owned(), name.trim().to_owned()))
            }
            _ => None,
        })
        .collect()
}

/// Loads the seed in one transaction unless it was loaded before (a marker row claimed in the
/// same transaction makes it idempotent, also across replicas). Returns the rows loaded.
pub async fn load_once(
    db: &kit::store::Db,
    source: &SeedSource,
    now_ms: i64,
) -> anyhow::Result<usize> {
    let villages = match source {
        SeedSource::Embedded => VILLAGES_SEED.to_owned(),
        SeedSource::File(path) => std::fs::read_to_string(path)?,
    };
    let mut rows: Vec<(Category, String, String)> = Vec::new();
    for (code, name) in code_names(STREETS_SEED) {
        rows.push((Category::AdministrativeDivision, code, name));
    }
    for (code, name) in code_names(&villages) {
        rows.push((Category::VillageSeat, code, name));
    }
    let mut tx = db.begin().await?;
    if !store::claim_seed(&mut tx, &source.marker(), now_ms).await? {
        tx.rollback().await?;
        return Ok(0);
    }
    // Codes per county and category, taken from the sequence in one step per prefix.
    let mut by_prefix: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, (category, code, _)) in rows.iter().enumerate() {
        by_prefix
            .entry(format!(
                "{}{:02}",
                &code[..code.len().min(6)],
                category.number()
            ))
            .or_default()
            .push(i);
    }
    let mut codes = vec![String::new(); rows.len()];
    for (prefix, members) in &by_prefix {
        let n = members.len() as i64;
        let last = store::advance_sequence(&mut tx, prefix, n).await?;
        for (k, &i) in members.iter().enumerate() {
            codes[i] = format!("{prefix}{:06}", last - n + 1 + k as i64);
        }
    }
    for ((category, region, name), code) in rows.iter().zip(codes) {
        let (specific, generic) = split_generic(name);
        let row = PlaceRow {
            id: uuid::Uuid::now_v7().to_string(),
            code,
            name: name.clone(),
            specific_part: specific.to_owned(),
            generic_part: generic.to_owned(),
            pinyin: pinyin_forms(name).spaced,
            category: *category,
            region: region.clone(),
            longitude_e6: 0,
            latitude_e6: 0,
            location: String::new(),
            origin_meaning: String::new(),
            status: NameStatus::InUse,
            approval_document: "2023 统计用区划代码和城乡划分代码".into(),
            protected_heritage: false,
        };
        store::insert_place(&mut tx, &row, now_ms).await?;
    }
    store::finish_seed(&mut tx, &source.marker(), rows.len() as i64).await?;
    tx.commit().await?;
    Ok(rows.len())
}

/// Builds the search index from every stored record.
pub async fn build_index(db: &kit::store::Db) -> anyhow::Result<SearchIndex> {
    let mut conn = db.pool.acquire().await?;
    let rows = store::all_places(&mut conn).await?;
    Ok(SearchIndex::build(
        rows.iter().map(PlaceRow::entry).collect(),
    ))
}
