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
    COMMIT_BATCH, HOLD_MAX, Known, LOOKUP_BATCH, Lookup, Outcome, Pending, answer_stored,
    book_alone, reused, settle, store_unavailable,
};
use crate::convert::appointment;
use crate::domain::Refusal;
use crate::store::keys::{self, CallerKey, NewBooking};
use crate::store::{self, SeatWant};

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
                let queues = (&mut commits, &mut lookups);
                work_while_held(
                    &mut conn, db.dialect, queues, &mut group, &mut asked, &mut alone,
                )
                .await;
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

/// Works through lookups and commit groups on one connection while more keep arriving, for at
/// most [`HOLD_MAX`]; gives the connection back when the queues are empty or a group failed
/// (the connection may then be broken).
async fn work_while_held(
    conn: &mut AnyConnection,
    dialect: Dialect,
    (commits, lookups): (&mut mpsc::Receiver<Pending>, &mut mpsc::Receiver<Lookup>),
    group: &mut Vec<Pending>,
    asked: &mut Vec<Lookup>,
    alone: &mut Vec<Pending>,
) {
    let held = Instant::now();
    loop {
        if !asked.is_empty() {
            answer_lookups(conn, asked).await;
        }
        if !group.is_empty() && !commit_and_answer(conn, dialect, group, alone).await {
            break;
        }
        if held.elapsed() >= HOLD_MAX {
            break;
        }
        take_queued(commits, group, COMMIT_BATCH);
        take_queued(lookups, asked, LOOKUP_BATCH);
        if group.is_empty() && asked.is_empty() {
            break;
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
/// Lock order, the same in every group and as in a single booking: slot rows (in key order),
/// then the appointment rows' unique keys, then the audit head.
async fn commit_group(
    conn: &mut AnyConnection,
    dialect: Dialect,
    group: &[Pending],
) -> Result<Vec<Outcome>, ServiceError> {
    let caller_keys: Vec<CallerKey> = group.iter().map(|p| p.attempt.caller_key()).collect();
    let mut outcomes = vec![Outcome::Alone; group.len()];
    // The first attempt of each caller's request id is decided here; a repeat stays `Alone` and
    // is answered after the commit, from the booking the first one left.
    let mut seen = HashSet::new();
    let leader: Vec<bool> = caller_keys.iter().map(|k| seen.insert(k)).collect();
    let leaders: Vec<usize> = (0..group.len()).filter(|&i| leader[i]).collect();
    let asked: Vec<&CallerKey> = leaders.iter().map(|&i| &caller_keys[i]).collect();

    let now = group
        .iter()
        .map(|p| p.attempt.now_ms)
        .max()
        .unwrap_or_default();
    let mut tx = sqlx::Connection::begin(conn).await?;
    let stored = keys::stored_bookings(&mut tx, &asked).await?;
    let mut fresh = Vec::new();
    for &i in &leaders {
        match stored.get(&caller_keys[i]) {
            None => fresh.push(i),
            Some(first) => {
                outcomes[i] = match answer_stored(first, &group[i].fingerprint) {
                    Ok(answer) => Outcome::Answered(answer),
                    Err(_) => Outcome::Reused,
                }
            }
        }
    }

    take_seats(&mut tx, dialect, group, &fresh, &mut outcomes).await?;
    record_booked(&mut tx, group, &caller_keys, &outcomes, now).await?;
    tx.commit().await?;
    Ok(outcomes)
}

/// Seats for the attempts not answered before: first come, first served within a slot.
async fn take_seats(
    tx: &mut AnyConnection,
    dialect: Dialect,
    group: &[Pending],
    fresh: &[usize],
    outcomes: &mut [Outcome],
) -> Result<(), ServiceError> {
    let mut by_slot: BTreeMap<(&str, time::Date, &str), Vec<usize>> = BTreeMap::new();
    for &i in fresh {
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
    let taken_per_slot = store::take_seats_in_slots(tx, dialect, &wants).await?;
    for (members, taken) in by_slot.values().zip(taken_per_slot) {
        for (n, &i) in members.iter().enumerate() {
            outcomes[i] = match taken {
                None => Outcome::NotOffered,
                Some(taken) if i64::try_from(n).unwrap_or(i64::MAX) < taken => Outcome::Booked,
                Some(_) => Outcome::Full,
            };
        }
    }

    Ok(())
}

/// The booked attempts' rows, request keys and audit rows, in the group's transaction.
async fn record_booked(
    tx: &mut AnyConnection,
    group: &[Pending],
    caller_keys: &[CallerKey],
    outcomes: &[Outcome],
    now: i64,
) -> Result<(), ServiceError> {
    let booked: Vec<usize> = (0..group.len())
        .filter(|&i| matches!(outcomes[i], Outcome::Booked))
        .collect();
    let bookings: Vec<NewBooking<'_>> = booked
        .iter()
        .map(|&i| NewBooking {
            row: &group[i].attempt.row,
            request_id: &caller_keys[i].request_id,
            fingerprint: &group[i].fingerprint,
        })
        .collect();
    keys::insert_bookings(tx, &bookings, now).await?;
    let entries: Vec<AuditEntry> = booked
        .iter()
        .map(|&i| group[i].attempt.entry.clone())
        .collect();
    auth::audit::append(tx, &entries).await?;
    Ok(())
}

/// Looks callers' request ids up in one query: unknown, answered before, or used for another
/// request.
pub(super) async fn lookup_now(
    conn: &mut AnyConnection,
    lookups: &[Lookup],
) -> Result<Vec<Result<Known, ServiceError>>, sqlx::Error> {
    let asked: Vec<&CallerKey> = lookups.iter().map(|l| &l.key).collect();
    let stored = keys::stored_bookings(conn, &asked).await?;
    Ok(lookups
        .iter()
        .map(|l| match stored.get(&l.key) {
            None => Ok(Known::Unknown),
            Some(first) => match answer_stored(first, &l.fingerprint) {
                Ok(answer) => Ok(Known::Answer(answer)),
                Err(_) => Ok(Known::Reused),
            },
        })
        .collect())
}
