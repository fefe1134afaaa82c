//! `civil pii-reseal`: the re-seal step of a PII key rotation (docs/operations/keys.md).
//!
//! For every table of a service's store it finds the sealed columns from the catalogue (every
//! column whose name ends in `_sealed`, and the idempotency table's sealed stored answers),
//! walks the table by its primary key in batches of [`BATCH`] rows and re-seals with the
//! current key each value the previous key sealed. Each batch is one short transaction, and
//! every update is guarded by the value it replaces, so a write by the running suite in between
//! is never overwritten and a stopped run is simply run again (values already under the current
//! key are left alone).

use std::fmt::Write as _;

use kit::config::Config;
use kit::pii::Sealer;
use kit::store::{Db, Dialect};
use sqlx::Row;

/// Rows per batch (one transaction each).
pub const BATCH: usize = 500;

/// Prefix of a sealed stored answer in `idempotency_keys.response` (kit::idempotency).
const IDEMPOTENCY_SEALED_PREFIX: &str = "sealed:v1:";

/// What one table held and what was done to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableReport {
    pub service: String,
    pub table: String,
    /// Non-empty sealed values found.
    pub values: u64,
    /// Values found under the previous key and re-sealed with the current one.
    pub resealed: u64,
    /// Values neither key opens (wrong keys configured, or corrupted).
    pub unreadable: u64,
}

/// Re-seals the named services' stores (all when `services` is empty).
pub async fn reseal(config: &Config, services: &[String]) -> anyhow::Result<Vec<TableReport>> {
    let sealer = Sealer::from_config(config)?;
    let mut reports = Vec::new();
    for def in crate::select(services)? {
        let db = Db::connect(config, def.name).await?;
        let result = reseal_store(&db, def.name, &sealer).await;
        db.pool.close().await;
        reports.extend(result?);
    }
    Ok(reports)
}

/// Re-seals one store.
pub async fn reseal_store(
    db: &Db,
    service: &str,
    sealer: &Sealer,
) -> anyhow::Result<Vec<TableReport>> {
    let mut reports = Vec::new();
    for table in tables(db).await? {
        let (columns, key) = columns(db, &table).await?;
        let sealed: Vec<String> = columns
            .into_iter()
            .filter(|c| c.ends_with("_sealed") || (table == "idempotency_keys" && c == "response"))
            .collect();
        if sealed.is_empty() {
            continue;
        }
        anyhow::ensure!(
            !key.is_empty(),
            "{service}.{table} has sealed columns but no primary key to walk it by"
        );
        let mut report = TableReport {
            service: service.to_owned(),
            table: table.clone(),
            values: 0,
            resealed: 0,
            unreadable: 0,
        };
        reseal_table(db, &table, &key, &sealed, sealer, &mut report).await?;
        reports.push(report);
    }
    Ok(reports)
}

