//! The event bus between services: Redis Streams with consumer groups in production
//! (`CIVIL_REDIS_URL`), an in-process bus with the same semantics in the embedded default.
//!
//! Delivery is at least once; handlers deduplicate with [`crate::outbox::first_delivery`].
//!
//! - **Redis**: an event is stored in the topic's stream by [`EventBus::publish`]
//!   ([`Published::Stored`]); each consumer group reads it from there, also when the group is
//!   created later (groups start at the beginning of the stream) or restarts (un-acknowledged
//!   entries are read again).
//! - **In-process**: the bus keeps each event, per topic, until every consumer group subscribed
//!   to the topic has handled it ([`Published::Queued`]); a group that subscribes after the
//!   event was published still receives it, and nothing is dropped when a consumer is slow.
//!   [`EventBus::delivered`] tells the publisher (the outbox relay) which events every group has
//!   handled: only those may be marked published, so an event held in memory when the process
//!   dies is published again on the next start. Once every service is mounted
//!   ([`EventBus::subscriptions_complete`]), an event on a topic nobody in this process
//!   consumes counts as delivered.
//!
//! This module knows events ([`crate::events`]), not the outbox: the outbox relay uses the bus,
//! never the other way round.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use backon::BackoffBuilder;
use futures::future::BoxFuture;
use redis::AsyncCommands;
use redis::streams::{StreamReadOptions, StreamReadReply};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::events::{Event, Topic};

pub type Handler = Arc<dyn Fn(Event) -> BoxFuture<'static, anyhow::Result<()>> + Send + Sync>;

/// Events an in-process topic keeps at most; past it publishing fails (the relay retries later)
/// instead of growing without bound behind a stuck consumer.
pub const LOCAL_RETAINED_MAX: usize = 100_000;

/// Without [`EventBus::subscriptions_complete`], the in-process bus assumes every consumer has
/// subscribed this long after it was created.
const SUBSCRIPTIONS_GRACE: Duration = Duration::from_secs(60);

/// What publishing achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Published {
    /// Stored durably (a Redis stream): consumers get it even after a restart.
    Stored,
    /// Held in memory until every consumer group has handled it: ask [`EventBus::delivered`].
    Queued,
}

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

/// The in-process bus: per topic, a log of events kept until every group has handled them.
pub struct LocalBus {
    state: Mutex<LocalState>,
    created: Instant,
    complete: AtomicBool,
}

#[derive(Default)]
struct LocalState {
    topics: HashMap<String, Stream>,
    /// Ids handled by every group, not yet reported through [`EventBus::delivered`].
    delivered: HashSet<String>,
}

struct Stream {
    /// Sequence number of `log[0]`.
    first: u64,
    log: VecDeque<Event>,
    ids: HashSet<String>,
    groups: HashMap<String, Group>,
    /// Latest sequence number published, to wake consumers.
    wake: watch::Sender<u64>,
}

#[derive(Default)]
struct Group {
    /// Next sequence number to hand out.
    next: u64,
    /// Handed out, not yet handled.
    in_flight: BTreeSet<u64>,
}

impl Default for LocalBus {
    fn default() -> Self {
        Self {
            state: Mutex::default(),
            created: Instant::now(),
            complete: AtomicBool::new(false),
        }
    }
}

impl Stream {
    fn new() -> Self {
        Self {
            first: 0,
            log: VecDeque::new(),
            ids: HashSet::new(),
            groups: HashMap::new(),
            wake: watch::channel(0).0,
        }
    }

    fn end(&self) -> u64 {
        self.first + self.log.len() as u64
    }

    /// Drops the events every group has handled (all of them when no group will ever come),
    /// recording their ids as delivered.
    fn trim(&mut self, complete: bool, delivered: &mut HashSet<String>) {
        let low = if self.groups.is_empty() {
            if complete { self.end() } else { self.first }
        } else {
            self.groups
                .values()
                .map(|g| g.in_flight.first().copied().unwrap_or(g.next))
                .min()
                .unwrap_or(self.first)
        };
        while self.first < low {
            let Some(event) = self.log.pop_front() else {
                break;
            };
            self.ids.remove(&event.id);
            delivered.insert(event.id);
            self.first += 1;
        }
    }
}

