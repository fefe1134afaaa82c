//! Storage: one sqlx `Any` code path for the embedded default (a SQLite file per service, WAL)
//! and production (PostgreSQL, a schema per service). SQL is written once, portably
//! (see docs/CONVENTIONS.md); where the dialects must differ (row claiming), [`Dialect`] says so.

use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};

use crate::config::Config;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// Tables every service has: idempotency keys, outbox, inbox, audit trail.
const KIT_SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS idempotency_keys (
        rpc TEXT NOT NULL,
        request_id TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        response TEXT NOT NULL,
        created_at_ms BIGINT NOT NULL,
        PRIMARY KEY (rpc, request_id))",
    "CREATE TABLE IF NOT EXISTS outbox (
        id TEXT PRIMARY KEY,
        topic TEXT NOT NULL,
        event_type TEXT NOT NULL,
        event_key TEXT NOT NULL,
        payload TEXT NOT NULL,
        traceparent TEXT NOT NULL,
        created_at_ms BIGINT NOT NULL,
        published_at_ms BIGINT)",
    "CREATE INDEX IF NOT EXISTS outbox_unpublished ON outbox (published_at_ms, id)",
    "CREATE TABLE IF NOT EXISTS inbox (
        consumer TEXT NOT NULL,
        event_id TEXT NOT NULL,
        processed_at_ms BIGINT NOT NULL,
        PRIMARY KEY (consumer, event_id))",
    // Cache invalidations recorded with the change, applied to Redis by the invalidator
    // (kit::cache), so a change reaches every replica even across a Redis outage.
    "CREATE TABLE IF NOT EXISTS cache_invalidations (
        id TEXT PRIMARY KEY,
        cache_key TEXT NOT NULL,
        created_at_ms BIGINT NOT NULL,
        first_done_at_ms BIGINT)",
];

/// A service's database handle.
#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub dialect: Dialect,
}

impl Db {
    /// Opens the service's store, creates the kit tables and runs the service's migrations.
    ///
    /// Applied migrations the binary does not carry are ignored: during a rolling update an old
    /// replica starts on the schema the new release migrated (docs/operations/upgrade.md);
    /// `civil restore-check` is what reports such a database. Running it again is a no-op.
    pub async fn open(config: &Config, service: &str, migrator: &Migrator) -> anyhow::Result<Db> {
        let db = Self::connect(config, service).await?;
        for stmt in KIT_SCHEMA.iter().chain(auth::audit::SCHEMA) {
            db.pool.execute(*stmt).await?;
        }
        db.add_column("outbox", "handed_at_ms", "BIGINT").await?;
        for (table, column, ty) in auth::audit::ADDED_COLUMNS {
            db.add_column(table, column, ty).await?;
        }
        tolerant(migrator).run(&db.pool).await?;
        Ok(db)
    }

    /// Connects to the service's store without touching its schema.
    pub async fn connect(config: &Config, service: &str) -> anyhow::Result<Db> {
        sqlx::any::install_default_drivers();
        let db = match &config.database_url {
            Some(url) if url.0.starts_with("postgres") => {
                let schema = format!("{}{}", config.db_schema_prefix, service);
                // TLS: `sslmode` in the URL, or CIVIL_DATABASE_CA_FILE (crate::server::tls).
                crate::server::tls::install_crypto_provider();
                let url =
                    crate::server::tls::postgres_url(&url.0, config.database_ca_file.as_deref())?;
                open_postgres(&url, &schema, config.db_max_connections).await?
            }
            Some(url) => anyhow::bail!(
                "unsupported CIVIL_DATABASE_URL scheme: {}",
                url.0.split(':').next().unwrap_or("")
            ),
            None => {
                std::fs::create_dir_all(&config.data_dir)?;
                let path = config.data_dir.join(format!("{service}.db"));
                open_sqlite(&format!("sqlite://{}?mode=rwc", path.display())).await?
            }
        };
        Ok(db)
    }

    /// Adds a column to a kit table created by an earlier release, once (forward-only).
    async fn add_column(&self, table: &str, column: &str, ty: &str) -> anyhow::Result<()> {
        let exists: i64 = match self.dialect {
            Dialect::Sqlite => {
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT COUNT(*) FROM pragma_table_info('{table}') WHERE name = '{column}'"
                )))
                .fetch_one(&self.pool)
                .await?
            }
            Dialect::Postgres => {
                sqlx::query_scalar(
                    "SELECT COUNT(*) FROM information_schema.columns
                     WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2",
                )
                .bind(table)
                .bind(column)
                .fetch_one(&self.pool)
                .await?
            }
        };
        if exists == 0 {
            let added = self
                .pool
                .execute(sqlx::AssertSqlSafe(format!(
                    "ALTER TABLE {table} ADD COLUMN {column} {ty}"
                )))
                .await;
            // Another replica may have added it in between.
            if let Err(e) = added
                && !e.to_string().contains("already exists")
                && !e.to_string().contains("duplicate column")
            {
                return Err(e.into());
            }
        }
        Ok(())
    }

    /// Begins a transaction. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`): a deferred transaction that reads first fails at once with
    /// "database is locked" when another connection (a tool, a second process) wrote in
    /// between, while an immediate one waits out `busy_timeout`.
    pub async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.dialect {
            Dialect::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Dialect::Postgres => self.pool.begin().await,
        }
    }
}

/// The service's migrator, ignoring applied versions it does not know (a newer release's).
pub fn tolerant(migrator: &Migrator) -> Migrator {
    let mut tolerant = Migrator::with_migrations(migrator.iter().cloned().collect());
    tolerant.set_locking(migrator.locking);
    tolerant.set_ignore_missing(true);
    tolerant
}

async fn open_sqlite(url: &str) -> anyhow::Result<Db> {
    // One connection: SQLite has one writer anyway, and a single connection means a deferred
    // transaction can never fail to upgrade to a write lock (SQLITE_BUSY) under our own load.
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute("PRAGMA journal_mode = WAL").await?;
                conn.execute("PRAGMA synchronous = NORMAL").await?;
                conn.execute("PRAGMA busy_timeout = 5000").await?;
                Ok(())
            })
        })
        .connect(url)
        .await?;
    Ok(Db {
        pool,
        dialect: Dialect::Sqlite,
    })
}

async fn open_postgres(url: &str, schema: &str, max: u32) -> anyhow::Result<Db> {
    anyhow::ensure!(
        schema
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "schema name must be alphanumeric: {schema}"
    );
    {
        let setup = AnyPoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await?;
        // Two replicas creating the schema at once race on the catalog; the loser retries.
        for attempt in 0..3 {
            match setup
                .execute(sqlx::AssertSqlSafe(format!(
                    "CREATE SCHEMA IF NOT EXISTS {schema}"
                )))
                .await
            {
                Ok(_) => break,
                Err(e) if attempt < 2 => tracing::debug!(error = %e, "retrying schema creation"),
                Err(e) => return Err(e.into()),
            }
        }
        setup.close().await;
    }
    let search_path = format!("SET search_path TO {schema}");
    let pool = AnyPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(move |conn, _| {
            let sql = search_path.clone();
            Box::pin(async move {
                conn.execute(sqlx::AssertSqlSafe(sql)).await?;
                Ok(())
            })
        })
        .connect(url)
        .await?;
    Ok(Db {
        pool,
        dialect: Dialect::Postgres,
    })
}
