//! Storage, idempotency, outbox, bus and cache against the real backends: SQLite always,
//! PostgreSQL when `CIVIL_TEST_PG` is set, Redis when `CIVIL_TEST_REDIS` is set.

use std::sync::Arc;
use std::time::Duration;

use contracts::civil::common::v1::Date;
use kit::store::Db;
use sqlx::Row;

static NO_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./tests/migrations");

async fn db(dir: &std::path::Path) -> (kit::config::Config, Db) {
    let config = kit::testing::test_config(dir);
    let db = Db::open(&config, "kittest", &NO_MIGRATIONS)
        .await
        .expect("store opens");
    (config, db)
}

async fn count(db: &Db, sql: &'static str) -> i64 {
    sqlx::query(sql)
        .fetch_one(&db.pool)
        .await
        .expect("count")
        .try_get::<i64, _>(0)
        .expect("i64")
}

fn date(day: i32) -> Date {
    Date {
        year: 2026,
        month: 5,
        day,
    }
}

/// An effect that inserts one row and answers with a date.
async fn book(db: &Db, request_id: &str, day: i32) -> Result<Date, kit::ServiceError> {
    let req = date(day);
    kit::idempotency::once(db, "Book", request_id, &req, |tx| {
        Box::pin(async move {
            sqlx::query("INSERT INTO bookings (id, day) VALUES ($1, $2)")
                .bind(uuid::Uuid::now_v7().to_string())
                .bind(i64::from(day))
                .execute(&mut *tx)
                .await?;
            Ok(date(day))
        })
    })
    .await
}

#[tokio::test]
async fn a_retried_request_id_returns_the_first_answer_without_a_second_effect() {
    let dir = tempfile::tempdir().expect("tmp");
    let (_c, db) = db(dir.path()).await;
    let first = book(&db, "req-1", 20).await.expect("first");
    let again = book(&db, "req-1", 20).await.expect("retry");
    assert_eq!(first, again);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM bookings").await, 1);
}

#[tokio::test]
async fn a_request_id_reused_for_another_request_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let (_c, db) = db(dir.path()).await;
    book(&db, "req-1", 20).await.expect("first");
    let err = kit::to_status(book(&db, "req-1", 21).await.expect_err("reused"));
    assert_eq!(err.code(), tonic::Code::FailedPrecondition);
    assert_eq!(
        kit::error::reason_of(&err).as_deref(),
        Some("REQUEST_ID_REUSED")
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM bookings").await, 1);
}

#[tokio::test]
async fn concurrent_retries_of_one_request_have_one_effect() {
    let dir = tempfile::tempdir().expect("tmp");
    let (_c, db) = db(dir.path()).await;
    let db = Arc::new(db);
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move { book(&db, "same", 20).await }));
    }
    for t in tasks {
        let r = t.await.expect("join");
        // A loser may be told to retry (ABORTED) but never gets a different answer.
        match r {
            Ok(d) => assert_eq!(d, date(20)),
            Err(e) => assert_eq!(kit::to_status(e).code(), tonic::Code::Aborted),
        }
    }
    assert_eq!(count(&db, "SELECT COUNT(*) FROM bookings").await, 1);
}

#[tokio::test]
async fn a_failed_effect_leaves_no_key_and_no_row() {
    let dir = tempfile::tempdir().expect("tmp");
    let (_c, db) = db(dir.path()).await;
    let req = date(1);
    let r: Result<Date, _> = kit::idempotency::once(&db, "Book", "req-x", &req, |tx| {
        Box::pin(async move {
            sqlx::query("INSERT INTO bookings (id, day) VALUES ('a', 1)")
                .execute(&mut *tx)
                .await?;
            Err(kit::ServiceError::refused("TEST_REFUSED", "no"))
        })
    })
    .await;
    assert!(r.is_err());
    assert_eq!(count(&db, "SELECT COUNT(*) FROM bookings").await, 0);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM idempotency_keys").await, 0);
    book(&db, "req-x", 1)
        .await
        .expect("the same id works once the effect can succeed");
}

