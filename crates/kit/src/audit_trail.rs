//! The auditor's API (`civil.audit.v1.AuditTrailService`): query, export and verify the audit trail of
//! each service this process runs.
//!
//! Served by every process (mounted by [`crate::server`], not by a service), for the trails of
//! the services it runs, each named by `trail`. Why not one suite-wide audit service: each
//! service keeps its own chain in its own store and signs its own head, so the trail is read
//! where it is kept and no second copy has to be protected; a deployment that runs services in
//! separate processes gives the auditor one endpoint per process, exactly as `civil
//! audit-export <service>` works on one store.
//!
//! Every call goes through the named trail's [`Rpc::read`] pipeline, so it is authorised (the
//! auth layer: auditor only), decoded with every violation at once, and audited in the trail
//! it reads (`<trail>.QueryTrail`, purpose `audit`) before the answer goes out. The steps work
//! on the pipeline's connection (a SQLite store has one).

use std::net::SocketAddr;

use contracts::civil::audit::v1 as pb;
use pb::audit_trail_service_server::AuditTrailService;
use tonic::{Request, Response, Status};

use crate::error::{ServiceError, Violations};
use crate::paging::Paging;
use crate::rpc::Rpc;

/// Page sizes of QueryTrail: 100 by default, at most 500 (`auth::audit::QUERY_PAGE_MAX`).
pub const PAGING: Paging = Paging::new(100, 500);

/// `purpose` of the rows the auditor's calls leave.
pub const AUDIT_PURPOSE: &str = "audit";

/// The service, for the server at `addr`.
#[derive(Clone, Debug)]
pub struct AuditTrailApi {
    addr: SocketAddr,
}

impl AuditTrailApi {
    pub fn new(addr: SocketAddr) -> Self {
        Self { addr }
    }

    /// The pipeline of the trail's service; NOT_FOUND when this process does not run it.
    fn trail(&self, name: &str) -> Result<Rpc, Status> {
        crate::trust::trail(self.addr, name).ok_or_else(|| {
            crate::to_status(ServiceError::not_found(format!(
                "no audit trail {name:?} in this process"
            )))
        })
    }
}

fn row_of(r: auth::audit::AuditRecord) -> pb::AuditRow {
    pb::AuditRow {
        seq: r.seq,
        at_unix_ms: r.at_ms,
        actor: r.entry.actor,
        on_behalf_of: r.entry.on_behalf_of,
        action: r.entry.action,
        object: r.entry.object,
        outcome: r.entry.outcome,
        trace_id: r.entry.trace_id,
        purpose: r.entry.purpose,
        hash: r.hash,
    }
}

