//! Booking keys: a booking is its own idempotency record. The request id and the fingerprint
//! of the request that made an appointment are stored on its row, unique per caller
//! (`booked_by`, the caller's subject), so that
//! - a retry by the same caller finds its appointment (the first answer), and the same id with
//!   another request is `REQUEST_ID_REUSED`;
//! - the same id sent by another caller is another request (AIP-155 keys are per caller), never
//!   the first caller's answer;
//! - a refused attempt (slot full) leaves nothing behind, so a retry tries again;
//! - the booking desk decides a whole group with one lookup and one insert, without writing
//!   kit's idempotency table.

use std::collections::HashMap;

use prost::Message;
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};

use super::{AppointmentRow, Result, parse_date};

/// A request id as one caller sent it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallerKey {
    /// The caller's subject (stored as `booked_by`).
    pub caller: String,
    pub request_id: String,
}

/// The fingerprint of a request: hex SHA-256 of its encoding.
pub fn fingerprint<M: Message>(request: &M) -> String {
    hex::encode(Sha256::digest(request.encode_to_vec()))
}

/// An appointment found by its caller's request id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBooking {
    pub fingerprint: String,
    /// The appointment as first booked (state "booked", whatever happened since): the first
    /// answer.
    pub first: AppointmentRow,
}

/// A booking to insert with its key.
pub struct NewBooking<'a> {
    pub row: &'a AppointmentRow,
    pub request_id: &'a str,
    pub fingerprint: &'a str,
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

/// The bookings made under these keys, in one query.
pub async fn stored_bookings(
    conn: &mut AnyConnection,
    keys: &[&CallerKey],
) -> Result<HashMap<CallerKey, StoredBooking>> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let mut ids: Vec<&str> = keys.iter().map(|k| k.request_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let list: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT appointment_id, office_id, slot_date, slot, purpose, booked_by, request_id, request_fingerprint
         FROM appointments WHERE request_id IN ({})",
        list.join(", ")
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for id in &ids {
        query = query.bind(*id);
    }
    let rows = query.fetch_all(&mut *conn).await?;
    let mut found = HashMap::new();
    for r in &rows {
        let key = CallerKey {
            caller: r.try_get("booked_by")?,
            request_id: r.try_get("request_id")?,
        };
        if !keys.contains(&&key) {
            continue; // the same id from another caller: another request
        }
        let first = AppointmentRow {
            appointment_id: r.try_get("appointment_id")?,
            office_id: r.try_get("office_id")?,
            date: parse_date(&r.try_get::<String, _>("slot_date")?)?,
            slot: r.try_get("slot")?,
            purpose: r.try_get("purpose")?,
            state: "booked".into(),
            booked_by: key.caller.clone(),
        };
        let fingerprint = r
            .try_get::<Option<String>, _>("request_fingerprint")?
            .unwrap_or_default();
        found.insert(key, StoredBooking { fingerprint, first });
    }
    Ok(found)
}

/// Inserts the appointments of one booking group (or one booking) in one statement.
pub async fn insert_bookings(
    conn: &mut AnyConnection,
    bookings: &[NewBooking<'_>],
    now_ms: i64,
) -> Result<()> {
    if bookings.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO appointments (appointment_id, office_id, slot_date, slot, purpose, state, booked_by,
            created_at_ms, request_id, request_fingerprint)
         VALUES {}",
        placeholders(1, bookings.len(), 10)
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for b in bookings {
        let a = b.row;
        query = query
            .bind(&a.appointment_id)
            .bind(&a.office_id)
            .bind(super::date_text(a.date))
            .bind(&a.slot)
            .bind(&a.purpose)
            .bind(&a.state)
            .bind(&a.booked_by)
            .bind(now_ms)
            .bind(b.request_id)
            .bind(b.fingerprint);
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
}
