//! `civil restore-check`: what an operator runs on a restored (or upgraded) database before
//! letting callers in. For every service it proves three things, read-only:
//! - the schema is this release's: every migration the binary carries is applied, with the
//!   same checksum, none failed, none unknown to the binary;
//! - the audit trail's hash chain verifies end to end (a restore that lost or reordered rows,
//!   or restored one service from another day, breaks it);
//! - how many rows each table holds, so the drill can compare a restore with its source.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use kit::config::Config;
use kit::store::{Db, Dialect};
use sqlx::Row;
use sqlx::migrate::Migrator;

static MARRIAGE: Migrator = sqlx::migrate!("../marriage/migrations");
static ASSISTANCE: Migrator = sqlx::migrate!("../assistance/migrations");
static FUNERAL: Migrator = sqlx::migrate!("../funeral/migrations");
static ELDERCARE: Migrator = sqlx::migrate!("../eldercare/migrations");
static SOCIALORG: Migrator = sqlx::migrate!("../socialorg/migrations");
static PLACENAME: Migrator = sqlx::migrate!("../placename/migrations");
static ONEMATTER: Migrator = sqlx::migrate!("../onematter/migrations");

fn migrator(service: &str) -> Option<&'static Migrator> {
    Some(match service {
        "marriage" => &MARRIAGE,
        "assistance" => &ASSISTANCE,
        "funeral" => &FUNERAL,
        "eldercare" => &ELDERCARE,
        "socialorg" => &SOCIALORG,
        "placename" => &PLACENAME,
        "onematter" => &ONEMATTER,
        _ => return None,
    })
}

/// One service's findings.
#[derive(Debug, Default)]
pub struct ServiceReport {
    pub service: String,
    /// Problems that make the restore unusable; empty when it is good.
    pub problems: Vec<String>,
    pub migrations_applied: usize,
    pub audit_rows: u64,
    /// Table -> row count, in name order.
    pub tables: BTreeMap<String, i64>,
}

impl ServiceReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks the named services' stores (all when `services` is empty).
pub async fn check(config: &Config, services: &[String]) -> anyhow::Result<Vec<ServiceReport>> {
    let defs = crate::select(services)?;
    let mut reports = Vec::new();
    for def in defs {
        let mut report = ServiceReport {
            service: def.name.to_owned(),
            ..Default::default()
        };
        match Db::connect(config, def.name).await {
            Ok(db) => {
                check_migrations(&db, def.name, &mut report).await;
                match auth::audit::verify(&db.pool).await {
                    Ok(rows) => report.audit_rows = rows as u64,
                    Err(e) => report.problems.push(format!("audit chain: {e}")),
                }
                if let Err(e) = count_tables(&db, &mut report).await {
                    report.problems.push(format!("row counts: {e}"));
                }
                db.pool.close().await;
            }
            Err(e) => report.problems.push(format!("cannot open the store: {e}")),
        }
        reports.push(report);
    }
    Ok(reports)
}

async fn check_migrations(db: &Db, service: &str, report: &mut ServiceReport) {
    let Some(expected) = migrator(service) else {
        report
            .problems
            .push("no migrations known for this service".into());
        return;
    };
    // `success` as a number: the Any driver decodes no SQLite BOOLEAN.
    let rows = match sqlx::query(
        "SELECT version, CASE WHEN success THEN 1 ELSE 0 END, checksum FROM _sqlx_migrations",
    )
    .fetch_all(&db.pool)
    .await
    {
        Ok(rows) => rows,
        Err(e) => {
            report
                .problems
                .push(format!("no migration history (_sqlx_migrations): {e}"));
            return;
        }
    };
    let mut applied = BTreeMap::new();
    for row in rows {
        let version: i64 = row.try_get(0).unwrap_or(-1);
        let success: bool = row
            .try_get::<bool, _>(1)
            .or_else(|_| row.try_get::<i64, _>(1).map(|v| v != 0))
            .unwrap_or(false);
        let checksum: Vec<u8> = row.try_get(2).unwrap_or_default();
        if !success {
            report
                .problems
                .push(format!("migration {version} is recorded as failed"));
        }
        applied.insert(version, checksum);
    }
    report.migrations_applied = applied.len();
    for m in expected
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
    {
        match applied.remove(&m.version) {
            None => report.problems.push(format!(
                "migration {} ({}) is not applied: run `civil migrate {service}`",
                m.version, m.description
            )),
            Some(sum) if sum != *m.checksum => report.problems.push(format!(
                "migration {} ({}) was applied from a different file",
                m.version, m.description
            )),
            Some(_) => {}
        }
    }
    for version in applied.keys() {
        report.problems.push(format!(
            "migration {version} is applied but unknown to this binary (a newer release's database?)"
        ));
    }
}

async fn count_tables(db: &Db, report: &mut ServiceReport) -> Result<(), sqlx::Error> {
    let list = match db.dialect {
        Dialect::Postgres => {
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        }
        Dialect::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        }
    };
    let names: Vec<String> = sqlx::query(list)
        .fetch_all(&db.pool)
        .await?
        .iter()
        .filter_map(|r| r.try_get::<String, _>(0).ok())
        .collect();
    for name in names {
        // Names come from the catalogue, not from a caller; quoted all the same.
        let sql = format!("SELECT COUNT(*) FROM \"{}\"", name.replace('"', "\"\""));
        let count: i64 = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_one(&db.pool)
            .await?
            .try_get(0)?;
        report.tables.insert(name, count);
    }
    Ok(())
}

/// The report as an operator reads it (also what the restore drill compares).
pub fn render(reports: &[ServiceReport]) -> String {
    let mut out = String::new();
    for r in reports {
        let verdict = if r.ok() { "ok" } else { "FAILED" };
        let _ = writeln!(
            out,
            "{}: {verdict}: {} migrations, audit chain {} rows",
            r.service, r.migrations_applied, r.audit_rows
        );
        for p in &r.problems {
            let _ = writeln!(out, "  problem: {p}");
        }
        for (table, count) in &r.tables {
            let _ = writeln!(out, "  {table} {count}");
        }
    }
    out
}
