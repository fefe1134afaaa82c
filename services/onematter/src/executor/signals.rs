//! Wakes the watchers of a case when this process writes one of its updates.
//!
//! Every transaction that appends to `case_events` (a claim, a recorded attempt, an operator's
//! action, a death registration joining a case) is followed, once committed, by
//! [`CaseSignals::notify`] with the case id. WatchCase streams subscribe and read the store only
//! when their own case moved, instead of each polling it; updates written by another replica
//! (PostgreSQL, several aggregators) reach them through a slow fallback poll.

use tokio::sync::broadcast;

/// A broadcast of "case X has new updates" within one process.
#[derive(Debug, Clone)]
pub struct CaseSignals(broadcast::Sender<String>);

impl Default for CaseSignals {
    fn default() -> Self {
        // Lagging receivers lose signals, not updates: they re-read the store (see WatchCase).
        Self(broadcast::channel(1024).0)
    }
}

impl CaseSignals {
    /// Tells the watchers of `case_id` that it has new updates (nobody listening is fine).
    pub fn notify(&self, case_id: &str) {
        let _ = self.0.send(case_id.to_owned());
    }

    pub fn subscribe(&self) -> broadcast::Receiver<String> {
        self.0.subscribe()
    }
}
