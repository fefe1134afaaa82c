//! A Redis outage costs a cached read at most the cache's op timeout (it falls back to the store),
//! and a change made during the outage reaches every replica: no stale entry once Redis returns.
//!
//! Redis is made unreachable through a TCP proxy that stops forwarding (a black hole: the worst
//! case, connections hang rather than fail). The Redis behind it is `CIVIL_TEST_REDIS` when set,
//! else a `redis-server` started by the test; the store is SQLite, or PostgreSQL when
//! `CIVIL_TEST_PG` is set.

use std::time::{Duration, Instant};

use kit::cache::{Cache, CacheOptions};
use kit::store::Db;
use sqlx::Row;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

static NO_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./tests/migrations");

/// A Redis the test may use: the shared one, or its own child process.
struct TestRedis {
    addr: String,
    _child: Option<ChildGuard>,
}

struct ChildGuard(std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn redis() -> Option<TestRedis> {
    if let Ok(url) = std::env::var("CIVIL_TEST_REDIS")
        && !url.is_empty()
    {
        let addr = url
            .trim_start_matches("redis://")
            .trim_end_matches('/')
            .to_owned();
        return Some(TestRedis { addr, _child: None });
    }
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").ok()?;
        l.local_addr().ok()?.port()
    };
    let child = std::process::Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(std::process::Stdio::null())
        .spawn();
    let Ok(child) = child else {
        eprintln!("no CIVIL_TEST_REDIS and no redis-server: skipped");
        return None;
    };
    let guard = ChildGuard(child);
    let addr = format!("127.0.0.1:{port}");
    for _ in 0..100 {
        if TcpStream::connect(&addr).await.is_ok() {
            return Some(TestRedis {
                addr,
                _child: Some(guard),
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("redis-server did not start");
}

/// Forwards TCP to Redis while `forwarding` is true; otherwise holds every connection open
/// without passing a byte (existing and new ones), like a network partition.
struct Proxy {
    addr: std::net::SocketAddr,
    forwarding: watch::Sender<bool>,
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (forwarding, _) = watch::channel(true);
        let modes = forwarding.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut mode = modes.subscribe();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let cut = !*mode.borrow();
                    if cut {
                        // Accepted but never answered until the partition heals, then dropped.
                        let _ = mode.wait_for(|f| *f).await.map(|_| ());
                        return;
                    }
                    let Ok(mut outbound) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = async { mode.wait_for(|f| !*f).await.map(|_| ()) } => {
                            // Hold both sockets silent until the partition heals.
                            let _ = mode.wait_for(|f| *f).await.map(|_| ());
                        }
                    }
                });
            }
        });
        Proxy { addr, forwarding }
    }

    fn cut(&self) {
        self.forwarding.send_replace(false);
    }

    fn heal(&self) {
        self.forwarding.send_replace(true);
    }
}

/// What a service does: the cached value, else the store's (then cached for 300 s).
async fn read(cache: &Cache, db: &Db, key: &str) -> i64 {
    if let Some(v) = cache.get(key).await {
        return i64::from_le_bytes(v.try_into().expect("8 bytes"));
    }
    let day: i64 = sqlx::query("SELECT day FROM bookings WHERE id = $1")
        .bind(key)
        .fetch_one(&db.pool)
        .await
        .expect("store read")
        .try_get("day")
        .expect("day");
    cache
        .set(key, day.to_le_bytes().to_vec(), Duration::from_secs(300))
        .await;
    day
}

/// What a service's write does: the change and its invalidation in one transaction.
async fn write(cache: &Cache, db: &Db, key: &str, day: i64) {
    let mut tx = db.begin().await.expect("tx");
    sqlx::query("UPDATE bookings SET day = $1 WHERE id = $2")
        .bind(day)
        .bind(key)
        .execute(&mut *tx)
        .await
        .expect("update");
    cache
        .invalidate_durably(&mut tx, key)
        .await
        .expect("recorded");
    tx.commit().await.expect("commit");
    cache.invalidate(key).await;
}

