//! The booking desk: one task that answers request-id lookups and commits booking groups, on
//! one store connection it keeps while work keeps arriving.

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use auth::audit::AuditEntry;
use kit::ServiceError;
use kit::store::{Db, Dialect};
use sqlx::AnyConnection;
use tokio::sync::mpsc;

use super::{
    COMMIT_BATCH, HOLD_MAX, Known, LOOKUP_BATCH, Lookup, Outcome, Pending, RPC, book_alone, reused,
    settle, store_unavailable,
};
use crate::api::appointments::appointment;
use crate::domain::Refusal;
use crate::store::keys::{self, NewKey};
use crate::store::{self, AppointmentRow, SeatWant};

/// The desk: one task that answers request-id lookups and commits booking groups.
///
/// It takes the store connection once and keeps it while work keeps arriving, for at most
/// [`HOLD_MAX`] at a time: under a burst every hand-over of a pooled connection costs a pass of
/// the scheduler over thousands of waiting calls (the pool returns connections through a
/// spawned task), which dominated the cost of the SQL itself. Attempts that must be booked on
/// their own are booked after the connection is released (they open their own transaction).
pub(super) async fn run(
    db: Db,
    mut commits: mpsc::Receiver<Pending>,
    mut lookups: mpsc::Receiver<Lookup>,
) {
    let mut group: Vec<Pending> = Vec::with_capacity(COMMIT_BATCH);
    let mut asked: Vec<Lookup> = Vec::with_capacity(LOOKUP_BATCH);
    loop {
        if group.is_empty() && asked.is_empty() {
            let open = tokio::select! {
                n = commits.recv_many(&mut group, COMMIT_BATCH) => n > 0,
                n = lookups.recv_many(&mut asked, LOOKUP_BATCH) => n > 0,
            };
            if !open {
                // The API is gone: nobody waits for an answer any more.
                return;
            }
        }
        let mut alone = Vec::new();
        match db.pool.acquire().await {
            Ok(mut conn) => {
                let held = Instant::now();
                loop {
                    if !asked.is_empty() {
                        answer_lookups(&mut conn, &mut asked).await;
                    }
                    if !group.is_empty()
                        && !commit_and_answer(&mut conn, db.dialect, &mut group, &mut alone).await
                    {
                        break; // the connection may be broken: give it back
                    }
                    if held.elapsed() >= HOLD_MAX {
                        break;
                    }
                    take_queued(&mut commits, &mut group, COMMIT_BATCH);
                    take_queued(&mut lookups, &mut asked, LOOKUP_BATCH);
                    if group.is_empty() && asked.is_empty() {
                        break;
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "booking desk cannot reach the store");
                for lookup in asked.drain(..) {
                    let _ = lookup.reply.send(Err(store_unavailable()));
                }
                alone.append(&mut group);
            }
        }
        for pending in alone {
            let Pending {
                attempt,
                gate,
                permit,
                reply,
                ..
            } = pending;
            let _ = reply.send(book_alone(&db, attempt, &gate, permit).await);
        }
    }
}

/// Moves what is already queued (up to `limit` in all) without waiting.
fn take_queued<T>(queue: &mut mpsc::Receiver<T>, into: &mut Vec<T>, limit: usize) {
    while into.len() < limit {
        match queue.try_recv() {
            Ok(item) => into.push(item),
            Err(_) => break,
        }
    }
}

/// Answers every queued lookup with one query.
async fn answer_lookups(conn: &mut AnyConnection, asked: &mut Vec<Lookup>) {
    match lookup_now(conn, asked).await {
        Ok(known) => {
            for (lookup, known) in asked.drain(..).zip(known) {
                let _ = lookup.reply.send(known);
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, lookups = asked.len(), "request id lookup failed");
            for lookup in asked.drain(..) {
                let _ = lookup.reply.send(Err(store_unavailable()));
            }
        }
    }
}

/// Commits the queued group and answers it; attempts it could not decide go to `alone`.
/// False when the group failed (it is then booked one by one, after the connection is free).
async fn commit_and_answer(
    conn: &mut AnyConnection,
    dialect: Dialect,
    group: &mut Vec<Pending>,
    alone: &mut Vec<Pending>,
) -> bool {
    let outcomes = match commit_group(conn, dialect, group).await {
        Ok(outcomes) => outcomes,
        Err(e) => {
            tracing::warn!(error = %e, bookings = group.len(), "booking group failed; booking one by one");
            alone.append(group);
            return false;
        }
    };
    for (pending, outcome) in group.drain(..).zip(outcomes) {
        let answer = match outcome {
            Outcome::Alone => {
                alone.push(pending);
                continue;
            }
            Outcome::Booked => Ok(appointment(&pending.attempt.row)),
            Outcome::Answered(ref first) => Ok(first.clone()),
            Outcome::Reused => Err(reused()),
            Outcome::Full => Err(Refusal::SlotFull.into()),
            Outcome::NotOffered => Err(Refusal::SlotNotOffered.into()),
        };
        let Pending {
            gate,
            permit,
            reply,
            ..
        } = pending;
        settle(&gate, permit, &outcome);
        // The caller may have gone away (deadline); the booking stands either way.
        let _ = reply.send(answer);
    }
    true
}

/// Commits a group of attempts in one transaction; returns each one's outcome, in order.
///
/// Lock order, the same in every group and as in a single booking: idempotency keys (sorted by
/// request id), then slot rows (in key order), then the audit head.
async fn commit_group(
    conn: &mut AnyConnection,
    dialect: Dialect,
    group: &[Pending],
) -> Result<Vec<Outcome>, ServiceError> {
    let request_id = |i: usize| group[i].attempt.request.request_id.as_str();
    let mut outcomes = vec![Outcome::Alone; group.len()];
    // The first attempt of each request id is decided here; a repeat stays `Alone` and is
    // answered after the commit, from the key the first one left.
    let mut seen = HashSet::new();
    let leader: Vec<bool> = (0..group.len())
        .map(|i| seen.insert(request_id(i)))
        .collect();
    let mut leaders: Vec<usize> = (0..group.len()).filter(|&i| leader[i]).collect();
    leaders.sort_by_key(|&i| request_id(i));
    let responses: Vec<String> = leaders
        .iter()
        .map(|&i| keys::encode_response(&appointment(&group[i].attempt.row)))
        .collect();
    let new_keys: Vec<NewKey<'_>> = leaders
        .iter()
        .zip(&responses)
        .map(|(&i, response)| NewKey {
            request_id: request_id(i),
            fingerprint: &group[i].fingerprint,
            response,
        })
        .collect();

    let now = kit::now_ms();
    let mut tx = sqlx::Connection::begin(conn).await?;
    let claimed = keys::claim_keys(&mut tx, RPC, &new_keys, now).await?;
    let used: Vec<&str> = leaders
        .iter()
        .map(|&i| request_id(i))
        .filter(|id| !claimed.contains(*id))
        .collect();
    let stored = keys::stored_keys(&mut tx, RPC, &used).await?;
    for &i in &leaders {
        if claimed.contains(request_id(i)) {
            continue;
        }
        outcomes[i] = match stored.get(request_id(i)) {
            Some(key) if key.fingerprint == group[i].fingerprint => {
                keys::decode_response(&key.response).map_or(Outcome::Alone, Outcome::Answered)
            }
            Some(_) => Outcome::Reused,
            None => Outcome::Alone,
        };
    }

    // Seats: first come, first served within a slot.
    let mut by_slot: BTreeMap<(&str, time::Date, &str), Vec<usize>> = BTreeMap::new();
    for i in (0..group.len()).filter(|&i| leader[i] && claimed.contains(request_id(i))) {
        let row = &group[i].attempt.row;
        by_slot
            .entry((row.office_id.as_str(), row.date, row.slot.as_str()))
            .or_default()
            .push(i);
    }
    let wants: Vec<SeatWant<'_>> = by_slot
        .iter()
        .map(|((office_id, date, slot), members)| SeatWant {
            office_id,
            date: *date,
            slot,
            count: i64::try_from(members.len()).unwrap_or(i64::MAX),
        })
        .collect();
    let taken_per_slot = store::take_seats_in_slots(&mut tx, dialect, &wants).await?;
    for (members, taken) in by_slot.values().zip(taken_per_slot) {
        for (n, &i) in members.iter().enumerate() {
            outcomes[i] = match taken {
                None => Outcome::NotOffered,
                Some(taken) if i64::try_from(n).unwrap_or(i64::MAX) < taken => Outcome::Booked,
                Some(_) => Outcome::Full,
            };
        }
    }

    let booked: Vec<usize> = (0..group.len())
        .filter(|&i| matches!(outcomes[i], Outcome::Booked))
        .collect();
    let rows: Vec<&AppointmentRow> = booked.iter().map(|&i| &group[i].attempt.row).collect();
    store::insert_appointments(&mut tx, &rows, now).await?;
    let not_taken: Vec<&str> = by_slot
        .values()
        .flatten()
        .filter(|&&i| !matches!(outcomes[i], Outcome::Booked))
        .map(|&i| request_id(i))
        .collect();
    keys::release_keys(&mut tx, RPC, &not_taken).await?;
    let entries: Vec<AuditEntry> = booked
        .iter()
        .map(|&i| group[i].attempt.entry.clone())
        .collect();
    auth::audit::append(&mut tx, &entries).await?;
    tx.commit().await?;
    Ok(outcomes)
}

/// Looks request ids up in one query: unknown, answered before, or used for another request.
pub(super) async fn lookup_now(
    conn: &mut AnyConnection,
    lookups: &[Lookup],
) -> Result<Vec<Result<Known, ServiceError>>, sqlx::Error> {
    let ids: Vec<&str> = lookups
        .iter()
        .map(|l| l.request_id.as_str())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let stored = keys::stored_keys(conn, RPC, &ids).await?;
    Ok(lookups
        .iter()
        .map(|l| match stored.get(&l.request_id) {
            None => Ok(Known::Unknown),
            Some(key) if key.fingerprint != l.fingerprint => Ok(Known::Reused),
            Some(key) => keys::decode_response(&key.response)
                .map(Known::Answer)
                .ok_or_else(|| {
                    ServiceError::Internal(anyhow::anyhow!(
                        "stored booking response does not decode"
                    ))
                }),
        })
        .collect())
}
