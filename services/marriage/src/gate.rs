//! In-process admission gate per slot: on a peak day (5月20日) thousands of attempts race for a
//! few seats, and all but a few must be refused. Sending every one of them through a write
//! transaction makes the refusals queue behind the bookings; the gate refuses them at once.
//!
//! The gate is only an estimate of the free seats. The database's conditional UPDATE stays the
//! source of truth: an admitted attempt may still be refused there (another replica took the
//! seat), and then the gate learns the slot is full. What the gate must not do is keep refusing
//! when seats are free, so:
//! - a cancellation or a quota change in this process re-opens it at once
//!   ([`SlotGates::seat_freed`], [`SlotGates::forget`]);
//! - a seat freed by another replica is seen when a full gate re-reads the store, at most once per
//!   [`REFRESH_AFTER_MS`], and only when no admitted attempt is still in flight (their outcome is
//!   fresher news than a read, and counting them twice would under-estimate).
//!
//! Counts are atomics; no lock is held across an await.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use time::Date;
use tokio::sync::OnceCell;

/// How long a full gate trusts itself before re-reading the store.
pub const REFRESH_AFTER_MS: u64 = 1_000;

/// Gates kept before slots of past days are dropped from the map.
const PRUNE_ABOVE: usize = 4_096;

/// Milliseconds on a process-wide monotonic clock (the gate never needs wall time).
pub fn monotonic_ms() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// One slot of one office on one day.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SlotKey {
    pub office_id: String,
    pub date: Date,
    pub slot: String,
}

/// The admission state of one slot.
#[derive(Debug)]
pub struct SlotGate {
    /// Seats believed free, minus the attempts admitted and not yet settled.
    remaining: AtomicI64,
    /// Admitted attempts not yet settled.
    in_flight: AtomicI64,
    /// When the store last told us the free seats (a read, or a refusal for a full slot).
    read_at_ms: AtomicU64,
}

impl SlotGate {
    /// A gate for a slot with `free` seats, as read from the store at `now_ms`.
    pub fn new(free: i64, now_ms: u64) -> Arc<Self> {
        Arc::new(SlotGate {
            remaining: AtomicI64::new(free.max(0)),
            in_flight: AtomicI64::new(0),
            read_at_ms: AtomicU64::new(now_ms),
        })
    }

    /// Admits one attempt if a seat is believed free.
    pub fn try_admit(self: &Arc<Self>) -> Option<Permit> {
        self.remaining
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |r| {
                (r > 0).then_some(r - 1)
            })
            .ok()?;
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        Some(Permit {
            gate: Arc::clone(self),
            settled: false,
        })
    }

    /// True for the one caller that should re-read the store now: the gate is full, nothing
    /// admitted is in flight, and the last reading is at least [`REFRESH_AFTER_MS`] old.
    pub fn claim_refresh(&self, now_ms: u64) -> bool {
        if self.remaining.load(Ordering::Acquire) > 0 || self.in_flight.load(Ordering::Acquire) > 0
        {
            return false;
        }
        let read_at = self.read_at_ms.load(Ordering::Acquire);
        now_ms.saturating_sub(read_at) >= REFRESH_AFTER_MS
            && self
                .read_at_ms
                .compare_exchange(read_at, now_ms, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
    }

    /// Takes the store's free seats as the new estimate (after [`claim_refresh`](Self::claim_refresh)).
    pub fn refreshed(&self, free: i64, now_ms: u64) {
        self.remaining.store(free.max(0), Ordering::Release);
        self.read_at_ms.store(now_ms, Ordering::Release);
    }

    /// A seat came back (a cancellation committed in this process).
    pub fn seat_freed(&self) {
        self.remaining.fetch_add(1, Ordering::AcqRel);
    }

    /// A seat was taken by an attempt that held no permit (a retry of a request id in flight).
    pub fn seat_taken(&self) {
        self.remaining.fetch_sub(1, Ordering::AcqRel);
    }

    /// The store refused a seat: the slot is full as of `now_ms`.
    pub fn slot_full(&self, now_ms: u64) {
        self.remaining.store(0, Ordering::Release);
        self.read_at_ms.store(now_ms, Ordering::Release);
    }

    /// Seats the gate currently believes free (for tests and metrics).
    pub fn remaining(&self) -> i64 {
        self.remaining.load(Ordering::Acquire)
    }
}

