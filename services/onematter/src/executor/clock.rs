//! Where the executor's "now" comes from.
//!
//! Leases, back-offs and deadlines are instants stored in the database and compared there, so
//! every executor must read the same clock. On PostgreSQL that is the database's own clock
//! (`clock_timestamp()`), read inside the transaction that uses it: replicas with skewed clocks
//! still agree on who holds a lease. On SQLite the store is one file used by one process, so the
//! process clock is the database clock. Tests use [`FakeClock`] to move time by hand.

use futures::FutureExt as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use futures::future::BoxFuture;
use sqlx::{AnyConnection, Row};

use kit::store::Dialect;

/// Unix milliseconds, read within the transaction about to use them.
pub trait Clock: Send + Sync + 'static {
    fn now_ms<'a>(&'a self, conn: &'a mut AnyConnection)
    -> BoxFuture<'a, Result<i64, sqlx::Error>>;
}

/// The database clock on PostgreSQL, the process clock on SQLite.
#[derive(Debug, Clone, Copy)]
pub struct DbClock(pub Dialect);

impl Clock for DbClock {
    fn now_ms<'a>(
        &'a self,
        conn: &'a mut AnyConnection,
    ) -> BoxFuture<'a, Result<i64, sqlx::Error>> {
        async move {
            match self.0 {
                Dialect::Postgres => {
                    let row = sqlx::query("SELECT CAST(FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000) AS BIGINT) AS now_ms")
                        .fetch_one(&mut *conn)
                        .await?;
                    row.try_get("now_ms")
                }
                Dialect::Sqlite => Ok(kit::now_ms()),
            }
        }.boxed()
    }
}

/// A clock that moves only when told to.
#[derive(Debug, Clone)]
pub struct FakeClock(Arc<AtomicI64>);

impl FakeClock {
    pub fn new(start_ms: i64) -> Self {
        Self(Arc::new(AtomicI64::new(start_ms)))
    }

    pub fn advance(&self, by: std::time::Duration) {
        self.0.fetch_add(by.as_millis() as i64, Ordering::SeqCst);
    }

    pub fn get(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl Clock for FakeClock {
    fn now_ms<'a>(
        &'a self,
        _conn: &'a mut AnyConnection,
    ) -> BoxFuture<'a, Result<i64, sqlx::Error>> {
        let now = self.get();
        async move { Ok(now) }.boxed()
    }
}
