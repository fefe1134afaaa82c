//! Read cache: an in-process layer (L1) always, so a hot read answers without I/O, and Redis
//! (L2) behind it when configured, shared by replicas.
//!
//! # Redis outages
//!
//! The cache is an optimisation, never a dependency: a read that cannot use it reads the store.
//! - Every Redis operation has its own short timeout ([`CacheOptions::op_timeout`],
//!   `CIVIL_CACHE_TIMEOUT_MS`, default 80 ms): a Redis that hangs costs a read at most that,
//!   never the request deadline. A hanging connection is replaced after a timeout.
//! - After a failure the cache is *down*: reads skip Redis (straight to the store) and writes
//!   skip it too. It comes back only once every invalidation recorded during the outage has
//!   been applied to Redis (below), so an entry that went stale while Redis was unreachable is
//!   never served after it returns.
//! - The in-process L1 lives at most [`CacheOptions::local_ttl`] (5 s), outage or not: that is
//!   the staleness bound of another replica's L1.
//!
//! # Invalidating a change (every replica, across an outage)
//!
//! A write that changes what a cached key shows records the invalidation **in its own
//! transaction**; it is then applied to Redis by every replica's invalidator (spawned with the
//! store, see [`Cache::spawn_invalidator`]) within a tick, or as soon as Redis returns:
//!
//! ```ignore
//! let mut tx = db.begin().await?;
//! store::terminate_benefit(&mut tx, &benefit).await?;
//! ctx.cache.invalidate_durably(&mut tx, &status_key(&index)).await?;   // same transaction
//! tx.commit().await?;
//! ctx.cache.invalidate(&status_key(&index)).await;   // optional: this replica at once (best effort)
//! ```
//!
//! The invalidator deletes each key twice, on first sight and again [`CacheOptions::settle`]
//! later, so a reader that loaded the old value from the store just before the commit and
//! cached it just after the first delete does not keep it for the entry's TTL.
//! [`Cache::invalidate`] alone (no transaction) is best effort: lost if Redis is unreachable.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use moka::future::Cache as Moka;
use sqlx::{AnyConnection, Row};
use tokio_util::sync::CancellationToken;

use crate::store::Db;

/// Default upper bound on how long an in-process copy is served.
pub const LOCAL_TTL: Duration = Duration::from_secs(5);

/// Tuning of the cache; [`CacheOptions::default`] is what production runs.
#[derive(Debug, Clone)]
pub struct CacheOptions {
    /// Deadline of one Redis operation (`CIVIL_CACHE_TIMEOUT_MS`).
    pub op_timeout: Duration,
    /// Lifetime of an in-process (L1) copy.
    pub local_ttl: Duration,
    /// How often the invalidator looks for recorded invalidations (and probes a down Redis).
    pub tick: Duration,
    /// Delay of the second delete of an invalidated key.
    pub settle: Duration,
}

impl Default for CacheOptions {
    fn default() -> Self {
        Self {
            op_timeout: Duration::from_millis(80),
            local_ttl: LOCAL_TTL,
            tick: Duration::from_millis(100),
            settle: Duration::from_secs(1),
        }
    }
}

impl CacheOptions {
    /// The options a deployment configured.
    pub fn from_config(config: &crate::config::Config) -> Self {
        Self {
            op_timeout: Duration::from_millis(config.cache_timeout_ms),
            ..Self::default()
        }
    }
}

#[derive(Clone)]
pub struct Cache {
    inner: Arc<Inner>,
}

struct Inner {
    local: Moka<String, Vec<u8>>,
    redis: Option<Redis>,
    options: CacheOptions,
}

struct Redis {
    client: redis::Client,
    conn: Mutex<redis::aio::ConnectionManager>,
    prefix: String,
    health: Mutex<Health>,
}

/// Whether Redis may be used, and who must confirm before it may again.
#[derive(Default)]
struct Health {
    down: bool,
    /// Incremented each time Redis goes down.
    epoch: u64,
    /// With no invalidator registered: when to probe Redis again.
    retry_at: Option<Instant>,
    /// Per registered invalidator, the last outage epoch after which it applied every
    /// recorded invalidation.
    drained: Vec<u64>,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("redis", &self.inner.redis.is_some())
            .finish()
    }
}

impl Cache {
    /// The in-process layer alone (embedded default).
    pub fn local() -> Self {
        Self::build(None, CacheOptions::default())
    }

    /// In-process layer over Redis, default options.
    pub async fn with_redis(url: &str, prefix: &str) -> anyhow::Result<Self> {
        Self::with_redis_options(url, prefix, CacheOptions::default()).await
    }

