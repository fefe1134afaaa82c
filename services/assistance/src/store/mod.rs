//! sqlx queries (portable SQL, one code path for SQLite and PostgreSQL). Each function runs on a
//! connection the caller holds, usually the write's transaction: `applications` (with the
//! close-relative register), `benefits` (with deaths), `dedup` (one household, one open
//! application per program), `rolls`, `payments` (the
//! PaymentRollService service: rolls with maker-checker, lines, accounts, bank returns),
//! `grievances`, `monitoring` and `monitoring_views` (低收入人口动态监测: register, signals,
//! warnings).

mod applications;
mod benefits;
mod dedup;
mod grievances;
pub mod monitoring;
pub mod monitoring_views;
mod payments;
mod rolls;

pub use applications::*;
pub use benefits::*;
pub use dedup::*;
pub use grievances::*;
pub use payments::*;
pub use rolls::*;

use kit::ServiceError;
use kit::pii::Sealer;

pub(crate) fn seal<T: serde::Serialize>(
    sealer: &Sealer,
    value: &T,
) -> Result<String, ServiceError> {
    let json = serde_json::to_string(value)
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("encode record: {e}")))?;
    Ok(sealer.seal(&json))
}

pub(crate) fn open<T: serde::de::DeserializeOwned>(
    sealer: &Sealer,
    sealed: &str,
) -> Result<T, ServiceError> {
    let json = sealer
        .open(sealed)
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("{e}")))?;
    serde_json::from_str(&json)
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("decode record: {e}")))
}

pub(crate) fn stale(what: &str) -> ServiceError {
    ServiceError::Aborted(format!("the {what} changed concurrently; retry"))
}
