//! Booking under peak load (5月20日: thousands of attempts for a few seats in one burst).
//!
//! Three things keep the hot path short without moving the truth out of the database:
//!
//! 1. The slot's [`SlotGate`] refuses an attempt for a slot known to be full without a write
//!    transaction. Before that refusal the request id is looked up ([`Known`]), so a retry of a
//!    request that already booked still gets its first answer; the lookups of a burst share
//!    one query per batch. A request id still in flight in this process is never refused by the
//!    gate: it joins the commit queue and gets the first attempt's answer there.
//! 2. Admitted attempts are committed in groups (up to [`COMMIT_BATCH`] per transaction): the
//!    callers' request ids looked up in one query, one conditional seat UPDATE for all its
//!    slots (each row checks
//!    `booked + n <= quota`; a slot where not all fit is served seat by seat),
//!    the appointment rows (with their keys) in one statement, the group's audit rows in one
//!    statement. One booking that cannot be served (slot full, key reused)
//!    does not fail the others; a database error fails the group, which is then booked one by
//!    one in a transaction each. One task, the [`desk`], does the lookups and the
//!    commits on one connection it keeps while work keeps coming.
//! 3. Offices are read once per process (they never change).
//!
//! Request ids (AIP-155) are scoped to the caller: a booking is its own idempotency record,
//! keyed by the caller's subject and request id on the appointment row ([`crate::store::keys`]).
//! The same caller's retry gets the first answer, the same id with another request is
//! `REQUEST_ID_REUSED`, and the same id from another caller is that caller's own request:
//! never the first caller's appointment. Nothing is written to kit's idempotency table.

mod desk;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth::audit::AuditEntry;
use contracts::civil::marriage::v1 as pb;
use kit::ServiceError;
use kit::idempotency::REQUEST_ID_REUSED;
use kit::store::Db;
use tokio::sync::{mpsc, oneshot};

use crate::convert::appointment;
use crate::domain::Refusal;
use crate::domain::appointment::free_seats;
use crate::gate::{Permit, SlotGate, SlotGates, SlotKey, monotonic_ms};
use crate::store::keys::{self, CallerKey, NewBooking, StoredBooking};
use crate::store::{self, AppointmentRow};

/// Bookings committed in one transaction at most.
pub const COMMIT_BATCH: usize = 64;
/// Request ids looked up in one query at most.
const LOOKUP_BATCH: usize = 256;
/// Attempts queued for the desk before callers wait (back-pressure, not loss).
const QUEUE: usize = 4_096;
/// How long the desk keeps the store connection while work keeps coming, before it lets the
/// other users of the pool (other RPCs, the read-audit writer) have it.
const HOLD_MAX: Duration = Duration::from_millis(20);

/// One validated, authorised booking attempt.
pub struct Attempt {
    pub request: pb::BookAppointmentRequest,
    /// The appointment it creates if it gets a seat (id chosen up front).
    pub row: AppointmentRow,
    pub entry: AuditEntry,
    /// When the attempt was made (the service's clock).
    pub now_ms: i64,
}

impl Attempt {
    /// The request id as this caller sent it.
    fn caller_key(&self) -> CallerKey {
        CallerKey {
            caller: self.row.booked_by.clone(),
            request_id: self.request.request_id.clone(),
        }
    }

    fn key(&self) -> SlotKey {
        SlotKey {
            office_id: self.row.office_id.clone(),
            date: self.row.date,
            slot: self.row.slot.clone(),
        }
    }
}

/// What the idempotency table knows about a request id.
enum Known {
    Unknown,
    Answer(pb::Appointment),
    Reused,
}

/// How one attempt of a committed group ended.
#[derive(Clone)]
enum Outcome {
    Booked,
    Answered(pb::Appointment),
    Reused,
    Full,
    NotOffered,
    /// Not decided by the group (a second attempt with the same request id, an unreadable
    /// stored answer, a failed group): booked on its own afterwards.
    Alone,
}

struct Pending {
    attempt: Attempt,
    fingerprint: String,
    gate: Arc<SlotGate>,
    permit: Option<Permit>,
    reply: oneshot::Sender<Result<pb::Appointment, ServiceError>>,
}

struct Lookup {
    key: CallerKey,
    fingerprint: String,
    reply: oneshot::Sender<Result<Known, ServiceError>>,
}

/// The booking desk of this process: gates, the commit queue, the lookup queue.
#[derive(Clone)]
pub struct Bookings {
    db: Db,
    gates: Arc<SlotGates>,
    /// Callers' request ids being booked by this process right now, with how many attempts
    /// carry each.
    in_flight: Arc<Mutex<HashMap<CallerKey, usize>>>,
    commits: mpsc::Sender<Pending>,
    lookups: mpsc::Sender<Lookup>,
}

