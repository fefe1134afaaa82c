//! The handler pipeline: one [`Rpc::write`] and one [`Rpc::read`] for every RPC of every
//! service.
//!
//! ```text
//! caller (the auth layer already checked the role against permissions.toml)
//!   -> authorize(&mut Call, &Req)      region / ownership, on the raw request; may load the record
//!   -> decode: In::try_from(Req)       every violation at once (INVALID_ARGUMENT)
//!   -> idempotency                     (rpc, caller, request id); a replay gets the sealed answer
//!   -> effect(&mut Call, In, Scope)    domain + store + outbox, in the write's transaction
//!   -> audit row `<service>.<Rpc>`     in the same transaction (reads: the read-audit writer)
//!   -> response mask                   fields the caller profile may not see (crate::mask)
//! ```
//! A refused or failed attempt is audited with its outcome; errors map through
//! [`crate::error::to_status`].
//!
//! ```ignore
//! pub async fn handle(rpc: &Rpc, request: Request<pb::GrantRatingRequest>) -> Result<Response<pb::Rating>, Status> {
//!     rpc.write(
//!         request,
//!         async |c, req| authorized_org(c, &req.organisation_id).await,  // -> OrgRow
//!         async |c, grant: Grant, org| {
//!             let rating = rating::grant(&grant, c.today())?;
//!             store::insert_rating(c.db(), &org.id, &rating).await?;
//!             Ok(convert::rating_out(&rating))
//!         },
//!     )
//!     .await
//! }
//! ```

mod call;
mod lookup;
mod refusal;
mod text;

use std::sync::Arc;

use auth::audit::AuditWriter;
use prost::Message;
use tonic::{Request, Response, Status};

pub use call::Call;
use call::Conn;
pub use refusal::Refusal;
pub use text::{LONG_MAX, NAME_MAX, SHORT_MAX, Text};

use crate::audited::outcome_of;
use crate::context::ServiceContext;
use crate::error::{ServiceError, Violations, to_status};
use crate::idempotency::{self, Scope};
use crate::store::Db;

/// A service's shared state, built once at mount: store, sealer, read-audit writer, cache,
/// clock, calendar. Cheap to clone.
#[derive(Clone)]
pub struct Rpc(Arc<Inner>);

struct Inner {
    ctx: ServiceContext,
    db: Db,
    reads: AuditWriter,
    evidence: Arc<crate::trust::Evidence>,
}

/// The RPC a request calls (`RegisterOrganisation`), put in the request's extensions by
/// `kit::server` from the HTTP path.
#[derive(Clone, Debug)]
pub struct Method(pub String);

impl Method {
    /// From an HTTP path `/pkg.Service/Rpc`.
    pub fn from_path(path: &str) -> Self {
        Method(path.rsplit('/').next().unwrap_or_default().to_owned())
    }
}

/// Field 1 of every write request: `string request_id = 1` (AIP-155).
#[derive(Clone, PartialEq, prost::Message)]
struct RequestIdOnly {
    #[prost(string, tag = "1")]
    request_id: String,
}

impl Rpc {
    /// Builds the handle; starts the read-audit writer.
    pub fn new(ctx: &ServiceContext, db: Db) -> Self {
        let reads = AuditWriter::spawn(db.pool.clone());
        // The evidence log: this service's sealer and signer; its read-audit writer takes the
        // auth layer's security events for its methods.
        let trust = crate::trust::settings_of(ctx.self_addr, &ctx.config);
        let evidence = crate::trust::Evidence::spawn(
            db.pool.clone(),
            &trust,
            ctx.shutdown.clone(),
            &ctx.tasks,
        );
        crate::trust::register_writer(ctx.self_addr, ctx.name, reads.clone());
        let rpc = Self(Arc::new(Inner {
            ctx: ctx.clone(),
            db,
            reads,
            evidence,
        }));
        crate::trust::register_trail(ctx.self_addr, ctx.name, rpc.clone());
        rpc
    }

    pub fn ctx(&self) -> &ServiceContext {
        &self.0.ctx
    }

    pub fn db(&self) -> &Db {
        &self.0.db
    }

    pub fn sealer(&self) -> &crate::pii::Sealer {
        &self.0.ctx.sealer
    }

    pub fn cache(&self) -> &crate::cache::Cache {
        &self.0.ctx.cache
    }

    pub fn clock(&self) -> &crate::clock::Clock {
        &self.0.ctx.clock
    }

    pub fn calendar(&self) -> &civil_calendar::HolidayCalendar {
        &self.0.ctx.calendar
    }

    /// The read-audit writer (reads audit through [`Rpc::read`]; jobs may use it directly).
    pub fn reads(&self) -> &AuditWriter {
        &self.0.reads
    }

