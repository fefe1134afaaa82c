//! State and steps several RPCs share: the search index and naming policy, the naming-writes
//! lock, index changes applied after commit, and loading a record with its region check.

use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};

use auth::Role;
use kit::rpc::Call;
use kit::{ServiceError, Violations};

use super::limits;
use crate::domain::Refusal;
use crate::domain::name::pinyin_forms;
use crate::domain::naming::{self, Existing, NamingPolicy, Proposal, Warning};
use crate::index::{Entry, SearchIndex};
use crate::store::{self, ApplicationRow, PlaceRow};

/// Writes are the place-name officer's.
pub const OFFICER: &[Role] = &[Role::PlaceNameOfficer];

/// Shared, in-process search index. Writers hold it only to apply a committed change.
pub type SharedIndex = Arc<RwLock<SearchIndex>>;

/// What the handlers share besides kit's [`kit::rpc::Rpc`].
pub struct Places {
    pub index: SharedIndex,
    pub policy: NamingPolicy,
    /// Serialises the writes that check names against the index (submit, approve, publish,
    /// import) within this process, from the check through the commit to the index update:
    /// a concurrent write could otherwise change the names between check and commit.
    pub writes: tokio::sync::Mutex<()>,
}

impl Places {
    pub fn read_index(&self) -> RwLockReadGuard<'_, SearchIndex> {
        self.index.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs the naming checks of a proposal against the records sharing its name or sound.
    pub fn check(&self, proposal: &Proposal<'_>) -> Result<Vec<Warning>, Refusal> {
        let index = self.read_index();
        let pinyin = pinyin_forms(proposal.name).full;
        let mut candidates: Vec<&Entry> = index.with_name(proposal.name).collect();
        candidates.extend(
            index
                .with_pinyin(&pinyin)
                .filter(|e| e.name != proposal.name),
        );
        naming::check_proposal(
            &self.policy,
            proposal,
            candidates.into_iter().map(|e| Existing {
                id: &e.id,
                code: &e.code,
                name: &e.name,
                pinyin_full: &e.pinyin_full,
                category: e.category,
                region: &e.region,
                status: e.status,
            }),
        )
    }
}

/// Index changes made by a write, applied once its transaction committed.
#[derive(Default)]
pub struct Pending(Mutex<Vec<Entry>>);

impl Pending {
    pub fn push(&self, e: Entry) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(e);
    }

    /// Applies the changes when the write succeeded (a replay or a failure pushed nothing or
    /// must not be applied).
    pub fn apply_if<T>(self, result: &Result<T, tonic::Status>, index: &SharedIndex) {
        let entries = self.0.into_inner().unwrap_or_else(|p| p.into_inner());
        if result.is_err() || entries.is_empty() {
            return;
        }
        let mut index = index.write().unwrap_or_else(|p| p.into_inner());
        for e in entries {
            index.upsert(e);
        }
    }
}

/// Authorize step: loads an application and checks the caller's region.
pub async fn officer_application(c: &mut Call, id: &str) -> Result<ApplicationRow, ServiceError> {
    let mut v = Violations::new();
    limits::id(&mut v, id, "application_id");
    v.finish()?;
    c.object(format!("namingApplications/{id}"));
    let app = store::application_by_id(c.db(), id)
        .await?
        .ok_or_else(|| ServiceError::not_found(format!("namingApplications/{id}")))?;
    c.authorize(OFFICER, Some(&app.region))?;
    Ok(app)
}

/// Loads a place-name record by the id in `field`.
pub async fn place(c: &mut Call, id: &str, field: &str) -> Result<PlaceRow, ServiceError> {
    let mut v = Violations::new();
    limits::id(&mut v, id, field);
    v.finish()?;
    store::place_by_id(c.db(), id)
        .await?
        .ok_or_else(|| ServiceError::not_found(format!("placeNames/{id}")))
}