#[tokio::test]
async fn committed_events_reach_a_subscriber_and_rolled_back_ones_do_not() {
    let dir = tempfile::tempdir().expect("tmp");
    let (config, db) = db(dir.path()).await;
    let bus = match &config.redis_url {
        Some(url) => kit::bus::EventBus::redis(&url.0, &config.redis_prefix)
            .await
            .expect("redis"),
        None => kit::bus::EventBus::local(),
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let shutdown = tokio_util::sync::CancellationToken::new();
    bus.subscribe(
        "kittest.booked",
        "kittest-consumer",
        Arc::new(move |e: kit::outbox::Event| {
            let tx = tx.clone();
            Box::pin(async move {
                tx.send(e).map_err(|_| anyhow::anyhow!("closed"))?;
                Ok(())
            })
        }),
        shutdown.clone(),
    );
    // Give the Redis consumer group time to exist before publishing.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut t = db.begin().await.expect("tx");
    kit::outbox::append(
        &mut t,
        "kittest.booked",
        "civil.common.v1.Date",
        "k1",
        &date(3),
    )
    .await
    .expect("append");
    t.rollback().await.expect("rollback");
    let mut t = db.begin().await.expect("tx");
    let id = kit::outbox::append(
        &mut t,
        "kittest.booked",
        "civil.common.v1.Date",
        "k2",
        &date(4),
    )
    .await
    .expect("append");
    t.commit().await.expect("commit");

    let relay = kit::outbox::spawn_relay(db.clone(), bus.clone(), "kittest", shutdown.clone());
    let got = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("delivered in time")
        .expect("event");
    assert_eq!(got.id, id);
    assert_eq!(got.decode::<Date>().expect("decodes"), date(4));
    assert!(
        tokio::time::timeout(Duration::from_millis(500), rx.recv())
            .await
            .is_err(),
        "rolled-back event leaked"
    );
    shutdown.cancel();
    relay.await.expect("relay stops");
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM outbox WHERE published_at_ms IS NULL"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn the_inbox_reports_a_redelivery() {
    let dir = tempfile::tempdir().expect("tmp");
    let (_c, db) = db(dir.path()).await;
    let mut t = db.begin().await.expect("tx");
    assert!(
        kit::outbox::first_delivery(&mut t, "c", "e1")
            .await
            .expect("first")
    );
    assert!(
        !kit::outbox::first_delivery(&mut t, "c", "e1")
            .await
            .expect("second")
    );
    t.commit().await.expect("commit");
}

#[tokio::test]
async fn the_audit_chain_holds_under_concurrent_writers() {
    let dir = tempfile::tempdir().expect("tmp");
    let (_c, db) = db(dir.path()).await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let mut t = db.begin().await.expect("tx");
            let e = auth::audit::AuditEntry {
                actor: format!("u{i}"),
                on_behalf_of: String::new(),
                action: "test.write".into(),
                object: format!("obj{i}"),
                outcome: "ok".into(),
                trace_id: String::new(),
                purpose: String::new(),
                ..Default::default()
            };
            auth::audit::append(&mut t, &[e]).await.expect("append");
            t.commit().await.expect("commit");
        }));
    }
    for t in tasks {
        t.await.expect("join");
    }
    assert_eq!(auth::audit::verify(&db.pool).await.expect("intact"), 20);
}

#[tokio::test]
async fn the_cache_serves_what_was_set_until_invalidated() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = kit::testing::test_config(dir.path());
    let cache = match &config.redis_url {
        Some(url) => kit::cache::Cache::with_redis(&url.0, &config.redis_prefix)
            .await
            .expect("redis"),
        None => kit::cache::Cache::local(),
    };
    cache.set("k", b"v".to_vec(), Duration::from_secs(60)).await;
    assert_eq!(cache.get("k").await.as_deref(), Some(&b"v"[..]));
    cache.invalidate("k").await;
    assert_eq!(cache.get("k").await, None);
}