    /// A write: authorize, decode, then the effect once per (caller, request id) in one
    /// transaction with its audit row and outbox events. See the module documentation.
    pub async fn write<Req, In, S, Resp>(
        &self,
        request: Request<Req>,
        authorize: impl AsyncFnOnce(&mut Call, &Req) -> Result<S, ServiceError>,
        effect: impl AsyncFnOnce(&mut Call, In, S) -> Result<Resp, ServiceError>,
    ) -> Result<Response<Resp>, Status>
    where
        Req: Message,
        In: TryFrom<Req>,
        In::Error: Into<ServiceError>,
        Resp: Message + prost::Name + Default,
    {
        let principal = auth::principal(&request)?.clone();
        let action = self.action(&request);
        let hidden = hidden_of(&request);
        let req = request.into_inner();
        let tx = self.db().begin().await.map_err(|e| to_status(e.into()))?;
        let mut call = Call::new(self, principal, action, Conn::Tx(tx));
        let result = write_steps(&mut call, req, authorize, effect).await;
        let result = match result {
            Ok(response) => match call.conn {
                Conn::Tx(tx) => tx.commit().await.map(|()| response).map_err(Into::into),
                Conn::Pooled(_) => Ok(response),
            },
            Err(e) => {
                if let Conn::Tx(tx) = call.conn {
                    let _ = tx.rollback().await;
                }
                Err(e)
            }
        };
        self.finish(
            &call.principal,
            &call.action,
            &call.object,
            &call.person,
            &call.purpose,
            result,
        )
        .await
        .and_then(|r| masked(hidden.as_ref(), r))
    }

    /// A read: authorize, decode, effect on a pooled connection; the read is audited
    /// (`<service>.<Rpc>`, the object the steps named) unless the call was marked quiet. The
    /// answer leaves without the fields the caller's profile may not see ([`crate::mask`]).
    pub async fn read<Req, In, S, Resp>(
        &self,
        request: Request<Req>,
        authorize: impl AsyncFnOnce(&mut Call, &Req) -> Result<S, ServiceError>,
        effect: impl AsyncFnOnce(&mut Call, In, S) -> Result<Resp, ServiceError>,
    ) -> Result<Response<Resp>, Status>
    where
        In: TryFrom<Req>,
        In::Error: Into<ServiceError>,
        Resp: Message + prost::Name + Default,
    {
        let hidden = hidden_of(&request);
        self.read_steps(request, authorize, effect)
            .await
            .and_then(|r| masked(hidden.as_ref(), r))
    }

    /// A server-streaming read (the stream is the answer): as [`Rpc::read`], for callers no
    /// profile hides a field from. A call with hidden fields is refused (fail closed): a
    /// profile's mask is not applied to streamed messages, so no profile may list such an RPC
    /// with `hide`.
    pub async fn watch<Req, In, S, Resp>(
        &self,
        request: Request<Req>,
        authorize: impl AsyncFnOnce(&mut Call, &Req) -> Result<S, ServiceError>,
        effect: impl AsyncFnOnce(&mut Call, In, S) -> Result<Resp, ServiceError>,
    ) -> Result<Response<Resp>, Status>
    where
        In: TryFrom<Req>,
        In::Error: Into<ServiceError>,
    {
        if hidden_of(&request).is_some() {
            return Err(Status::internal(
                "a streamed answer cannot be masked for this caller profile",
            ));
        }
        self.read_steps(request, authorize, effect).await
    }

    async fn read_steps<Req, In, S, Resp>(
        &self,
        request: Request<Req>,
        authorize: impl AsyncFnOnce(&mut Call, &Req) -> Result<S, ServiceError>,
        effect: impl AsyncFnOnce(&mut Call, In, S) -> Result<Resp, ServiceError>,
    ) -> Result<Response<Resp>, Status>
    where
        In: TryFrom<Req>,
        In::Error: Into<ServiceError>,
    {
        let principal = auth::principal(&request)?.clone();
        let action = self.action(&request);
        let req = request.into_inner();
        let conn = self
            .db()
            .pool
            .acquire()
            .await
            .map_err(|e| to_status(e.into()))?;
        let mut call = Call::new(self, principal, action, Conn::Pooled(conn));
        let result = async {
            let scope = authorize(&mut call, &req).await?;
            let input = In::try_from(req).map_err(Into::into)?;
            effect(&mut call, input, scope).await
        }
        .await;
        // Give the connection back before the audit row queues (SQLite has one).
        let rows = if result.is_ok() && !call.quiet {
            call.audit_rows("ok")
        } else {
            Vec::new()
        };
        drop(call.conn);
        // The read answers only once its audit rows are durable (group commit).
        let mut result = result;
        for row in rows {
            if self.reads().record_durable(row).await.is_err() {
                result = Err(ServiceError::Status(crate::trust::audit_unavailable()));
                break;
            }
        }
        self.finish(
            &call.principal,
            &call.action,
            &call.object,
            &call.person,
            &call.purpose,
            result,
        )
        .await
    }

