//! What a handler's steps see of the call: the caller, the connection (the write's
//! transaction), the clock, and what the audit row will say.

use auth::audit::AuditEntry;
use auth::{Principal, Role};
use sqlx::{Any, AnyConnection};
use time::Date;

use super::Rpc;
use crate::error::ServiceError;

pub(super) enum Conn {
    /// A write: everything happens in this transaction.
    Tx(sqlx::Transaction<'static, Any>),
    /// A read: a pooled connection.
    Pooled(sqlx::pool::PoolConnection<Any>),
}

/// One call in progress. The authorize and effect steps of [`Rpc::write`] and [`Rpc::read`]
/// get it as `&mut Call`.
pub struct Call {
    pub(super) rpc: Rpc,
    pub(super) principal: Principal,
    pub(super) action: String,
    pub(super) object: String,
    pub(super) person: String,
    pub(super) purpose: String,
    pub(super) extra: Vec<String>,
    pub(super) quiet: bool,
    pub(super) conn: Conn,
    now_ms: i64,
    today: Date,
}

impl Call {
    pub(super) fn new(rpc: &Rpc, principal: Principal, action: String, conn: Conn) -> Self {
        let clock = rpc.clock();
        Self {
            now_ms: clock.now_ms(),
            today: clock.today(),
            rpc: rpc.clone(),
            principal,
            action,
            object: String::new(),
            person: String::new(),
            purpose: String::new(),
            extra: Vec::new(),
            quiet: false,
            conn,
        }
    }

    /// The authenticated caller.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The connection: in a write, the transaction the effect, the audit row, the outbox
    /// events and the idempotency key share.
    pub fn db(&mut self) -> &mut AnyConnection {
        match &mut self.conn {
            Conn::Tx(tx) => tx,
            Conn::Pooled(c) => c,
        }
    }

    /// The service's shared state (sealer, cache, calendar, context).
    pub fn rpc(&self) -> &Rpc {
        &self.rpc
    }

    /// The PII sealer.
    pub fn sealer(&self) -> &crate::pii::Sealer {
        self.rpc.sealer()
    }

    /// The instant the call started (unix milliseconds, from the service's clock).
    pub fn now_ms(&self) -> i64 {
        self.now_ms
    }

    /// Today in China Standard Time, from the service's clock.
    pub fn today(&self) -> Date {
        self.today
    }

    /// The audit action: `<service>.<Rpc>`.
    pub fn action(&self) -> &str {
        &self.action
    }

    /// Role and region check: the caller holds one of `roles` and, when the record has a
    /// region, covers it. PERMISSION_DENIED otherwise.
    pub fn authorize(&self, roles: &[Role], region: Option<&str>) -> Result<(), ServiceError> {
        self.principal
            .authorize(roles, region)
            .map_err(ServiceError::Status)
    }

    /// Names the record the audit row is about (an id or a blind index, never an identity
    /// number). A refused attempt is audited with the object named so far.
    pub fn object(&mut self, name: impl Into<String>) {
        self.object = name.into();
    }

    /// Names the person the record belongs to, by blind index (the sealer's `index`): the
    /// row then shows in that person's view of who used their data (我的数据谁用了).
    pub fn person(&mut self, index: impl Into<String>) {
        self.person = index.into();
    }

    /// Why the data was read or changed (recorded in the audit row).
    pub fn purpose(&mut self, purpose: impl Into<String>) {
        self.purpose = purpose.into();
    }

    /// Audits one more record touched by this call (same action).
    pub fn also_audit(&mut self, object: impl Into<String>) {
        self.extra.push(object.into());
    }

    /// This read touches no personal record (public lists): no read-audit row on success.
    pub fn quiet(&mut self) {
        self.quiet = true;
    }

    /// Appends a domain event to the outbox, in the write's transaction.
    pub async fn publish<M: prost::Message>(
        &mut self,
        topic: &str,
        event_type: &str,
        key: &str,
        event: &M,
    ) -> Result<(), ServiceError> {
        crate::outbox::append(self.db(), topic, event_type, key, event).await?;
        Ok(())
    }

    /// The audit rows of this call with `outcome`.
    pub(super) fn audit_rows(&self, outcome: &str) -> Vec<AuditEntry> {
        let trace = crate::telemetry::current_trace_id();
        // The person named is the main record's; extra records name their own object only.
        std::iter::once((&self.object, self.person.as_str()))
            .chain(self.extra.iter().map(|o| (o, "")))
            .map(|(object, person)| {
                AuditEntry::new(&self.principal, &self.action, object)
                    .with_trace_id(trace.clone())
                    .with_outcome(outcome)
                    .with_purpose(&self.purpose)
                    .with_person(person)
            })
            .collect()
    }
}