/// One admitted attempt's claim on a seat. Settle it with the store's answer; dropping it
/// unsettled (the attempt took no seat, or failed) gives the seat back to the gate.
#[derive(Debug)]
pub struct Permit {
    gate: Arc<SlotGate>,
    settled: bool,
}

impl Permit {
    /// The attempt took its seat.
    pub fn booked(mut self) {
        self.settle();
    }

    /// The store found the slot full (another replica took the seats).
    pub fn slot_full(mut self, now_ms: u64) {
        self.gate.slot_full(now_ms);
        self.settle();
    }

    fn settle(&mut self) {
        self.settled = true;
        self.gate.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if !self.settled {
            self.gate.remaining.fetch_add(1, Ordering::AcqRel);
            self.gate.in_flight.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// One office on one day: gates are loaded a day at a time (one query for all its slots).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct DayKey {
    office_id: String,
    date: Date,
}

impl SlotKey {
    fn day(&self) -> DayKey {
        DayKey {
            office_id: self.office_id.clone(),
            date: self.date,
        }
    }
}

/// The gates of the slots of one office-day, as offered when they were loaded.
#[derive(Debug)]
struct DayGates {
    loaded_at_ms: u64,
    slots: HashMap<String, Arc<SlotGate>>,
}

type DayCell = Arc<OnceCell<DayGates>>;

/// The gates of every office-day this process has seen, each loaded from the store on first
/// use. A slot missing from a loaded day (opened since, by another replica) reloads the day, at
/// most once per [`REFRESH_AFTER_MS`]; until then it has no gate and is booked the plain way.
#[derive(Debug, Default)]
pub struct SlotGates {
    days: Mutex<HashMap<DayKey, DayCell>>,
}

impl SlotGates {
    /// The gate of `key`, loading its day on first use with `free_seats_of_day` (each offered
    /// slot of the day and its free seats); concurrent first uses share one load. `None` when
    /// the slot is not offered.
    pub async fn get<F, Fut, E>(
        &self,
        key: &SlotKey,
        free_seats_of_day: F,
    ) -> Result<Option<Arc<SlotGate>>, E>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Vec<(String, i64)>, E>>,
    {
        let day = key.day();
        for _ in 0..2 {
            let cell = self.cell(&day);
            let gates = cell
                .get_or_try_init(|| async {
                    let free = free_seats_of_day().await?;
                    let now = monotonic_ms();
                    Ok::<_, E>(DayGates {
                        loaded_at_ms: now,
                        slots: free
                            .into_iter()
                            .map(|(slot, free)| (slot, SlotGate::new(free, now)))
                            .collect(),
                    })
                })
                .await?;
            if let Some(gate) = gates.slots.get(&key.slot) {
                return Ok(Some(Arc::clone(gate)));
            }
            if monotonic_ms().saturating_sub(gates.loaded_at_ms) < REFRESH_AFTER_MS {
                return Ok(None);
            }
            self.forget_cell(&day, &cell);
        }
        Ok(None)
    }

    fn cell(&self, day: &DayKey) -> DayCell {
        let mut days = self.days.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(cell) = days.get(day) {
            return Arc::clone(cell);
        }
        if days.len() >= PRUNE_ABOVE {
            let today = kit::today_cst();
            days.retain(|k, _| k.date >= today);
        }
        Arc::clone(days.entry(day.clone()).or_default())
    }

    /// Drops `cell` if it is still the day's (a concurrent reload may have replaced it).
    fn forget_cell(&self, day: &DayKey, cell: &DayCell) {
        let mut days = self.days.lock().unwrap_or_else(|p| p.into_inner());
        if days.get(day).is_some_and(|c| Arc::ptr_eq(c, cell)) {
            days.remove(day);
        }
    }

    /// A cancellation in this process gave a seat back.
    pub fn seat_freed(&self, key: &SlotKey) {
        let cell = self
            .days
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key.day())
            .cloned();
        if let Some(gate) = cell
            .as_ref()
            .and_then(|c| c.get()?.slots.get(&key.slot).cloned())
        {
            gate.seat_freed();
        }
    }

    /// A quota of the slot's day changed: the next attempt reloads the day from the store.
    pub fn forget(&self, key: &SlotKey) {
        self.days
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&key.day());
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    fn key() -> SlotKey {
        SlotKey {
            office_id: "office".into(),
            date: date!(2026 - 05 - 20),
            slot: "09:00-09:30".into(),
        }
    }

    #[test]
    fn a_gate_admits_as_many_attempts_as_there_are_free_seats() {
        let gate = SlotGate::new(2, 0);
        let first = gate.try_admit().expect("first seat");
        let second = gate.try_admit().expect("second seat");
        assert!(gate.try_admit().is_none(), "the third is refused at once");
        first.booked();
        second.booked();
        assert_eq!(gate.remaining(), 0);
    }

    #[test]
    fn an_attempt_that_took_no_seat_gives_its_permit_back() {
        let gate = SlotGate::new(1, 0);
        drop(gate.try_admit().expect("admitted"));
        assert_eq!(gate.remaining(), 1);
        assert!(gate.try_admit().is_some());
    }

    #[test]
    fn a_store_refusal_closes_the_gate_even_when_it_believed_seats_were_free() {
        let gate = SlotGate::new(5, 0);
        gate.try_admit().expect("admitted").slot_full(10);
        assert_eq!(gate.remaining(), 0);
        assert!(gate.try_admit().is_none());
    }

    #[test]
    fn a_full_gate_rereads_the_store_at_most_once_per_second() {
        let gate = SlotGate::new(0, 1_000);
        assert!(!gate.claim_refresh(1_500), "too early");
        assert!(gate.claim_refresh(2_000));
        assert!(!gate.claim_refresh(2_000), "one reader per period");
        gate.refreshed(1, 2_000);
        assert!(
            gate.try_admit().is_some(),
            "a seat freed elsewhere is found"
        );
    }

    #[test]
    fn a_full_gate_does_not_reread_while_admitted_attempts_are_in_flight() {
        let gate = SlotGate::new(1, 0);
        let permit = gate.try_admit().expect("admitted");
        assert!(!gate.claim_refresh(5_000));
        permit.booked();
        assert!(gate.claim_refresh(5_000));
    }

    fn day(slots: &[(&str, i64)]) -> Vec<(String, i64)> {
        slots.iter().map(|(s, f)| (s.to_string(), *f)).collect()
    }

    #[tokio::test]
    async fn a_gate_is_loaded_once_and_reopened_by_a_cancellation_or_forgotten_on_a_quota_change() {
        let gates = SlotGates::default();
        let loads = std::sync::atomic::AtomicUsize::new(0);
        let load = |free: i64| {
            let loads = &loads;
            move || async move {
                loads.fetch_add(1, Ordering::SeqCst);
                Ok::<_, ()>(day(&[("09:00-09:30", free), ("10:00-10:30", 5)]))
            }
        };
        let gate = gates
            .get(&key(), load(1))
            .await
            .expect("ok")
            .expect("offered");
        let again = gates
            .get(&key(), load(99))
            .await
            .expect("ok")
            .expect("offered");
        assert!(Arc::ptr_eq(&gate, &again), "loaded once");
        let other = SlotKey {
            slot: "10:00-10:30".into(),
            ..key()
        };
        let sibling = gates
            .get(&other, load(99))
            .await
            .expect("ok")
            .expect("offered");
        assert_eq!(
            sibling.remaining(),
            5,
            "the whole day came with the first load"
        );
        assert_eq!(loads.load(Ordering::SeqCst), 1);

        gate.try_admit().expect("the seat").booked();
        assert!(gate.try_admit().is_none());
        gates.seat_freed(&key());
        assert!(gate.try_admit().is_some(), "a cancellation re-opens it");

        gates.forget(&key());
        let reloaded = gates
            .get(&key(), load(7))
            .await
            .expect("ok")
            .expect("offered");
        assert_eq!(reloaded.remaining(), 7);
    }

    #[tokio::test]
    async fn a_slot_not_offered_has_no_gate() {
        let gates = SlotGates::default();
        let missing = gates
            .get(&key(), || async { Ok::<_, ()>(Vec::new()) })
            .await
            .expect("ok");
        assert!(missing.is_none());
    }
}