    /// In-process layer over Redis. Does not wait for Redis: a service starts during an outage.
    pub async fn with_redis_options(
        url: &str,
        prefix: &str,
        options: CacheOptions,
    ) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        let conn = connect(&client, &options)?;
        let redis = Redis {
            client,
            conn: Mutex::new(conn),
            prefix: format!("{prefix}:cache:"),
            health: Mutex::new(Health::default()),
        };
        Ok(Self::build(Some(redis), options))
    }

    fn build(redis: Option<Redis>, options: CacheOptions) -> Self {
        let local = Moka::builder()
            .max_capacity(100_000)
            .time_to_live(options.local_ttl)
            .build();
        Self {
            inner: Arc::new(Inner {
                local,
                redis,
                options,
            }),
        }
    }

    /// The cached value, from L1 or Redis; `None` on a miss or when Redis is unreachable
    /// (the caller reads the store).
    pub async fn get(&self, key: &str) -> Option<Vec<u8>> {
        if let Some(v) = self.inner.local.get(key).await {
            return Some(v);
        }
        let redis = self.inner.redis.as_ref()?;
        if !redis.usable() {
            return None;
        }
        let got: Option<Option<Vec<u8>>> = self
            .run(redis, redis::cmd("GET").arg(redis.key(key)), "cache read")
            .await;
        let value = got.flatten()?;
        self.inner.local.insert(key.to_owned(), value.clone()).await;
        Some(value)
    }

    /// Caches `value` for `ttl` in Redis (when reachable) and in L1.
    pub async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration) {
        if let Some(redis) = &self.inner.redis
            && redis.usable()
        {
            let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
            let _: Option<()> = self
                .run(
                    redis,
                    redis::cmd("SET")
                        .arg(redis.key(key))
                        .arg(value.as_slice())
                        .arg("PX")
                        .arg(ttl_ms),
                    "cache write",
                )
                .await;
        }
        self.inner.local.insert(key.to_owned(), value).await;
    }

    /// Drops `key` from L1 and (best effort, bounded by the op timeout) from Redis. A change
    /// that must reach other replicas also calls [`Cache::invalidate_durably`].
    pub async fn invalidate(&self, key: &str) {
        self.inner.local.invalidate(key).await;
        if let Some(redis) = &self.inner.redis
            && redis.usable()
        {
            let _: Option<i64> = self
                .run(
                    redis,
                    redis::cmd("DEL").arg(redis.key(key)),
                    "cache invalidation",
                )
                .await;
        }
    }

    /// Records, inside the caller's transaction, that `key` must be invalidated everywhere.
    /// Nothing is recorded if the transaction rolls back; once it commits, the invalidators
    /// delete the key from Redis within a tick, or as soon as Redis is reachable again (the
    /// cache stays down until then).
    pub async fn invalidate_durably(
        &self,
        conn: &mut AnyConnection,
        key: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO cache_invalidations (id, cache_key, created_at_ms, first_done_at_ms)
             VALUES ($1, $2, $3, NULL)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(key)
        .bind(crate::now_ms())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Applies the invalidations recorded in `db` until `shutdown`. Every replica runs one per
    /// service store (`ServiceContext::open_db` spawns it); each also brings the cache back
    /// after an outage once it has applied everything recorded meanwhile.
    pub fn spawn_invalidator(
        &self,
        db: Db,
        shutdown: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let cache = self.clone();
        let slot = cache.inner.redis.as_ref().map(Redis::register);
        tokio::spawn(async move {
            loop {
                let epoch = cache.inner.redis.as_ref().map(Redis::epoch);
                match cache.apply_invalidations(&db).await {
                    Ok(()) => {
                        if let (Some(redis), Some(slot), Some(epoch)) =
                            (&cache.inner.redis, slot, epoch)
                        {
                            redis.drained(slot, epoch);
                        }
                    }
                    Err(e) => tracing::debug!(error = %e, "cache invalidations not applied yet"),
                }
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(cache.inner.options.tick) => {}
                }
            }
        })
    }

    /// One invalidator pass. `Ok` means Redis answered and nothing recorded is left to apply
    /// now (second deletes may still be due).
    async fn apply_invalidations(&self, db: &Db) -> anyhow::Result<()> {
        let now = crate::now_ms();
        let settle_ms = i64::try_from(self.inner.options.settle.as_millis()).unwrap_or(i64::MAX);
        let rows = sqlx::query(
            "SELECT id, cache_key, first_done_at_ms FROM cache_invalidations ORDER BY id LIMIT 500",
        )
        .fetch_all(&db.pool)
        .await?;
        let mut first = Vec::new();
        let mut second = Vec::new();
        for row in &rows {
            let id: String = row.try_get("id")?;
            let key: String = row.try_get("cache_key")?;
            let done: Option<i64> = row.try_get("first_done_at_ms")?;
            match done {
                None => first.push((id, key)),
                Some(t) if now.saturating_sub(t) >= settle_ms => second.push((id, key)),
                Some(_) => {}
            }
        }
        for (_, key) in first.iter().chain(&second) {
            self.inner.local.invalidate(key).await;
        }
        let Some(redis) = &self.inner.redis else {
            // No shared layer: L1 is dropped above, the record has done its work.
            delete_rows(db, first.iter().chain(&second)).await?;
            return Ok(());
        };
        // Redis must answer even with nothing to delete: that is how a down cache comes back.
        let mut cmd = redis::cmd("DEL");
        cmd.arg(redis.key("~probe"));
        for (_, key) in first.iter().chain(&second) {
            cmd.arg(redis.key(key));
        }
        if self
            .run::<i64>(redis, &cmd, "applying cache invalidations")
            .await
            .is_none()
        {
            anyhow::bail!("redis unreachable");
        }
        if first.is_empty() && second.is_empty() {
            return Ok(());
        }
        let mut tx = db.begin().await?;
        for (id, _) in &first {
            sqlx::query("UPDATE cache_invalidations SET first_done_at_ms = $1 WHERE id = $2")
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        delete_rows(db, second.iter()).await?;
        Ok(())
    }

    /// Runs one Redis command under the op timeout; on failure marks Redis down (and replaces
    /// a connection that hung) and returns `None`.
    async fn run<T: redis::FromRedisValue>(
        &self,
        redis: &Redis,
        cmd: &redis::Cmd,
        what: &'static str,
    ) -> Option<T> {
        let mut conn = redis.conn.lock().unwrap_or_else(|p| p.into_inner()).clone();
        match tokio::time::timeout(self.inner.options.op_timeout, cmd.query_async(&mut conn)).await
        {
            Ok(Ok(v)) => {
                redis.probe_succeeded();
                Some(v)
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "{what} failed; reading the store");
                redis.mark_down(self.inner.options.tick);
                None
            }
            Err(_) => {
                tracing::warn!(
                    timeout_ms = self.inner.options.op_timeout.as_millis() as u64,
                    "{what} timed out; reading the store"
                );
                redis.mark_down(self.inner.options.tick);
                // A connection that hangs may never fail by itself: start a fresh one.
                if let Ok(fresh) = connect(&redis.client, &self.inner.options) {
                    *redis.conn.lock().unwrap_or_else(|p| p.into_inner()) = fresh;
                }
                None
            }
        }
    }
}

