//! One audit row as an export carries it.

use serde::{Deserialize, Serialize};

use crate::audit::AuditRecord;

/// One audit row in an export.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportRow {
    pub seq: i64,
    pub at_ms: i64,
    pub actor: String,
    pub on_behalf_of: String,
    pub action: String,
    pub object: String,
    pub outcome: String,
    pub trace_id: String,
    pub purpose: String,
    pub prev_hash: String,
    pub hash: String,
    /// Added later: absent in older exports (their rows hash without them).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub person: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub organisation: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub role: String,
    /// Non-zero on a purged row (tombstone): the purge's own row.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub purged_by: i64,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

impl From<AuditRecord> for ExportRow {
    fn from(r: AuditRecord) -> Self {
        let e = r.entry;
        Self {
            seq: r.seq,
            at_ms: r.at_ms,
            actor: e.actor,
            on_behalf_of: e.on_behalf_of,
            action: e.action,
            object: e.object,
            outcome: e.outcome,
            trace_id: e.trace_id,
            purpose: e.purpose,
            prev_hash: r.prev_hash,
            hash: r.hash,
            person: e.person,
            organisation: e.organisation,
            role: e.role,
            purged_by: r.purged_by,
        }
    }
}

impl ExportRow {
    pub(super) fn record(&self) -> AuditRecord {
        AuditRecord {
            seq: self.seq,
            at_ms: self.at_ms,
            entry: self.entry(),
            prev_hash: self.prev_hash.clone(),
            hash: self.hash.clone(),
            purged_by: self.purged_by,
        }
    }

    pub(super) fn entry(&self) -> crate::audit::AuditEntry {
        crate::audit::AuditEntry {
            actor: self.actor.clone(),
            on_behalf_of: self.on_behalf_of.clone(),
            action: self.action.clone(),
            object: self.object.clone(),
            outcome: self.outcome.clone(),
            trace_id: self.trace_id.clone(),
            purpose: self.purpose.clone(),
            person: self.person.clone(),
            organisation: self.organisation.clone(),
            role: self.role.clone(),
        }
    }
}
