//! Booking under peak load (5月20日: thousands of attempts for a few seats in one burst).
//!
//! Three things keep the hot path short without moving the truth out of the database:
//!
//! 1. The slot's [`SlotGate`] refuses an attempt for a slot known to be full without a write
//!    transaction. Before that refusal the request id is looked up ([`Known`]), so a retry of a
//!    request that already booked still gets its first answer; the lookups of a burst share
//!    one query per batch. A request id still in flight in this process is never refused by the
//!    gate: it joins the commit queue and gets the first attempt's answer there.
//! 2. Admitted attempts are committed in groups (up to [`COMMIT_BATCH`] per transaction): keys
//!    claimed in one statement, one conditional seat UPDATE per slot (never past the quota),
//!    the appointment rows in one statement, one audit append for the group. One booking that
//!    cannot be served (slot full, key reused) does not fail the others; a database error
//!    fails the group, which is then booked one by one through `kit::idempotency::once`.
//! 3. Offices are read once per process (they never change).
//!
//! The idempotency semantics are those of `kit::idempotency` (same table, same fingerprint,
//! same stored response; see [`crate::store::keys`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use auth::audit::AuditEntry;
use contracts::civil::marriage::v1 as pb;
use kit::idempotency::{REQUEST_ID_REUSED, once};
use kit::store::Db;
use kit::ServiceError;
use tokio::sync::{mpsc, oneshot};

use super::appointments::appointment;
use crate::domain::Refusal;
use crate::gate::{Permit, SlotGate, SlotGates, SlotKey, monotonic_ms};
use crate::store::keys::{self, NewKey};
use crate::store::{self, AppointmentRow};

/// The RPC name the idempotency keys of bookings are stored under.
const RPC: &str = "BookAppointment";
/// Bookings committed in one transaction at most.
pub const COMMIT_BATCH: usize = 64;
/// Request ids looked up in one query at most.
const LOOKUP_BATCH: usize = 256;
/// Attempts queued for the batchers before callers wait (back-pressure, not loss).
const QUEUE: usize = 4_096;

/// One validated, authorised booking attempt.
pub struct Attempt {
    pub request: pb::BookAppointmentRequest,
    /// The appointment it creates if it gets a seat (id chosen up front).
    pub row: AppointmentRow,
    pub entry: AuditEntry,
}

impl Attempt {
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
    request_id: String,
    fingerprint: String,
    reply: oneshot::Sender<Result<Known, ServiceError>>,
}

/// The booking desk of this process: gates, the commit queue, the lookup queue.
#[derive(Clone)]
pub struct Bookings {
    db: Db,
    gates: Arc<SlotGates>,
    /// Request ids being booked by this process right now, with how many attempts carry each.
    in_flight: Arc<Mutex<HashMap<String, usize>>>,
    commits: mpsc::Sender<Pending>,
    lookups: mpsc::Sender<Lookup>,
}

impl Bookings {
    /// Starts the two batchers; they stop when the last `Bookings` clone is dropped.
    pub fn spawn(db: Db) -> Self {
        let (commits, commit_rx) = mpsc::channel(QUEUE);
        let (lookups, lookup_rx) = mpsc::channel(QUEUE);
        tokio::spawn(run_commits(db.clone(), commit_rx));
        tokio::spawn(run_lookups(db.clone(), lookup_rx));
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
        let request_id = attempt.request.request_id.clone();
        let _flying = InFlight::enter(&self.in_flight, &request_id);
        let key = attempt.key();
        let Some(gate) = self.gate(&key).await? else {
            // Not offered (or opened a moment ago elsewhere): the plain path decides.
            return book_one(&self.db, attempt).await;
        };
        let fingerprint = keys::fingerprint(&attempt.request);
        if let Some(permit) = self.admit(&gate, &key).await? {
            return self.commit(attempt, fingerprint, gate, Some(permit)).await;
        }
        if InFlight::count(&self.in_flight, &request_id) > 1 {
            // The first attempt with this id is still being booked here: share its answer.
            return self.commit(attempt, fingerprint, gate, None).await;
        }
        match self.lookup(request_id, fingerprint).await? {
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
            .get(key, || self.free_seats(key))
            .await
            .map_err(ServiceError::from)?;
        Ok(gate)
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
            // The batcher is gone (shutting down): book this one directly.
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

    async fn lookup(&self, request_id: String, fingerprint: String) -> Result<Known, ServiceError> {
        let (reply, answer) = oneshot::channel();
        let lookup = Lookup {
            request_id,
            fingerprint,
            reply,
        };
        if let Err(mpsc::error::SendError(lookup)) = self.lookups.send(lookup).await {
            return lookup_now(&self.db, &[lookup])
                .await
                .map(|mut known| known.pop().unwrap_or(Known::Unknown));
        }
        answer
            .await
            .map_err(|_| ServiceError::Unavailable("the booking desk stopped; retry".into()))?
    }
}

/// Registers a request id as being booked for as long as the guard lives.
struct InFlight {
    map: Arc<Mutex<HashMap<String, usize>>>,
    request_id: String,
}

impl InFlight {
    fn enter(map: &Arc<Mutex<HashMap<String, usize>>>, request_id: &str) -> Self {
        *map.lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(request_id.to_owned())
            .or_default() += 1;
        Self {
            map: Arc::clone(map),
            request_id: request_id.to_owned(),
        }
    }

    fn count(map: &Mutex<HashMap<String, usize>>, request_id: &str) -> usize {
        map.lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(request_id)
            .copied()
            .unwrap_or(0)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.request_id) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.request_id);
            }
        }
    }
}