/// A primary-key value, as read back (keys are text or integers in every service).
#[derive(Debug, Clone)]
enum KeyValue {
    Text(String),
    Int(i64),
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

async fn reseal_table(
    db: &Db,
    table: &str,
    key: &[String],
    sealed: &[String],
    sealer: &Sealer,
    report: &mut TableReport,
) -> anyhow::Result<()> {
    let key_list = key.iter().map(|k| quote(k)).collect::<Vec<_>>().join(", ");
    let selected = key
        .iter()
        .chain(sealed)
        .map(|c| quote(c))
        .collect::<Vec<_>>()
        .join(", ");
    let after = (1..=key.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let first_page = format!(
        "SELECT {selected} FROM {} ORDER BY {key_list} LIMIT {BATCH}",
        quote(table)
    );
    let next_page = format!(
        "SELECT {selected} FROM {} WHERE ({key_list}) > ({after}) ORDER BY {key_list} LIMIT {BATCH}",
        quote(table)
    );
    let mut last: Option<Vec<KeyValue>> = None;
    loop {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(match &last {
            None => first_page.clone(),
            Some(_) => next_page.clone(),
        }));
        for v in last.iter().flatten() {
            query = match v {
                KeyValue::Text(s) => query.bind(s.clone()),
                KeyValue::Int(i) => query.bind(*i),
            };
        }
        let rows = query.fetch_all(&db.pool).await?;
        if rows.is_empty() {
            return Ok(());
        }
        let mut updates = Vec::new();
        for row in &rows {
            let keys = (0..key.len())
                .map(|i| {
                    row.try_get::<String, _>(i)
                        .map(KeyValue::Text)
                        .or_else(|_| row.try_get::<i64, _>(i).map(KeyValue::Int))
                })
                .collect::<Result<Vec<_>, _>>()?;
            for (j, column) in sealed.iter().enumerate() {
                let Some(old) = row.try_get::<Option<String>, _>(key.len() + j)? else {
                    continue;
                };
                if let Some(new) = reseal_value(sealer, table, &old, report) {
                    updates.push((keys.clone(), column.clone(), old, new));
                }
            }
            last = Some(keys);
        }
        if !updates.is_empty() {
            let mut tx = db.begin().await?;
            for (keys, column, old, new) in updates {
                let guard = key
                    .iter()
                    .enumerate()
                    .map(|(i, k)| format!("{} = ${}", quote(k), i + 3))
                    .collect::<Vec<_>>()
                    .join(" AND ");
                let sql = format!(
                    "UPDATE {} SET {c} = $1 WHERE {c} = $2 AND {guard}",
                    quote(table),
                    c = quote(&column)
                );
                let mut update = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(new).bind(old);
                for v in keys {
                    update = match v {
                        KeyValue::Text(s) => update.bind(s),
                        KeyValue::Int(i) => update.bind(i),
                    };
                }
                let done = update.execute(&mut *tx).await?.rows_affected();
                report.resealed += done;
            }
            tx.commit().await?;
        }
        if rows.len() < BATCH {
            return Ok(());
        }
    }
}

/// The re-sealed text of one stored value, when the previous key sealed it; counts it.
fn reseal_value(
    sealer: &Sealer,
    table: &str,
    stored: &str,
    report: &mut TableReport,
) -> Option<String> {
    if stored.is_empty() {
        return None;
    }
    let (prefix, sealed) = if table == "idempotency_keys" {
        // Rows written before sealing hold plain base64: nothing to re-seal.
        (
            IDEMPOTENCY_SEALED_PREFIX,
            stored.strip_prefix(IDEMPOTENCY_SEALED_PREFIX)?,
        )
    } else {
        ("", stored)
    };
    report.values += 1;
    match sealer.reseal(sealed) {
        Ok(None) => None,
        Ok(Some(new)) => Some(format!("{prefix}{new}")),
        Err(_) => {
            report.unreadable += 1;
            None
        }
    }
}

async fn tables(db: &Db) -> Result<Vec<String>, sqlx::Error> {
    let list = match db.dialect {
        Dialect::Postgres => {
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1"
        }
        Dialect::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             ORDER BY 1"
        }
    };
    Ok(sqlx::query(list)
        .fetch_all(&db.pool)
        .await?
        .iter()
        .filter_map(|r| r.try_get::<String, _>(0).ok())
        .collect())
}

/// A table's columns and its primary key columns (in key order), from the catalogue.
async fn columns(db: &Db, table: &str) -> Result<(Vec<String>, Vec<String>), sqlx::Error> {
    match db.dialect {
        Dialect::Sqlite => {
            let rows = sqlx::query("SELECT name, pk FROM pragma_table_info($1) ORDER BY cid")
                .bind(table)
                .fetch_all(&db.pool)
                .await?;
            let mut columns = Vec::new();
            let mut key = Vec::new();
            for r in rows {
                let name: String = r.try_get(0)?;
                let pk: i64 = r.try_get(1)?;
                if pk > 0 {
                    key.push((pk, name.clone()));
                }
                columns.push(name);
            }
            key.sort();
            Ok((columns, key.into_iter().map(|(_, n)| n).collect()))
        }
        Dialect::Postgres => {
            let columns = sqlx::query(
                "SELECT column_name::text FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = $1
                 ORDER BY ordinal_position",
            )
            .bind(table)
            .fetch_all(&db.pool)
            .await?
            .iter()
            .map(|r| r.try_get::<String, _>(0))
            .collect::<Result<Vec<_>, _>>()?;
            let key = sqlx::query(
                "SELECT k.column_name::text FROM information_schema.table_constraints c
                 JOIN information_schema.key_column_usage k
                   ON k.constraint_schema = c.constraint_schema
                  AND k.constraint_name = c.constraint_name
                  AND k.table_name = c.table_name
                 WHERE c.table_schema = current_schema() AND c.table_name = $1
                   AND c.constraint_type = 'PRIMARY KEY'
                 ORDER BY k.ordinal_position",
            )
            .bind(table)
            .fetch_all(&db.pool)
            .await?
            .iter()
            .map(|r| r.try_get::<String, _>(0))
            .collect::<Result<Vec<_>, _>>()?;
            Ok((columns, key))
        }
    }
}

/// The report as an operator reads it.
pub fn render(reports: &[TableReport]) -> String {
    let mut out = String::new();
    for r in reports {
        let _ = write!(
            out,
            "{}.{}: {} sealed values, {} re-sealed",
            r.service, r.table, r.values, r.resealed
        );
        if r.unreadable > 0 {
            let _ = write!(out, ", {} open with neither key", r.unreadable);
        }
        out.push('\n');
    }
    let unreadable: u64 = reports.iter().map(|r| r.unreadable).sum();
    if unreadable == 0 {
        out.push_str("every sealed value is now under the current key\n");
    }
    out
}