    /// `<service>.<Rpc>` from the called method (the server records it on every request).
    fn action<T>(&self, request: &Request<T>) -> String {
        let method = request
            .extensions()
            .get::<Method>()
            .map(|m| m.0.as_str())
            .or_else(|| {
                request
                    .extensions()
                    .get::<tonic::GrpcMethod>()
                    .map(|m| m.method())
            })
            .unwrap_or("Unknown");
        format!("{}.{method}", self.0.ctx.name)
    }

    /// Audits a refused or failed attempt and maps the error.
    async fn finish<Resp>(
        &self,
        principal: &auth::Principal,
        action: &str,
        object: &str,
        person: &str,
        purpose: &str,
        result: Result<Resp, ServiceError>,
    ) -> Result<Response<Resp>, Status> {
        match result {
            Ok(r) => Ok(Response::new(r)),
            Err(e) => {
                let entry = auth::audit::AuditEntry::new(principal, action, object)
                    .with_trace_id(crate::telemetry::current_trace_id())
                    .with_outcome(&outcome_of(&e))
                    .with_purpose(purpose)
                    .with_person(person);
                if self.reads().record_durable(entry).await.is_err() {
                    tracing::error!(action, "refused call could not be audited");
                }
                Err(to_status(e))
            }
        }
    }
}

/// The fields the caller profile may not see, as the auth layer decided them.
fn hidden_of<T>(request: &Request<T>) -> Option<auth::profiles::Hidden> {
    request
        .extensions()
        .get::<auth::profiles::Hidden>()
        .cloned()
}

/// The answer as the caller may see it (a replayed write's stored answer too).
fn masked<Resp>(
    hidden: Option<&auth::profiles::Hidden>,
    response: Response<Resp>,
) -> Result<Response<Resp>, Status>
where
    Resp: Message + prost::Name + Default,
{
    match hidden {
        None => Ok(response),
        Some(h) => crate::mask::apply(h, response.into_inner()).map(Response::new),
    }
}

async fn write_steps<Req, In, S, Resp>(
    call: &mut Call,
    req: Req,
    authorize: impl AsyncFnOnce(&mut Call, &Req) -> Result<S, ServiceError>,
    effect: impl AsyncFnOnce(&mut Call, In, S) -> Result<Resp, ServiceError>,
) -> Result<Resp, ServiceError>
where
    Req: Message,
    In: TryFrom<Req>,
    In::Error: Into<ServiceError>,
    Resp: Message + Default,
{
    let bytes = req.encode_to_vec();
    let request_id = RequestIdOnly::decode(bytes.as_slice())
        .map(|r| r.request_id)
        .unwrap_or_default();
    let fingerprint = idempotency::fingerprint(&req);
    // Authorisation first: a replay is authorised exactly like a first call.
    let scope = authorize(call, &req).await?;
    let input = decode::<Req, In>(req, &request_id)?;
    // Fail closed: no change while the evidence log's signer is behind.
    call.rpc.0.evidence.check_fresh()?;
    let subject = call.principal.subject.clone();
    let sealer = call.rpc.sealer().clone();
    let key = Scope {
        subject: &subject,
        sealer: Some(&sealer),
    };
    let rpc_name = call.action.clone();
    if let Some(stored) =
        idempotency::claim(call.db(), Some(key), &rpc_name, &request_id, &fingerprint).await?
    {
        return Ok(stored);
    }
    let response = effect(call, input, scope).await?;
    let rows = call.audit_rows("ok");
    auth::audit::append(call.db(), &rows).await.map_err(|e| {
        tracing::error!(error = %e, "audit row could not be written; the change is rolled back");
        ServiceError::Status(crate::trust::audit_unavailable())
    })?;
    idempotency::store(call.db(), Some(key), &rpc_name, &request_id, &response).await?;
    Ok(response)
}

/// Decodes the request, the request id's violation listed first with the others.
fn decode<Req, In>(req: Req, request_id: &str) -> Result<In, ServiceError>
where
    In: TryFrom<Req>,
    In::Error: Into<ServiceError>,
{
    let problem = idempotency::request_id_problem(request_id);
    match (In::try_from(req).map_err(Into::into), problem) {
        (Ok(input), None) => Ok(input),
        (Ok(_), Some(p)) => Err(ServiceError::invalid("request_id", p)),
        (Err(ServiceError::InvalidArgument(mut v)), Some(p)) => {
            let first = crate::error::FieldViolation {
                field: "request_id".into(),
                description: p.into(),
            };
            v.insert(0, first);
            Err(ServiceError::InvalidArgument(v))
        }
        (Err(e), _) => Err(e),
    }
}

/// A decode's violations are INVALID_ARGUMENT with every field.
impl From<Violations> for ServiceError {
    fn from(v: Violations) -> Self {
        match v.finish() {
            Err(e) => e,
            Ok(()) => ServiceError::invalid("", "the request is not valid"),
        }
    }
}

/// A request used as it is (`In = Req`, for a read whose checks live in its authorize step).
impl From<std::convert::Infallible> for ServiceError {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}
