//! The transactional outbox: a service writes its domain events in the same transaction as the
//! state change, and a relay publishes them to the [`EventBus`](crate::bus::EventBus). Nothing
//! is published that was not committed, and nothing committed is lost when the process dies
//! before a consumer has it: a row is marked published only once the bus holds the event
//! durably (a Redis stream) or, on the in-process bus, once every consumer has handled it; the
//! relay hands any other row to the bus again on the next start.
//!
//! Producers append through a typed topic ([`append_to`], see [`crate::events`]); the string
//! form [`append`] stays until every service has moved. Consumers are idempotent by event id
//! through the inbox table ([`first_delivery`]).

use std::time::Duration;

use prost::Message;
use sqlx::{AnyConnection, Row};
use tokio_util::sync::CancellationToken;

use crate::bus::{EventBus, Published};
pub use crate::events::Event;
use crate::events::Topic;
use crate::store::{Db, Dialect};

/// Appends an event of `topic` inside the caller's transaction; returns its id. The event type
/// is the message's protobuf name.
///
/// ```ignore
/// // funeral, in RegisterDeath's transaction:
/// kit::outbox::append_to(&mut tx, &funeral::events::DEATH_REGISTERED, &case_id, &message).await?;
/// ```
pub async fn append_to<M>(
    conn: &mut AnyConnection,
    topic: &Topic<M>,
    key: &str,
    payload: &M,
) -> Result<String, sqlx::Error>
where
    M: prost::Name + Message + Default,
{
    append(conn, topic.name(), &topic.event_type(), key, payload).await
}

/// Appends an event inside the caller's transaction; returns its id. Prefer [`append_to`] with
/// the producer's [`Topic`]: this string form lets topic and type drift apart.
pub async fn append<M: Message>(
    conn: &mut AnyConnection,
    topic: &str,
    event_type: &str,
    key: &str,
    payload: &M,
) -> Result<String, sqlx::Error> {
    use base64::Engine as _;
    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO outbox (id, topic, event_type, event_key, payload, traceparent, created_at_ms, published_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)",
    )
    .bind(&id)
    .bind(topic)
    .bind(event_type)
    .bind(key)
    .bind(base64::engine::general_purpose::STANDARD.encode(payload.encode_to_vec()))
    .bind(crate::telemetry::current_traceparent())
    .bind(crate::now_ms())
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

/// Records that `consumer` handled `event_id`, inside the consumer's own transaction.
/// Returns false when it had already been handled (a redelivery): skip the effect.
pub async fn first_delivery(
    conn: &mut AnyConnection,
    consumer: &str,
    event_id: &str,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query("INSERT INTO inbox (consumer, event_id, processed_at_ms) VALUES ($1, $2, $3) ON CONFLICT (consumer, event_id) DO NOTHING")
        .bind(consumer)
        .bind(event_id)
        .bind(crate::now_ms())
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(n == 1)
}

/// Publishes committed events until `shutdown`. Several replicas may run it against
/// PostgreSQL: rows are claimed with `FOR UPDATE SKIP LOCKED`.
pub fn spawn_relay(
    db: Db,
    bus: EventBus,
    service: &'static str,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let relay = Relay::new(db.clone(), bus);
        loop {
            let published = match relay.pass().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, service, "outbox relay pass failed");
                    0
                }
            };
            if let Ok(lag) = oldest_unpublished_age_ms(&db).await {
                metrics::gauge!("civil_outbox_lag_seconds", "service" => service)
                    .set(lag as f64 / 1000.0);
            }
            let pause = if published > 0 {
                Duration::from_millis(5)
            } else {
                Duration::from_millis(100)
            };
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(pause) => {}
            }
        }
    })
}

/// One relay pass with a fresh relay: hands every unpublished row to the bus (again); returns
/// how many rows it handed over or confirmed.
pub async fn relay_once(db: &Db, bus: &EventBus) -> anyhow::Result<usize> {
    Relay::new(db.clone(), bus.clone()).pass().await
}