impl LocalBus {
    fn lock(&self) -> std::sync::MutexGuard<'_, LocalState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn complete(&self) -> bool {
        self.complete.load(Ordering::SeqCst) || self.created.elapsed() >= SUBSCRIPTIONS_GRACE
    }

    fn publish(&self, event: &Event) -> anyhow::Result<()> {
        let complete = self.complete();
        let mut state = self.lock();
        let LocalState { topics, delivered } = &mut *state;
        let stream = topics
            .entry(event.topic.clone())
            .or_insert_with(Stream::new);
        if stream.ids.contains(&event.id) || delivered.contains(&event.id) {
            return Ok(()); // handed over again before it was confirmed: already here
        }
        anyhow::ensure!(
            stream.log.len() < LOCAL_RETAINED_MAX,
            "in-process topic {} holds {LOCAL_RETAINED_MAX} undelivered events",
            event.topic
        );
        stream.ids.insert(event.id.clone());
        stream.log.push_back(event.clone());
        stream.trim(complete, delivered);
        stream.wake.send_replace(stream.end());
        Ok(())
    }

    fn join(&self, topic: &str, group: &str) -> watch::Receiver<u64> {
        let mut state = self.lock();
        let stream = state
            .topics
            .entry(topic.to_owned())
            .or_insert_with(Stream::new);
        let first = stream.first;
        stream
            .groups
            .entry(group.to_owned())
            .or_insert_with(|| Group {
                next: first,
                in_flight: BTreeSet::new(),
            });
        stream.wake.subscribe()
    }

    fn claim(&self, topic: &str, group: &str) -> Option<(u64, Event)> {
        let mut state = self.lock();
        let stream = state.topics.get_mut(topic)?;
        let end = stream.end();
        let first = stream.first;
        let g = stream.groups.get_mut(group)?;
        if g.next >= end {
            return None;
        }
        let seq = g.next.max(first);
        g.next = seq + 1;
        g.in_flight.insert(seq);
        let index = usize::try_from(seq - first).ok()?;
        stream.log.get(index).cloned().map(|e| (seq, e))
    }

    fn ack(&self, topic: &str, group: &str, seq: u64) {
        let complete = self.complete();
        let mut state = self.lock();
        let LocalState { topics, delivered } = &mut *state;
        if let Some(stream) = topics.get_mut(topic) {
            if let Some(g) = stream.groups.get_mut(group) {
                g.in_flight.remove(&seq);
            }
            stream.trim(complete, delivered);
        }
    }

    fn delivered(&self, ids: &[String]) -> Vec<String> {
        let complete = self.complete();
        let mut state = self.lock();
        let LocalState { topics, delivered } = &mut *state;
        if complete {
            for stream in topics.values_mut() {
                stream.trim(true, delivered);
            }
        }
        ids.iter()
            .filter(|id| delivered.remove(id.as_str()))
            .cloned()
            .collect()
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
        // Bounded, so a Redis outage fails a relay pass (retried on the next) instead of
        // hanging it.
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(2)));
        let publisher = client.get_connection_manager_with_config(config).await?;
        Ok(EventBus::Redis(Arc::new(RedisBus {
            client,
            publisher,
            prefix: prefix.to_owned(),
        })))
    }

    /// Hands `event` to the bus. See [`Published`] for what the caller may then assume.
    pub async fn publish(&self, event: &Event) -> anyhow::Result<Published> {
        match self {
            EventBus::Local(bus) => {
                bus.publish(event)?;
                Ok(Published::Queued)
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
                Ok(Published::Stored)
            }
        }
    }

    /// Of the [`Published::Queued`] events `ids`, those every consumer has handled since they
    /// were last asked about (each id is reported once). Redis stores events durably: all.
    pub fn delivered(&self, ids: &[String]) -> Vec<String> {
        match self {
            EventBus::Local(bus) => bus.delivered(ids),
            EventBus::Redis(_) => ids.to_vec(),
        }
    }

    /// Every consumer of this process has subscribed (the server calls it once all services are
    /// mounted): from now on, an event on a topic without consumers is delivered at once.
    pub fn subscriptions_complete(&self) {
        if let EventBus::Local(bus) = self {
            bus.complete.store(true, Ordering::SeqCst);
        }
    }

    /// Calls `handler` with every event of `topic` decoded as its message, as member of
    /// consumer `group`, until `shutdown`. An event that is not the topic's message is logged
    /// and skipped (retrying cannot fix it).
    pub fn subscribe_to<M, F, Fut>(
        &self,
        topic: &Topic<M>,
        group: &str,
        handler: F,
        shutdown: CancellationToken,
    ) -> tokio::task::JoinHandle<()>
    where
        M: prost::Name + prost::Message + Default + 'static,
        F: Fn(Event, M) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let typed = *topic;
        let handler = Arc::new(handler);
        let untyped: Handler = Arc::new(move |event: Event| {
            let handler = handler.clone();
            Box::pin(async move {
                match typed.decode(&event) {
                    Ok(message) => handler(event, message).await,
                    Err(e) => {
                        tracing::error!(error = %e, "event skipped");
                        Ok(())
                    }
                }
            })
        });
        self.subscribe(topic.name(), group, untyped, shutdown)
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
                let bus = bus.clone();
                let topic = topic.to_owned();
                let group = group.to_owned();
                let mut wake = bus.join(&topic, &group);
                tokio::spawn(async move {
                    loop {
                        while let Some((seq, event)) = bus.claim(&topic, &group) {
                            // Retried until handled: the event stays with the group meanwhile.
                            if !handle_with_retry(&handler, event, &shutdown, None).await {
                                return;
                            }
                            bus.ack(&topic, &group, seq);
                        }
                        tokio::select! {
                            _ = shutdown.cancelled() => break,
                            changed = wake.changed() => if changed.is_err() { break },
                        }
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

/// Calls `handler` until it succeeds, backing off exponentially (50 ms to 5 s, with jitter),
/// at most `attempts` times when given. False when it gave up or `shutdown` came first.
async fn handle_with_retry(
    handler: &Handler,
    event: Event,
    shutdown: &CancellationToken,
    attempts: Option<usize>,
) -> bool {
    let builder = backon::ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(50))
        .with_max_delay(Duration::from_secs(5))
        .with_jitter();
    let mut delays = match attempts {
        Some(n) => builder.with_max_times(n.saturating_sub(1)),
        None => builder.without_max_times(),
    }
    .build();
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let Err(e) = handler(event.clone()).await else {
            return true;
        };
        tracing::warn!(error = %e, attempt, topic = %event.topic, event_id = %event.id, "event handler failed");
        let Some(delay) = delays.next() else {
            return false;
        };
        tokio::select! {
            _ = shutdown.cancelled() => return false,
            _ = tokio::time::sleep(delay) => {}
        }
    }
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
            if handle_with_retry(handler, event, shutdown, Some(8)).await {
                let _: i64 = conn.xack(&key, group, &[&entry.id]).await?;
            } else {
                // Left pending: re-read from our pending list on the next pass.
                cursor = "0".into();
            }
        }
    }
    Ok(())
}
