//! The transactional outbox: a service writes its domain events in the same transaction as the
//! state change, and a relay publishes them to the [`EventBus`](crate::bus::EventBus). Nothing
//! is published that was not committed, and nothing committed is lost when the process dies
//! before publishing: the relay picks it up on the next start.
//!
//! Consumers are idempotent by event id through the inbox table ([`first_delivery`]).

use std::time::Duration;

use prost::Message;
use sqlx::{AnyConnection, Row};
use tokio_util::sync::CancellationToken;

use crate::bus::EventBus;
use crate::store::{Db, Dialect};

/// A domain event as it travels between services.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// UUIDv7: unique and ordered by time.
    pub id: String,
    /// e.g. `funeral.death_registered`.
    pub topic: String,
    /// Fully qualified protobuf message name of the payload.
    pub event_type: String,
    /// The aggregate the event is about (a case id, a blind index): never personal data.
    pub key: String,
    /// Protobuf-encoded payload.
    pub payload: Vec<u8>,
    /// W3C trace context of the transaction that wrote it, so consumers continue the trace.
    pub traceparent: String,
    pub occurred_at_ms: i64,
}

impl Event {
    /// Decodes the payload as `M`.
    pub fn decode<M: Message + Default>(&self) -> Result<M, prost::DecodeError> {
        M::decode(self.payload.as_slice())
    }
}

/// Appends an event inside the caller's transaction; returns its id.
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
        loop {
            let published = match relay_once(&db, &bus).await {
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

/// One relay pass: publish up to 100 events; returns how many.
pub async fn relay_once(db: &Db, bus: &EventBus) -> anyhow::Result<usize> {
    use base64::Engine as _;
    let claim = match db.dialect {
        Dialect::Postgres => {
            "SELECT id, topic, event_type, event_key, payload, traceparent, created_at_ms FROM outbox
             WHERE published_at_ms IS NULL ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED"
        }
        Dialect::Sqlite => {
            "SELECT id, topic, event_type, event_key, payload, traceparent, created_at_ms FROM outbox
             WHERE published_at_ms IS NULL ORDER BY id LIMIT 100"
        }
    };
    let mut tx = db.begin().await?;
    let rows = sqlx::query(claim).fetch_all(&mut *tx).await?;
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
        bus.publish(&event).await?;
        sqlx::query("UPDATE outbox SET published_at_ms = $1 WHERE id = $2")
            .bind(crate::now_ms())
            .bind(&event.id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(rows.len())
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
