//! Read cache: an in-process layer always (a hot read answers without I/O), and Redis behind it
//! when configured, shared by replicas.
//!
//! Invalidation deletes both layers here; another replica's in-process copy lives at most
//! [`LOCAL_TTL`], the staleness bound callers accept for status lookups.

use std::time::Duration;

use moka::future::Cache as Moka;

/// Upper bound on how long an in-process copy is served.
pub const LOCAL_TTL: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct Cache {
    local: Moka<String, Vec<u8>>,
    redis: Option<(redis::aio::ConnectionManager, String)>,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("redis", &self.redis.is_some())
            .finish()
    }
}

impl Cache {
    pub fn local() -> Self {
        Self {
            local: Moka::builder()
                .max_capacity(100_000)
                .time_to_live(LOCAL_TTL)
                .build(),
            redis: None,
        }
    }

    pub async fn with_redis(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        let conn = client.get_connection_manager().await?;
        let mut cache = Self::local();
        cache.redis = Some((conn, format!("{prefix}:cache:")));
        Ok(cache)
    }

    pub async fn get(&self, key: &str) -> Option<Vec<u8>> {
        if let Some(v) = self.local.get(key).await {
            return Some(v);
        }
        let (conn, prefix) = self.redis.as_ref()?;
        let mut conn = conn.clone();
        let got: redis::RedisResult<Option<Vec<u8>>> = redis::cmd("GET")
            .arg(format!("{prefix}{key}"))
            .query_async(&mut conn)
            .await;
        match got {
            Ok(Some(v)) => {
                self.local.insert(key.to_owned(), v.clone()).await;
                Some(v)
            }
            Ok(None) => None,
            Err(e) => {
                // A cache outage degrades to reading the store, never to an error.
                tracing::warn!(error = %e, "cache read failed");
                None
            }
        }
    }

    pub async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration) {
        if let Some((conn, prefix)) = &self.redis {
            let mut conn = conn.clone();
            let r: redis::RedisResult<()> = redis::cmd("SET")
                .arg(format!("{prefix}{key}"))
                .arg(value.as_slice())
                .arg("PX")
                .arg(ttl.as_millis() as u64)
                .query_async(&mut conn)
                .await;
            if let Err(e) = r {
                tracing::warn!(error = %e, "cache write failed");
            }
        }
        self.local.insert(key.to_owned(), value).await;
    }

    pub async fn invalidate(&self, key: &str) {
        self.local.invalidate(key).await;
        if let Some((conn, prefix)) = &self.redis {
            let mut conn = conn.clone();
            let r: redis::RedisResult<()> = redis::cmd("DEL")
                .arg(format!("{prefix}{key}"))
                .query_async(&mut conn)
                .await;
            if let Err(e) = r {
                tracing::warn!(error = %e, "cache invalidation failed");
            }
        }
    }
}