impl Bookings {
    /// Starts the desk task; it stops when the last `Bookings` clone is dropped.
    pub fn spawn(db: Db) -> Self {
        let (commits, commit_rx) = mpsc::channel(QUEUE);
        let (lookups, lookup_rx) = mpsc::channel(QUEUE);
        tokio::spawn(desk::run(db.clone(), commit_rx, lookup_rx));
        Self {
            db,
            gates: Arc::default(),
            in_flight: Arc::default(),
            commits,
            lookups,
        }
    }

    /// Books one seat, or answers why not.
    pub async fn book(&self, attempt: Attempt) -> Result<pb::Appointment, ServiceError> {
        check_request_id(&attempt.request.request_id)?;
        let caller_key = attempt.caller_key();
        let _flying = InFlight::enter(&self.in_flight, &caller_key);
        let key = attempt.key();
        let Some(gate) = self.gate(&key).await? else {
            // Not offered (or opened a moment ago elsewhere): the plain path decides.
            return book_one(&self.db, attempt).await;
        };
        let fingerprint = keys::fingerprint(&attempt.request);
        if let Some(permit) = self.admit(&gate, &key).await? {
            return self.commit(attempt, fingerprint, gate, Some(permit)).await;
        }
        if InFlight::count(&self.in_flight, &caller_key) > 1 {
            // The caller's first attempt with this id is still being booked here: share its
            // answer.
            return self.commit(attempt, fingerprint, gate, None).await;
        }
        match self.lookup(caller_key, fingerprint).await? {
            Known::Answer(first) => Ok(first),
            Known::Reused => Err(reused()),
            Known::Unknown => Err(Refusal::SlotFull.into()),
        }
    }

    /// A cancellation committed here gave a seat of `key` back.
    pub fn seat_freed(&self, key: &SlotKey) {
        self.gates.seat_freed(key);
    }

    /// The quota of `key` changed: the next attempt reloads its gate.
    pub fn quota_changed(&self, key: &SlotKey) {
        self.gates.forget(key);
    }

    async fn gate(&self, key: &SlotKey) -> Result<Option<Arc<SlotGate>>, ServiceError> {
        let gate = self
            .gates
            .get(key, || self.free_seats_of_day(key))
            .await
            .map_err(ServiceError::from)?;
        Ok(gate)
    }

    async fn free_seats_of_day(&self, key: &SlotKey) -> Result<Vec<(String, i64)>, sqlx::Error> {
        let mut conn = self.db.pool.acquire().await?;
        let slots = store::slots_of_day(&mut conn, &key.office_id, key.date).await?;
        Ok(slots
            .into_iter()
            .map(|s| (s.slot, free_seats(s.quota, s.booked)))
            .collect())
    }

    async fn free_seats(&self, key: &SlotKey) -> Result<Option<i64>, sqlx::Error> {
        let mut conn = self.db.pool.acquire().await?;
        store::free_seats(&mut conn, &key.office_id, key.date, &key.slot).await
    }

    /// A permit from the gate; a full gate re-reads the store at most once per second.
    async fn admit(
        &self,
        gate: &Arc<SlotGate>,
        key: &SlotKey,
    ) -> Result<Option<Permit>, ServiceError> {
        if let Some(permit) = gate.try_admit() {
            return Ok(Some(permit));
        }
        if !gate.claim_refresh(monotonic_ms()) {
            return Ok(None);
        }
        let free = self.free_seats(key).await?.unwrap_or(0);
        gate.refreshed(free, monotonic_ms());
        Ok(gate.try_admit())
    }

    async fn commit(
        &self,
        attempt: Attempt,
        fingerprint: String,
        gate: Arc<SlotGate>,
        permit: Option<Permit>,
    ) -> Result<pb::Appointment, ServiceError> {
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            attempt,
            fingerprint,
            gate,
            permit,
            reply,
        };
        if let Err(mpsc::error::SendError(pending)) = self.commits.send(pending).await {
            // The desk is gone (shutting down): book this one directly.
            let Pending {
                attempt,
                gate,
                permit,
                ..
            } = pending;
            return book_alone(&self.db, attempt, &gate, permit).await;
        }
        answer
            .await
            .map_err(|_| ServiceError::Unavailable("the booking desk stopped; retry".into()))?
    }

    async fn lookup(&self, key: CallerKey, fingerprint: String) -> Result<Known, ServiceError> {
        let (reply, answer) = oneshot::channel();
        let lookup = Lookup {
            key,
            fingerprint,
            reply,
        };
        if let Err(mpsc::error::SendError(lookup)) = self.lookups.send(lookup).await {
            // The desk is gone (shutting down): look it up directly.
            let mut conn = self.db.pool.acquire().await?;
            let mut known = desk::lookup_now(&mut conn, &[lookup]).await?;
            return known.pop().unwrap_or(Ok(Known::Unknown));
        }
        answer
            .await
            .map_err(|_| ServiceError::Unavailable("the booking desk stopped; retry".into()))?
    }
}

/// Registers a caller's request id as being booked for as long as the guard lives.
struct InFlight {
    map: Arc<Mutex<HashMap<CallerKey, usize>>>,
    key: CallerKey,
}

