//! No event is lost between the outbox and its consumer: an event published before its consumer
//! subscribes is delivered, a row is marked published only once a consumer has it, and a
//! restart hands an undelivered row over again. Typed topics carry their message type.
//! SQLite always, PostgreSQL when `CIVIL_TEST_PG` is set; the bus is Redis when
//! `CIVIL_TEST_REDIS` is set, else in-process.

use std::sync::Arc;
use std::time::Duration;

use contracts::civil::common::v1::Date;
use kit::bus::EventBus;
use kit::events::{Event, Topic};
use kit::store::Db;
use sqlx::Row;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

static NO_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./tests/migrations");

const BOOKED: Topic<Date> = Topic::new("kittest.booked");

async fn setup(dir: &std::path::Path) -> (kit::config::Config, Db) {
    let config = kit::testing::test_config(dir);
    let db = Db::open(&config, "kittest", &NO_MIGRATIONS)
        .await
        .expect("store opens");
    (config, db)
}

async fn bus(config: &kit::config::Config) -> EventBus {
    match &config.redis_url {
        Some(url) => EventBus::redis(&url.0, &config.redis_prefix)
            .await
            .expect("redis"),
        None => EventBus::local(),
    }
}

fn date(day: i32) -> Date {
    Date {
        year: 2026,
        month: 5,
        day,
    }
}

async fn append(db: &Db, day: i32) -> String {
    let mut tx = db.begin().await.expect("tx");
    let id = kit::outbox::append_to(&mut tx, &BOOKED, "k", &date(day))
        .await
        .expect("append");
    tx.commit().await.expect("commit");
    id
}

async fn unpublished(db: &Db) -> i64 {
    sqlx::query("SELECT COUNT(*) FROM outbox WHERE published_at_ms IS NULL")
        .fetch_one(&db.pool)
        .await
        .expect("count")
        .try_get::<i64, _>(0)
        .expect("i64")
}

fn subscribe(
    bus: &EventBus,
    shutdown: &CancellationToken,
) -> mpsc::UnboundedReceiver<(Event, Date)> {
    let (tx, rx) = mpsc::unbounded_channel();
    bus.subscribe_to(
        &BOOKED,
        "kittest-consumer",
        move |event, message: Date| {
            let tx = tx.clone();
            async move {
                tx.send((event, message))
                    .map_err(|_| anyhow::anyhow!("closed"))
            }
        },
        shutdown.clone(),
    );
    rx
}

async fn next(rx: &mut mpsc::UnboundedReceiver<(Event, Date)>) -> (Event, Date) {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("delivered in time")
        .expect("event")
}

#[tokio::test]
async fn an_event_published_before_its_consumer_subscribes_is_delivered() {
    let dir = tempfile::tempdir().expect("tmp");
    let (config, db) = setup(dir.path()).await;
    let bus = bus(&config).await;
    let id = append(&db, 4).await;
    kit::outbox::relay_once(&db, &bus).await.expect("relay");

    let shutdown = CancellationToken::new();
    let mut rx = subscribe(&bus, &shutdown);
    let (event, message) = next(&mut rx).await;
    assert_eq!(event.id, id);
    assert_eq!(event.event_type, "civil.common.v1.Date");
    assert_eq!(message, date(4));
    shutdown.cancel();
}

#[tokio::test]
async fn an_outbox_row_is_marked_published_only_once_a_consumer_has_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let (config, db) = setup(dir.path()).await;
    if config.redis_url.is_some() {
        // A Redis stream holds the event durably: marking it published at once is right there.
        return;
    }
    let bus = EventBus::local();
    append(&db, 5).await;
    let relay = kit::outbox::Relay::new(db.clone(), bus.clone());
    relay.pass().await.expect("pass");
    relay.pass().await.expect("pass");
    assert_eq!(unpublished(&db).await, 1, "nobody has the event yet");

    let shutdown = CancellationToken::new();
    let mut rx = subscribe(&bus, &shutdown);
    next(&mut rx).await;
    for _ in 0..50 {
        relay.pass().await.expect("pass");
        if unpublished(&db).await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(unpublished(&db).await, 0, "confirmed once handled");
    shutdown.cancel();
}

#[tokio::test]
async fn a_restart_delivers_a_row_the_previous_run_never_delivered() {
    let dir = tempfile::tempdir().expect("tmp");
    let (config, db) = setup(dir.path()).await;
    let id = append(&db, 6).await;
    {
        // The first run hands the event to its bus and dies before any consumer subscribed.
        let first = bus(&config).await;
        kit::outbox::relay_once(&db, &first).await.expect("relay");
    }
    // A restart takes longer than a millisecond; the relay tells runs apart by start time.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let second = bus(&config).await;
    let shutdown = CancellationToken::new();
    let mut rx = subscribe(&second, &shutdown);
    let relay = kit::outbox::spawn_relay(db.clone(), second.clone(), "kittest", shutdown.clone());
    let (event, _) = next(&mut rx).await;
    assert_eq!(event.id, id);
    shutdown.cancel();
    relay.await.expect("relay stops");
}

#[tokio::test]
async fn a_slow_consumer_misses_nothing_of_a_burst() {
    let bus = EventBus::local();
    let shutdown = CancellationToken::new();
    let (tx, mut rx) = mpsc::unbounded_channel();
    bus.subscribe(
        "kittest.burst",
        "slow",
        Arc::new(move |e: Event| {
            let tx = tx.clone();
            Box::pin(async move {
                tokio::task::yield_now().await;
                tx.send(e.id).map_err(|_| anyhow::anyhow!("closed"))
            })
        }),
        shutdown.clone(),
    );
    // More than the old broadcast channel held (4,096) before a consumer could keep up.
    for i in 0..6000 {
        let event = Event {
            id: format!("e{i:05}"),
            topic: "kittest.burst".into(),
            event_type: "t".into(),
            key: String::new(),
            payload: Vec::new(),
            traceparent: String::new(),
            occurred_at_ms: 0,
        };
        bus.publish(&event).await.expect("publish");
    }
    let mut got = Vec::new();
    while got.len() < 6000 {
        got.push(
            tokio::time::timeout(Duration::from_secs(10), rx.recv())
                .await
                .expect("in time")
                .expect("id"),
        );
    }
    assert_eq!(got.first().map(String::as_str), Some("e00000"));
    assert_eq!(got.last().map(String::as_str), Some("e05999"));
    shutdown.cancel();
}