/// The request id rules of `kit::idempotency::once`, checked before the gate.
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

fn reused() -> ServiceError {
    ServiceError::refused(
        REQUEST_ID_REUSED,
        "this request_id was already used for a different request",
    )
}

fn is_slot_full(e: &ServiceError) -> bool {
    matches!(e, ServiceError::Status(s) if kit::error::reason_of(s).as_deref() == Some(Refusal::SlotFull.reason()))
}

/// One booking in its own transaction through `kit::idempotency::once`: the path for slots
/// without a gate and the fallback of a failed group.
async fn book_one(db: &Db, attempt: Attempt) -> Result<pb::Appointment, ServiceError> {
    let Attempt {
        request,
        row,
        entry,
    } = attempt;
    once(db, RPC, &request.request_id, &request, move |conn| {
        Box::pin(async move {
            if !store::take_seat(conn, &row.office_id, row.date, &row.slot).await? {
                let offered = store::slot_exists(conn, &row.office_id, row.date, &row.slot).await?;
                return Err(if offered {
                    Refusal::SlotFull
                } else {
                    Refusal::SlotNotOffered
                }
                .into());
            }
            store::insert_appointment(conn, &row, kit::now_ms()).await?;
            auth::audit::append(conn, &[entry]).await?;
            Ok(appointment(&row))
        })
    })
    .await
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

async fn run_commits(db: Db, mut queue: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(COMMIT_BATCH);
    while queue.recv_many(&mut batch, COMMIT_BATCH).await > 0 {
        let outcomes = match commit_group(&db, &batch).await {
            Ok(outcomes) => outcomes,
            Err(e) => {
                tracing::warn!(error = %e, bookings = batch.len(), "booking group failed; booking one by one");
                vec![Outcome::Alone; batch.len()]
            }
        };
        for (pending, outcome) in batch.drain(..).zip(outcomes) {
            let Pending {
                attempt,
                gate,
                permit,
                reply,
                ..
            } = pending;
            let answer = match outcome {
                Outcome::Alone => book_alone(&db, attempt, &gate, permit).await,
                outcome => {
                    settle(&gate, permit, &outcome);
                    match outcome {
                        Outcome::Answered(first) => Ok(first),
                        Outcome::Reused => Err(reused()),
                        Outcome::Full => Err(Refusal::SlotFull.into()),
                        Outcome::NotOffered => Err(Refusal::SlotNotOffered.into()),
                        Outcome::Booked | Outcome::Alone => Ok(appointment(&attempt.row)),
                    }
                }
            };
            // The caller may have gone away (deadline); the booking stands either way.
            let _ = reply.send(answer);
        }
    }
}

/// Commits a group of attempts in one transaction; returns each one's outcome, in order.
///
/// Lock order, the same in every group and as in a single booking: idempotency keys (sorted by
/// request id), then slot rows (sorted by slot), then the audit head.
async fn commit_group(db: &Db, group: &[Pending]) -> Result<Vec<Outcome>, ServiceError> {
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
    let mut tx = db.begin().await?;
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
    for ((office_id, date, slot), members) in &by_slot {
        let wanted = i64::try_from(members.len()).unwrap_or(i64::MAX);
        let taken = store::take_seats(&mut tx, office_id, *date, slot, wanted).await?;
        for (n, &i) in members.iter().enumerate() {
            outcomes[i] = match taken {
                None => Outcome::NotOffered,
                Some(taken) if (n as i64) < taken => Outcome::Booked,
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
    let entries: Vec<AuditEntry> = booked.iter().map(|&i| group[i].attempt.entry.clone()).collect();
    auth::audit::append(&mut tx, &entries).await?;
    tx.commit().await?;
    Ok(outcomes)
}

async fn run_lookups(db: Db, mut queue: mpsc::Receiver<Lookup>) {
    let mut batch = Vec::with_capacity(LOOKUP_BATCH);
    while queue.recv_many(&mut batch, LOOKUP_BATCH).await > 0 {
        match lookup_now(&db, &batch).await {
            Ok(known) => {
                for (lookup, known) in batch.drain(..).zip(known) {
                    let _ = lookup.reply.send(Ok(known));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, lookups = batch.len(), "request id lookup failed");
                for lookup in batch.drain(..) {
                    let _ = lookup.reply.send(Err(ServiceError::Unavailable(
                        "the booking store is unavailable; retry".into(),
                    )));
                }
            }
        }
    }
}

/// Looks request ids up in one query: unknown, answered before, or used for another request.
async fn lookup_now(db: &Db, lookups: &[Lookup]) -> Result<Vec<Known>, ServiceError> {
    let ids: Vec<&str> = lookups
        .iter()
        .map(|l| l.request_id.as_str())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let stored = {
        let mut conn = db.pool.acquire().await?;
        keys::stored_keys(&mut conn, RPC, &ids).await?
    };
    lookups
        .iter()
        .map(|l| match stored.get(&l.request_id) {
            None => Ok(Known::Unknown),
            Some(key) if key.fingerprint != l.fingerprint => Ok(Known::Reused),
            Some(key) => keys::decode_response(&key.response)
                .map(Known::Answer)
                .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("stored response does not decode"))),
        })
        .collect()
}