fn some(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

#[tonic::async_trait]
impl AuditTrailService for AuditTrailApi {
    async fn query_trail(
        &self,
        request: Request<pb::QueryTrailRequest>,
    ) -> Result<Response<pb::QueryTrailResponse>, Status> {
        let trail = self.trail(&request.get_ref().trail)?;
        trail
            .read(
                request,
                async |c, _| {
                    c.purpose(AUDIT_PURPOSE);
                    Ok(())
                },
                async |c, req: pb::QueryTrailRequest, ()| {
                    let mut v = Violations::new();
                    // The person's blind index, computed here: the number is neither stored
                    // nor logged, and the audit row of this query names the index.
                    let index = match req.id_number.as_str() {
                        "" => None,
                        n => v.id_number(n, "id_number").map(|id| c.sealer().index(&id)),
                    };
                    v.check(
                        req.from_unix_ms >= 0,
                        "from_unix_ms",
                        "must not be negative",
                    );
                    v.check(
                        req.to_unix_ms == 0 || req.to_unix_ms > req.from_unix_ms,
                        "to_unix_ms",
                        "must be after from_unix_ms (or 0 for no bound)",
                    );
                    let from = req.from_unix_ms.to_string();
                    let to = req.to_unix_ms.to_string();
                    let filter = [
                        req.trail.as_str(),
                        index.as_deref().unwrap_or(""),
                        req.actor.as_str(),
                        req.action.as_str(),
                        req.outcome.as_str(),
                        from.as_str(),
                        to.as_str(),
                    ];
                    let page = PAGING.page(&mut v, req.page_size, &req.page_token, &filter);
                    v.finish()?;
                    let page = page.ok_or_else(|| {
                        ServiceError::invalid("page_token", "is not a page token")
                    })?;
                    c.object(
                        index
                            .clone()
                            .unwrap_or_else(|| format!("trail/{}", req.trail)),
                    );
                    let query = auth::audit::Query {
                        person: index,
                        actor: some(&req.actor),
                        action: some(&req.action),
                        outcome: some(&req.outcome),
                        from_ms: (req.from_unix_ms > 0).then_some(req.from_unix_ms),
                        to_ms: (req.to_unix_ms > 0).then_some(req.to_unix_ms),
                        ..auth::audit::Query::default()
                    };
                    let after = page
                        .cursor()
                        .and_then(|c| c.parse::<i64>().ok())
                        .unwrap_or(0);
                    let found = auth::audit::query_on(c.db(), &query, after, page.limit()).await?;
                    Ok(pb::QueryTrailResponse {
                        next_page_token: found
                            .next_after
                            .map(|seq| page.next_token(&seq.to_string()))
                            .unwrap_or_default(),
                        rows: found.rows.into_iter().map(row_of).collect(),
                    })
                },
            )
            .await
    }

    async fn export_trail(
        &self,
        request: Request<pb::ExportTrailRequest>,
    ) -> Result<Response<pb::ExportTrailResponse>, Status> {
        let trail = self.trail(&request.get_ref().trail)?;
        let signer = crate::trust::settings_of(self.addr, &trail.ctx().config).signer;
        trail
            .read(
                request,
                async |c, req: &pb::ExportTrailRequest| {
                    c.purpose(AUDIT_PURPOSE);
                    c.object(format!("trail/{}", req.trail));
                    Ok(())
                },
                async |c, req: pb::ExportTrailRequest, ()| {
                    let now = crate::now_ms();
                    let export =
                        auth::evidence::export_on(c.db(), &req.trail, &signer, now).await?;
                    let json = serde_json::to_vec_pretty(&export).map_err(|e| {
                        ServiceError::Status(Status::internal(format!("export: {e}")))
                    })?;
                    Ok(pb::ExportTrailResponse {
                        format: export.format.clone(),
                        rows: export.rows.len() as i64,
                        export_json: json,
                    })
                },
            )
            .await
    }

    async fn verify_trail(
        &self,
        request: Request<pb::VerifyTrailRequest>,
    ) -> Result<Response<pb::VerifyTrailResponse>, Status> {
        let trail = self.trail(&request.get_ref().trail)?;
        trail
            .read(
                request,
                async |c, req: &pb::VerifyTrailRequest| {
                    c.purpose(AUDIT_PURPOSE);
                    c.object(format!("trail/{}", req.trail));
                    Ok(())
                },
                async |c, _req: pb::VerifyTrailRequest, ()| {
                    Ok(match auth::audit::verify_on(c.db()).await {
                        Ok(rows) => pb::VerifyTrailResponse {
                            intact: true,
                            rows_checked: rows,
                            problem: String::new(),
                        },
                        Err(auth::audit::VerifyError::Broken(b)) => pb::VerifyTrailResponse {
                            intact: false,
                            rows_checked: 0,
                            problem: b.to_string(),
                        },
                        Err(auth::audit::VerifyError::Store(e)) => return Err(e.into()),
                    })
                },
            )
            .await
    }

    async fn list_my_record_access(
        &self,
        request: Request<pb::ListMyRecordAccessRequest>,
    ) -> Result<Response<pb::ListMyRecordAccessResponse>, Status> {
        crate::citizen_view::list_my_record_access(self.addr, request).await
    }
}
