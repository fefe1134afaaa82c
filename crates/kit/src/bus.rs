//! The event bus between services: Redis Streams with consumer groups in production
//! (`CIVIL_REDIS_URL`), an in-process broadcast in the embedded default.
//!
//! Delivery is at least once on Redis (un-acknowledged entries are read again after a restart);
//! handlers deduplicate with [`crate::outbox::first_delivery`]. The in-process bus lives and dies
//! with the process, which is also where its publishers and consumers live.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use redis::AsyncCommands;
use redis::streams::{StreamReadOptions, StreamReadReply};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::outbox::Event;

pub type Handler = Arc<dyn Fn(Event) -> BoxFuture<'static, anyhow::Result<()>> + Send + Sync>;

#[derive(Clone)]
pub enum EventBus {
    Local(Arc<LocalBus>),
    Redis(Arc<RedisBus>),
}

impl std::fmt::Debug for EventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EventBus::Local(_) => f.write_str("EventBus::Local"),
            EventBus::Redis(_) => f.write_str("EventBus::Redis"),
        }
    }
}

#[derive(Default)]
pub struct LocalBus {
    topics: Mutex<HashMap<String, broadcast::Sender<Event>>>,
}

impl LocalBus {
    fn sender(&self, topic: &str) -> broadcast::Sender<Event> {
        let mut topics = self.topics.lock().unwrap_or_else(|p| p.into_inner());
        topics
            .entry(topic.to_owned())
            .or_insert_with(|| broadcast::channel(4096).0)
            .clone()
    }
}

pub struct RedisBus {
    client: redis::Client,
    publisher: redis::aio::ConnectionManager,
    prefix: String,
}

impl EventBus {
    pub fn local() -> Self {
        EventBus::Local(Arc::new(LocalBus::default()))
    }

    pub async fn redis(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        let publisher = client.get_connection_manager().await?;
        Ok(EventBus::Redis(Arc::new(RedisBus {
            client,
            publisher,
            prefix: prefix.to_owned(),
        })))
    }

    pub async fn publish(&self, event: &Event) -> anyhow::Result<()> {
        match self {
            EventBus::Local(bus) => {
                // No subscriber yet is not an error: the relay keeps no memory of it either way.
                let _ = bus.sender(&event.topic).send(event.clone());
                Ok(())
            }
            EventBus::Redis(bus) => {
                use base64::Engine as _;
                let key = format!("{}:events:{}", bus.prefix, event.topic);
                let mut conn = bus.publisher.clone();
                let _: String = redis::cmd("XADD")
                    .arg(&key)
                    .arg("MAXLEN")
                    .arg("~")
                    .arg(1_000_000)
                    .arg("*")
                    .arg("id")
                    .arg(&event.id)
                    .arg("type")
                    .arg(&event.event_type)
                    .arg("key")
                    .arg(&event.key)
                    .arg("payload")
                    .arg(base64::engine::general_purpose::STANDARD.encode(&event.payload))
                    .arg("traceparent")
                    .arg(&event.traceparent)
                    .arg("at")
                    .arg(event.occurred_at_ms)
                    .query_async(&mut conn)
                    .await?;
                Ok(())
            }
        }
    }

    /// Calls `handler` for every event on `topic`, as member of consumer `group`, until
    /// `shutdown`. A failed handler is retried (with back-off) before the event is acknowledged.
    pub fn subscribe(
        &self,
        topic: &str,
        group: &str,
        handler: Handler,
        shutdown: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        match self {
            EventBus::Local(bus) => {
                let mut rx = bus.sender(topic).subscribe();
                let topic = topic.to_owned();
                tokio::spawn(async move {
                    loop {
                        let event = tokio::select! {
                            _ = shutdown.cancelled() => break,
                            r = rx.recv() => match r {
                                Ok(e) => e,
                                Err(broadcast::error::RecvError::Lagged(n)) => {
                                    tracing::error!(topic, missed = n, "in-process bus lagged; events missed");
                                    continue;
                                }
                                Err(broadcast::error::RecvError::Closed) => break,
                            },
                        };
                        handle_with_retry(&handler, event, &shutdown).await;
                    }
                })
            }
            EventBus::Redis(bus) => {
                let bus = bus.clone();
                let topic = topic.to_owned();
                let group = group.to_owned();
                tokio::spawn(async move {
                    while !shutdown.is_cancelled() {
                        if let Err(e) =
                            consume_redis(&bus, &topic, &group, &handler, &shutdown).await
                        {
                            tracing::warn!(error = %e, topic, "redis consumer failed; reconnecting");
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    }
                })
            }
        }
    }
}

async fn handle_with_retry(handler: &Handler, event: Event, shutdown: &CancellationToken) -> bool {
    let mut delay = Duration::from_millis(50);
    for attempt in 1..=8 {
        match handler(event.clone()).await {
            Ok(()) => return true,
            Err(e) => {
                tracing::warn!(error = %e, attempt, topic = %event.topic, event_id = %event.id, "event handler failed");
                tokio::select! {
                    _ = shutdown.cancelled() => return false,
                    _ = tokio::time::sleep(delay) => {}
                }
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
    false
}

async fn consume_redis(
    bus: &RedisBus,
    topic: &str,
    group: &str,
    handler: &Handler,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    use base64::Engine as _;
    let key = format!("{}:events:{topic}", bus.prefix);
    // A dedicated connection: XREADGROUP BLOCK would hold up every other command on a shared one.
    let mut conn = bus.client.get_multiplexed_async_connection().await?;
    let created: redis::RedisResult<()> = conn.xgroup_create_mkstream(&key, group, "0").await;
    if let Err(e) = created
        && e.code() != Some("BUSYGROUP")
    {
        return Err(e.into());
    }
    let consumer = format!("{}-{}", group, std::process::id());
    // First our own un-acknowledged entries (a previous run died mid-handling), then new ones.
    let mut cursor = "0".to_owned();
    while !shutdown.is_cancelled() {
        let opts = StreamReadOptions::default()
            .group(group, &consumer)
            .count(64)
            .block(200);
        let reply: StreamReadReply = conn.xread_options(&[&key], &[&cursor], &opts).await?;
        let ids: Vec<_> = reply.keys.into_iter().flat_map(|k| k.ids).collect();
        if ids.is_empty() && cursor == "0" {
            cursor = ">".into();
            continue;
        }
        for entry in ids {
            let field = |name: &str| entry.get::<String>(name).unwrap_or_default();
            let event = Event {
                id: field("id"),
                topic: topic.to_owned(),
                event_type: field("type"),
                key: field("key"),
                payload: base64::engine::general_purpose::STANDARD
                    .decode(field("payload"))
                    .unwrap_or_default(),
                traceparent: field("traceparent"),
                occurred_at_ms: field("at").parse().unwrap_or(0),
            };
            if handle_with_retry(handler, event, shutdown).await {
                let _: i64 = conn.xack(&key, group, &[&entry.id]).await?;
            } else {
                // Left pending: re-read from our pending list on the next pass.
                cursor = "0".into();
            }
        }
    }
    Ok(())
}