impl InFlight {
    fn enter(map: &Arc<Mutex<HashMap<CallerKey, usize>>>, key: &CallerKey) -> Self {
        *map.lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key.clone())
            .or_default() += 1;
        Self {
            map: Arc::clone(map),
            key: key.clone(),
        }
    }

    fn count(map: &Mutex<HashMap<CallerKey, usize>>, key: &CallerKey) -> usize {
        map.lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .copied()
            .unwrap_or(0)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.key);
            }
        }
    }
}

/// The request id rules of `kit::idempotency`, checked before the gate.
fn check_request_id(request_id: &str) -> Result<(), ServiceError> {
    if request_id.trim().is_empty() {
        return Err(ServiceError::invalid(
            "request_id",
            "is required for every write (retry safety)",
        ));
    }
    if request_id.len() > 128 {
        return Err(ServiceError::invalid(
            "request_id",
            "is longer than 128 characters",
        ));
    }
    Ok(())
}

fn store_unavailable() -> ServiceError {
    ServiceError::Unavailable("the booking store is unavailable; retry".into())
}

fn reused() -> ServiceError {
    ServiceError::refused(
        REQUEST_ID_REUSED,
        "this request_id was already used for a different request",
    )
}

fn is_slot_full(e: &ServiceError) -> bool {
    matches!(e, ServiceError::Status(s) if kit::error::reason_of(s).as_deref() == Some(Refusal::SlotFull.reason()))
}

/// The first answer to a caller's retry, or `REQUEST_ID_REUSED` for another request.
fn answer_stored(
    stored: &StoredBooking,
    fingerprint: &str,
) -> Result<pb::Appointment, ServiceError> {
    if stored.fingerprint == fingerprint {
        Ok(appointment(&stored.first))
    } else {
        Err(reused())
    }
}

/// True for an insert that lost a race on the caller's request id (another replica booked the
/// same caller's request a moment earlier).
fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db)
        if db.is_unique_violation()
            || matches!(db.code().as_deref(), Some("23505") | Some("2067") | Some("1555")))
}

/// One booking in its own transaction: the path for slots without a gate and the fallback of a
/// failed group. The caller's request id is looked up first, in the same transaction.
async fn book_one(db: &Db, attempt: Attempt) -> Result<pb::Appointment, ServiceError> {
    let fingerprint = keys::fingerprint(&attempt.request);
    let key = attempt.caller_key();
    let mut tx = db.begin().await?;
    if let Some(stored) = keys::stored_bookings(&mut tx, &[&key]).await?.get(&key) {
        return answer_stored(stored, &fingerprint);
    }
    let row = &attempt.row;
    if !store::take_seat(&mut tx, &row.office_id, row.date, &row.slot).await? {
        let offered = store::slot_exists(&mut tx, &row.office_id, row.date, &row.slot).await?;
        return Err(if offered {
            Refusal::SlotFull
        } else {
            Refusal::SlotNotOffered
        }
        .into());
    }
    let booking = NewBooking {
        row,
        request_id: &key.request_id,
        fingerprint: &fingerprint,
    };
    if let Err(e) = keys::insert_bookings(&mut tx, &[booking], attempt.now_ms).await {
        if !is_unique_violation(&e) {
            return Err(e.into());
        }
        drop(tx);
        let mut conn = db.pool.acquire().await?;
        let stored = keys::stored_bookings(&mut conn, &[&key]).await?;
        return match stored.get(&key) {
            Some(stored) => answer_stored(stored, &fingerprint),
            None => Err(ServiceError::Aborted("concurrent booking, retry".into())),
        };
    }
    auth::audit::append(&mut tx, std::slice::from_ref(&attempt.entry)).await?;
    tx.commit().await?;
    Ok(appointment(row))
}

/// Books an attempt on its own and settles its permit.
async fn book_alone(
    db: &Db,
    attempt: Attempt,
    gate: &SlotGate,
    permit: Option<Permit>,
) -> Result<pb::Appointment, ServiceError> {
    let appointment_id = attempt.row.appointment_id.clone();
    let result = book_one(db, attempt).await;
    let outcome = match &result {
        Ok(a) if a.appointment_id == appointment_id => Outcome::Booked,
        Err(e) if is_slot_full(e) => Outcome::Full,
        _ => Outcome::Alone,
    };
    settle(gate, permit, &outcome);
    result
}

/// Tells the gate what the store decided.
fn settle(gate: &SlotGate, permit: Option<Permit>, outcome: &Outcome) {
    match (outcome, permit) {
        (Outcome::Booked, Some(permit)) => permit.booked(),
        (Outcome::Booked, None) => gate.seat_taken(),
        (Outcome::Full, Some(permit)) => permit.slot_full(monotonic_ms()),
        (Outcome::Full, None) => gate.slot_full(monotonic_ms()),
        // No seat taken: dropping the permit gives it back.
        (_, permit) => drop(permit),
    }
}
