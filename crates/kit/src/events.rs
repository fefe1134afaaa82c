//! Domain events as they travel between services, and typed topics.
//!
//! A topic is defined **once**, by the producing service, bound to its protobuf message; the
//! event type written with each event is the message's fully-qualified name (`prost::Name`), so
//! producer and consumer cannot disagree on either string:
//!
//! ```
//! use kit::events::Topic;
//! use contracts::civil::common::v1::Date;
//!
//! // In the producing service (e.g. `funeral::events`), public for consumers to import:
//! pub const BOOKED: Topic<Date> = Topic::new("kittest.booked");
//!
//! assert_eq!(BOOKED.name(), "kittest.booked");
//! assert_eq!(BOOKED.event_type(), "civil.common.v1.Date");
//! ```
//!
//! The producer appends with [`crate::outbox::append_to`]`(&mut tx, &BOOKED, key, &message)`
//! inside its transaction; a consumer subscribes with
//! [`crate::bus::EventBus::subscribe_to`]`(&BOOKED, group, |event, message| ...)` and receives
//! the decoded message.

use std::marker::PhantomData;

use prost::Message;

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

/// Why an event could not be read as a topic's message.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("event {id} is on topic {found}, not {expected}")]
    WrongTopic {
        id: String,
        found: String,
        expected: &'static str,
    },
    #[error("event {id} carries {found}, not {expected}")]
    WrongType {
        id: String,
        found: String,
        expected: String,
    },
    #[error("event {id} does not decode: {source}")]
    Decode {
        id: String,
        source: prost::DecodeError,
    },
}

/// A topic bound to its message type `M`. Cheap to copy; define it as a `pub const`.
pub struct Topic<M> {
    name: &'static str,
    message: PhantomData<fn() -> M>,
}

impl<M> Clone for Topic<M> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M> Copy for Topic<M> {}

impl<M> std::fmt::Debug for Topic<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Topic").field(&self.name).finish()
    }
}

impl<M> Topic<M> {
    /// A topic named `name` (`<producer>.<event>`, e.g. `funeral.death_registered`).
    pub const fn new(name: &'static str) -> Self {
        Self {
            name,
            message: PhantomData,
        }
    }

    /// The topic's name, as stored in the outbox and used for the Redis stream.
    pub const fn name(&self) -> &'static str {
        self.name
    }
}

impl<M: prost::Name + Message + Default> Topic<M> {
    /// The event type written with every event of this topic: `M`'s full protobuf name.
    pub fn event_type(&self) -> String {
        M::full_name()
    }

    /// Reads `event` as this topic's message, checking its topic and type first.
    ///
    /// ```
    /// use kit::events::{Event, Topic};
    /// use contracts::civil::common::v1::Date;
    /// use prost::Message;
    ///
    /// const BOOKED: Topic<Date> = Topic::new("kittest.booked");
    /// let date = Date { year: 2026, month: 5, day: 4 };
    /// let event = Event {
    ///     id: "e1".into(),
    ///     topic: BOOKED.name().into(),
    ///     event_type: BOOKED.event_type(),
    ///     key: "k".into(),
    ///     payload: date.encode_to_vec(),
    ///     traceparent: String::new(),
    ///     occurred_at_ms: 0,
    /// };
    /// assert_eq!(BOOKED.decode(&event).unwrap(), date);
    /// ```
    pub fn decode(&self, event: &Event) -> Result<M, EventError> {
        if event.topic != self.name {
            return Err(EventError::WrongTopic {
                id: event.id.clone(),
                found: event.topic.clone(),
                expected: self.name,
            });
        }
        let expected = self.event_type();
        if event.event_type != expected {
            return Err(EventError::WrongType {
                id: event.id.clone(),
                found: event.event_type.clone(),
                expected,
            });
        }
        event.decode().map_err(|source| EventError::Decode {
            id: event.id.clone(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use contracts::civil::common::v1::{Date, PersonRef};

    const BOOKED: Topic<Date> = Topic::new("kittest.booked");

    fn event(topic: &str, event_type: &str) -> Event {
        Event {
            id: "e1".into(),
            topic: topic.into(),
            event_type: event_type.into(),
            key: "k".into(),
            payload: Date {
                year: 2026,
                month: 1,
                day: 2,
            }
            .encode_to_vec(),
            traceparent: String::new(),
            occurred_at_ms: 0,
        }
    }

    #[test]
    fn the_event_type_is_the_messages_protobuf_name() {
        assert_eq!(BOOKED.event_type(), "civil.common.v1.Date");
    }

    #[test]
    fn an_event_of_another_type_or_topic_is_not_read_as_this_topics_message() {
        let other = Topic::<PersonRef>::new("kittest.booked");
        assert!(matches!(
            other.decode(&event("kittest.booked", "civil.common.v1.Date")),
            Err(EventError::WrongType { .. })
        ));
        assert!(matches!(
            BOOKED.decode(&event("kittest.other", "civil.common.v1.Date")),
            Err(EventError::WrongTopic { .. })
        ));
        assert!(
            BOOKED
                .decode(&event("kittest.booked", "civil.common.v1.Date"))
                .is_ok()
        );
    }
}