/// The relay of one process run. A row handed to a bus that only queues it
/// ([`Published::Queued`]) carries `handed_at_ms`; it is marked published when the bus reports
/// it delivered, and handed over again by the next run (a restart) if that never came.
pub struct Relay {
    db: Db,
    bus: EventBus,
    run_started_ms: i64,
}

impl Relay {
    pub fn new(db: Db, bus: EventBus) -> Self {
        Self {
            db,
            bus,
            run_started_ms: crate::now_ms(),
        }
    }

    /// Confirms what consumers have handled, then hands over up to 100 new rows.
    pub async fn pass(&self) -> anyhow::Result<usize> {
        let confirmed = self.confirm().await?;
        let handed = self.hand_over().await?;
        Ok(confirmed + handed)
    }

    /// Marks published the rows this run queued and every consumer has since handled.
    async fn confirm(&self) -> anyhow::Result<usize> {
        let rows = sqlx::query(
            "SELECT id FROM outbox WHERE published_at_ms IS NULL AND handed_at_ms >= $1
             ORDER BY id LIMIT 1000",
        )
        .bind(self.run_started_ms)
        .fetch_all(&self.db.pool)
        .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let ids = rows
            .iter()
            .map(|r| r.try_get::<String, _>("id"))
            .collect::<Result<Vec<_>, _>>()?;
        let delivered = self.bus.delivered(&ids);
        if delivered.is_empty() {
            return Ok(0);
        }
        let mut tx = self.db.begin().await?;
        for id in &delivered {
            sqlx::query("UPDATE outbox SET published_at_ms = $1 WHERE id = $2")
                .bind(crate::now_ms())
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(delivered.len())
    }

    /// Hands unpublished rows not yet handed over in this run to the bus.
    async fn hand_over(&self) -> anyhow::Result<usize> {
        use base64::Engine as _;
        let claim = match self.db.dialect {
            Dialect::Postgres => {
                "SELECT id, topic, event_type, event_key, payload, traceparent, created_at_ms FROM outbox
                 WHERE published_at_ms IS NULL AND (handed_at_ms IS NULL OR handed_at_ms < $1)
                 ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED"
            }
            Dialect::Sqlite => {
                "SELECT id, topic, event_type, event_key, payload, traceparent, created_at_ms FROM outbox
                 WHERE published_at_ms IS NULL AND (handed_at_ms IS NULL OR handed_at_ms < $1)
                 ORDER BY id LIMIT 100"
            }
        };
        let mut tx = self.db.begin().await?;
        let rows = sqlx::query(claim)
            .bind(self.run_started_ms)
            .fetch_all(&mut *tx)
            .await?;
        for row in &rows {
            let payload: String = row.try_get("payload")?;
            let event = Event {
                id: row.try_get("id")?,
                topic: row.try_get("topic")?,
                event_type: row.try_get("event_type")?,
                key: row.try_get("event_key")?,
                payload: base64::engine::general_purpose::STANDARD.decode(payload)?,
                traceparent: row.try_get("traceparent")?,
                occurred_at_ms: row.try_get("created_at_ms")?,
            };
            // Publish before marking: a crash in between republishes (at-least-once); consumers
            // deduplicate by event id.
            let column = match self.bus.publish(&event).await? {
                Published::Stored => "published_at_ms",
                Published::Queued => "handed_at_ms",
            };
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE outbox SET {column} = $1 WHERE id = $2"
            )))
            .bind(crate::now_ms().max(self.run_started_ms))
            .bind(&event.id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(rows.len())
    }
}

async fn oldest_unpublished_age_ms(db: &Db) -> anyhow::Result<i64> {
    let row = sqlx::query(
        "SELECT MIN(created_at_ms) AS oldest FROM outbox WHERE published_at_ms IS NULL",
    )
    .fetch_one(&db.pool)
    .await?;
    let oldest: Option<i64> = row.try_get("oldest")?;
    Ok(oldest.map(|t| (crate::now_ms() - t).max(0)).unwrap_or(0))
}