async fn delete_rows<'a>(
    db: &Db,
    rows: impl Iterator<Item = &'a (String, String)>,
) -> Result<(), sqlx::Error> {
    let rows: Vec<_> = rows.collect();
    if rows.is_empty() {
        return Ok(());
    }
    let mut tx = db.begin().await?;
    for (id, _) in rows {
        sqlx::query("DELETE FROM cache_invalidations WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}

fn connect(
    client: &redis::Client,
    options: &CacheOptions,
) -> redis::RedisResult<redis::aio::ConnectionManager> {
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(options.op_timeout.max(Duration::from_millis(250))))
        .set_response_timeout(Some(options.op_timeout))
        .set_number_of_retries(1);
    redis::aio::ConnectionManager::new_lazy_with_config(client.clone(), config)
}

impl Redis {
    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn health(&self) -> std::sync::MutexGuard<'_, Health> {
        self.health.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether reads and writes may use Redis now.
    fn usable(&self) -> bool {
        let h = self.health();
        if !h.down {
            return true;
        }
        // Without invalidators nothing can be pending: probe now and then.
        h.drained.is_empty() && h.retry_at.is_none_or(|t| Instant::now() >= t)
    }

    fn mark_down(&self, retry_after: Duration) {
        let mut h = self.health();
        if !h.down {
            h.down = true;
            h.epoch += 1;
        }
        h.retry_at = Some(Instant::now() + retry_after);
    }

    /// A command answered: with no invalidator to wait for, the cache is back.
    fn probe_succeeded(&self) {
        let mut h = self.health();
        if h.down && h.drained.is_empty() {
            h.down = false;
        }
    }

    fn register(&self) -> usize {
        let mut h = self.health();
        let epoch = h.epoch;
        h.drained.push(epoch);
        h.drained.len() - 1
    }

    fn epoch(&self) -> u64 {
        self.health().epoch
    }

    /// Invalidator `slot` applied everything recorded, having started its pass in `epoch`.
    fn drained(&self, slot: usize, epoch: u64) {
        let mut h = self.health();
        if let Some(e) = h.drained.get_mut(slot) {
            *e = epoch;
        }
        let current = h.epoch;
        if h.down && h.drained.iter().all(|e| *e == current) {
            h.down = false;
            tracing::info!("cache back: every invalidation recorded during the outage applied");
        }
    }
}