async fn replica(proxy: &Proxy, prefix: &str, db: &Db, shutdown: &CancellationToken) -> Cache {
    let options = CacheOptions {
        op_timeout: Duration::from_millis(80),
        local_ttl: Duration::from_millis(300),
        tick: Duration::from_millis(50),
        settle: Duration::from_millis(200),
    };
    let cache = Cache::with_redis_options(&format!("redis://{}", proxy.addr), prefix, options)
        .await
        .expect("cache");
    cache.spawn_invalidator(db.clone(), shutdown.clone());
    cache
}

#[tokio::test]
async fn a_redis_outage_falls_back_to_the_store_and_leaves_no_stale_entry() {
    let Some(redis) = redis().await else { return };
    let proxy = Proxy::start(redis.addr.clone()).await;
    let dir = tempfile::tempdir().expect("tmp");
    let config = kit::testing::test_config(dir.path());
    let db = Db::open(&config, "kittest", &NO_MIGRATIONS)
        .await
        .expect("store");
    sqlx::query("INSERT INTO bookings (id, day) VALUES ('benefit', 1)")
        .execute(&db.pool)
        .await
        .expect("seed");
    let prefix = format!("test:{}", uuid::Uuid::now_v7().simple());
    let shutdown = CancellationToken::new();
    // Two replicas of one service: `a` takes the write, `b` serves the reads.
    let a = replica(&proxy, &prefix, &db, &shutdown).await;
    let b = replica(&proxy, &prefix, &db, &shutdown).await;

    assert_eq!(read(&b, &db, "benefit").await, 1);
    tokio::time::sleep(Duration::from_millis(400)).await; // b's L1 copy expires; Redis keeps it
    assert_eq!(read(&b, &db, "benefit").await, 1, "served from Redis");

    proxy.cut();
    let started = Instant::now();
    write(&a, &db, "benefit", 2).await;
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "the write's invalidation did not wait for Redis: {:?}",
        started.elapsed()
    );
    // A read in flight on a hanging connection answers from the store within a bound.
    tokio::time::sleep(Duration::from_millis(400)).await; // b's L1 has expired
    let started = Instant::now();
    assert_eq!(read(&b, &db, "benefit").await, 2, "the store's answer");
    assert!(
        started.elapsed() < Duration::from_millis(1000),
        "read bounded by the cache timeout, took {:?}",
        started.elapsed()
    );
    let started = Instant::now();
    assert_eq!(read(&a, &db, "benefit").await, 2);
    assert!(started.elapsed() < Duration::from_millis(1000));

    // Redis comes back still holding the old entry (TTL 300 s): it must never be served.
    proxy.heal();
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        assert_eq!(
            read(&b, &db, "benefit").await,
            2,
            "stale entry after Redis returned"
        );
        assert_eq!(
            read(&a, &db, "benefit").await,
            2,
            "stale entry after Redis returned"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // And the cache is in use again: the entry now in Redis is the new one.
    let client = redis::Client::open(format!("redis://{}", redis.addr)).expect("client");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let stored: Option<Vec<u8>> = redis::cmd("GET")
        .arg(format!("{prefix}:cache:benefit"))
        .query_async(&mut conn)
        .await
        .expect("get");
    assert_eq!(stored, Some(2i64.to_le_bytes().to_vec()));
    shutdown.cancel();
}

#[tokio::test]
async fn an_invalidation_recorded_in_a_rolled_back_transaction_does_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = kit::testing::test_config(dir.path());
    let db = Db::open(&config, "kittest", &NO_MIGRATIONS)
        .await
        .expect("store");
    let cache = Cache::local();
    let mut tx = db.begin().await.expect("tx");
    cache
        .invalidate_durably(&mut tx, "k")
        .await
        .expect("recorded");
    tx.rollback().await.expect("rollback");
    let n: i64 = sqlx::query("SELECT COUNT(*) FROM cache_invalidations")
        .fetch_one(&db.pool)
        .await
        .expect("count")
        .try_get(0)
        .expect("i64");
    assert_eq!(n, 0);
}
