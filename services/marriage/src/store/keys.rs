//! Idempotency keys in batches, for the booking batcher. Same table and the same semantics as
//! `kit::idempotency::once` (fingerprint = hex SHA-256 of the encoded request, response = base64
//! of the encoded response, key inserted before the effect and kept only when the effect
//! commits), so a request id first seen on one path is recognised on the other.

use std::collections::{HashMap, HashSet};

use base64::Engine as _;
use prost::Message;
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};

use super::Result;

/// The fingerprint `kit::idempotency` stores for a request.
pub fn fingerprint<M: Message>(request: &M) -> String {
    hex::encode(Sha256::digest(request.encode_to_vec()))
}

/// A response as `kit::idempotency` stores it.
pub fn encode_response<M: Message>(response: &M) -> String {
    base64::engine::general_purpose::STANDARD.encode(response.encode_to_vec())
}

/// A stored response; `None` when it does not decode (a corrupted row).
pub fn decode_response<M: Message + Default>(stored: &str) -> Option<M> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(stored)
        .ok()?;
    M::decode(bytes.as_slice()).ok()
}

/// A key to claim, with the response it will answer once the effect commits.
pub struct NewKey<'a> {
    pub request_id: &'a str,
    pub fingerprint: &'a str,
    pub response: &'a str,
}

/// A key already used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub fingerprint: String,
    pub response: String,
}

/// `($1, $2, ..), ($k+1, ..)`: `rows` tuples of `cols` numbered parameters from `$first`.
pub(crate) fn placeholders(first: usize, rows: usize, cols: usize) -> String {
    (0..rows)
        .map(|r| {
            let params: Vec<String> = (0..cols)
                .map(|c| format!("${}", first + r * cols + c))
                .collect();
            format!("({})", params.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Inserts the keys not used yet; returns the request ids this call claimed. On PostgreSQL a
/// key inserted by a transaction still open elsewhere makes this wait for it, exactly as
/// `kit::idempotency` does; then the key counts as used (or as free, if that one rolled back).
pub async fn claim_keys(
    conn: &mut AnyConnection,
    rpc: &str,
    keys: &[NewKey<'_>],
    now_ms: i64,
) -> Result<HashSet<String>> {
    if keys.is_empty() {
        return Ok(HashSet::new());
    }
    let sql = format!(
        "INSERT INTO idempotency_keys (rpc, request_id, fingerprint, response, created_at_ms) VALUES {}
         ON CONFLICT (rpc, request_id) DO NOTHING RETURNING request_id",
        placeholders(1, keys.len(), 5)
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for key in keys {
        query = query
            .bind(rpc)
            .bind(key.request_id)
            .bind(key.fingerprint)
            .bind(key.response)
            .bind(now_ms);
    }
    let rows = query.fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|r| r.try_get::<String, _>("request_id"))
        .collect()
}

/// The stored keys among `request_ids`.
pub async fn stored_keys(
    conn: &mut AnyConnection,
    rpc: &str,
    request_ids: &[&str],
) -> Result<HashMap<String, StoredKey>> {
    if request_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let list: Vec<String> = (0..request_ids.len())
        .map(|i| format!("${}", i + 2))
        .collect();
    let sql = format!(
        "SELECT request_id, fingerprint, response FROM idempotency_keys WHERE rpc = $1 AND request_id IN ({})",
        list.join(", ")
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(rpc);
    for id in request_ids {
        query = query.bind(*id);
    }
    let rows = query.fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("request_id")?,
                StoredKey {
                    fingerprint: r.try_get("fingerprint")?,
                    response: r.try_get("response")?,
                },
            ))
        })
        .collect()
}

/// Removes keys claimed in this transaction whose effect did not happen (what a rollback does
/// for `kit::idempotency`): a retry runs again.
pub async fn release_keys(conn: &mut AnyConnection, rpc: &str, request_ids: &[&str]) -> Result<()> {
    if request_ids.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = (0..request_ids.len())
        .map(|i| format!("${}", i + 2))
        .collect();
    let sql = format!(
        "DELETE FROM idempotency_keys WHERE rpc = $1 AND request_id IN ({})",
        list.join(", ")
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(rpc);
    for id in request_ids {
        query = query.bind(*id);
    }
    query.execute(&mut *conn).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_every_parameter_once() {
        assert_eq!(placeholders(1, 2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(placeholders(2, 1, 1), "($2)");
    }

    #[test]
    fn a_stored_response_round_trips() {
        let date = contracts::civil::common::v1::Date {
            year: 2026,
            month: 5,
            day: 20,
        };
        let stored = encode_response(&date);
        assert_eq!(decode_response(&stored), Some(date));
        assert_eq!(
            decode_response::<contracts::civil::common::v1::Date>("%%"),
            None
        );
    }
}
