//! What every civil service needs once, so that seven services behave alike.
//!
//! - [`config`]: `CIVIL_*` environment variables over an optional TOML file; defaults that run.
//! - [`telemetry`]: tracing, OTLP export, W3C trace context in and out, RED metrics.
//! - [`store`]: one sqlx `Any` code path for SQLite (embedded default) and PostgreSQL.
//! - [`idempotency`]: request ids (AIP-155) stored with the effect, in the same transaction.
//! - [`outbox`] and [`bus`]: domain events written with the state change, relayed to Redis
//!   Streams or an in-process bus.
//! - [`cache`]: in-process cache, backed by Redis when configured.
//! - [`events`]: the event type, and typed topics bound to their protobuf message.
//! - [`paging`]: page sizes and opaque, filter-bound page tokens (AIP-158).
//! - [`error`]: the domain error type and its google.rpc rich status.
//! - [`mask`]: the response mask of caller profiles (fields a calling system may not see).
//! - [`pii`]: identity numbers sealed at rest, with a blind index for lookups.
//! - [`server`]: the one server builder: health, reflection, gRPC-Web, auth, limits, drain.
//! - [`testing`]: a suite on port 0 with a fresh store, for tests.

pub mod audit_trail;
pub mod audited;
pub mod bus;
pub mod cache;
pub mod citizen_view;
pub mod clock;
pub mod config;
pub mod context;
pub mod error;
pub mod events;
pub mod idempotency;
pub mod mask;
pub mod outbox;
pub mod paging;
pub mod pii;
pub mod rpc;
pub mod server;
pub mod store;
pub mod telemetry;
pub mod testing;
pub mod trust;

pub use context::{Mounter, ServiceContext, ServiceDef};
pub use error::{ServiceError, Violations, to_status};

/// Milliseconds since the Unix epoch: the portable representation of instants in storage.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Today's date in China Standard Time (UTC+8): legal dates are local calendar dates.
pub fn today_cst() -> time::Date {
    (time::OffsetDateTime::now_utc() + time::Duration::hours(8)).date()
}
