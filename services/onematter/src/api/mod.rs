//! The portal API on `kit::rpc`: one file per RPC (its decoded input, `handle` = authorize +
//! effect); this file is the tonic trait, one line per RPC, and what the RPCs share (loading a
//! case and who may read or operate it).

mod answer_family_request;
mod batch_operate_cases;
mod cancel_case;
mod fork_case;
mod get_case;
mod list_cases;
mod list_family_requests;
mod list_plan_versions;
mod publish_plan_version;
mod purge_closed_cases;
mod resume_case;
mod retry_step;
mod search_cases;
mod start_case;
mod verify_family;
mod watch_case;

use std::sync::Arc;

use tonic::{Request, Response, Status};

use auth::{Principal, Role};
use contracts::civil::onematter::v1 as pb;
use kit::ServiceError;
use kit::rpc::{Call, Rpc};
use pb::one_matter_service_server::OneMatterService;

use crate::adapters::Externals;
use crate::executor::Executor;
use crate::executor::store::{self, CaseRecord};

pub use watch_case::CaseSignals;

/// What every RPC of the portal API shares, built once at mount.
pub struct OneMatterApi {
    rpc: Rpc,
    executor: Arc<Executor>,
    externals: Externals,
    /// Days a closed case keeps its personal data (`CIVIL_ONEMATTER_RETENTION_DAYS`).
    retention_days: i64,
}

impl OneMatterApi {
    pub fn new(ctx: &kit::ServiceContext, executor: Arc<Executor>, externals: Externals) -> Self {
        let rpc = Rpc::new(ctx, executor.db().clone());
        let retention_days = ctx
            .config
            .service_setting("onematter", "retention_days")
            .and_then(|v| v.parse().ok())
            .filter(|d: &i64| *d > 0)
            .unwrap_or(RETENTION_DAYS);
        Self {
            rpc,
            executor,
            externals,
            retention_days,
        }
    }

    /// Wakes the case's watchers once its change is committed.
    fn notify(&self, case: &pb::Case) {
        let id = case.name.trim_start_matches("cases/");
        self.executor.signals().notify(id);
    }
}

/// Days a closed case keeps its personal data unless configured (docs/rules/onematter.md).
pub const RETENTION_DAYS: i64 = 1825;

/// The decoded input when no field was violated.
fn decoded<T>(v: kit::Violations, value: T) -> Result<T, kit::Violations> {
    if v.is_empty() { Ok(value) } else { Err(v) }
}

/// `cases/{id}` -> id.
fn case_id(name: &str) -> Result<String, ServiceError> {
    match name.strip_prefix("cases/") {
        Some(id) if !id.is_empty() && id.len() <= 64 => Ok(id.to_owned()),
        _ => Err(ServiceError::invalid("name", "must be cases/{case}")),
    }
}

/// Loads a case by name and names it as the audited object.
async fn load(c: &mut Call, name: &str) -> Result<CaseRecord, ServiceError> {
    let id = case_id(name)?;
    c.object(format!("cases/{id}"));
    store::load_case(c.db(), &id)
        .await?
        .ok_or_else(|| ServiceError::not_found("no such case"))
}

/// Citizens read the cases they applied for (as verified applicants); operators the cases of
/// their region. Anyone else gets PERMISSION_DENIED with no details, whatever the case holds:
/// a case started without application whose family is not verified yet shows nothing.
fn may_read(p: &Principal, case: &CaseRecord) -> Result<(), ServiceError> {
    if p.has_role(Role::Operator) && p.covers_region(&case.region) {
        return Ok(());
    }
    if p.has_role(Role::Citizen) && !case.applicant.is_empty() && case.applicant == p.subject {
        return Ok(());
    }
    Err(ServiceError::Status(Status::permission_denied(
        "not allowed",
    )))
}

/// Loads a case an operator of its region may act on.
async fn operated(c: &mut Call, name: &str) -> Result<CaseRecord, ServiceError> {
    let case = load(c, name).await?;
    c.authorize(&[Role::Operator], Some(&case.region))?;
    Ok(case)
}

/// Loads a case the caller may read.
async fn readable(c: &mut Call, name: &str) -> Result<CaseRecord, ServiceError> {
    let case = load(c, name).await?;
    may_read(c.principal(), &case)?;
    Ok(case)
}

/// The case as the portal sees it, read back in the call's transaction.
async fn view(c: &mut Call, case_id: &str) -> Result<pb::Case, ServiceError> {
    let record = store::load_case(c.db(), case_id)
        .await?
        .ok_or_else(|| ServiceError::not_found("case"))?;
    Ok(crate::convert::case(&record, c.sealer()))
}

type Answer<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl OneMatterService for OneMatterApi {
    async fn start_case(&self, r: Request<pb::StartCaseRequest>) -> Answer<pb::Case> {
        start_case::handle(self, r).await
    }
    async fn get_case(&self, r: Request<pb::GetCaseRequest>) -> Answer<pb::Case> {
        get_case::handle(self, r).await
    }
    async fn list_cases(&self, r: Request<pb::ListCasesRequest>) -> Answer<pb::ListCasesResponse> {
        list_cases::handle(self, r).await
    }
    type WatchCaseStream = watch_case::UpdateStream;
    async fn watch_case(&self, r: Request<pb::WatchCaseRequest>) -> Answer<Self::WatchCaseStream> {
        watch_case::handle(self, r).await
    }
    async fn retry_step(&self, r: Request<pb::RetryStepRequest>) -> Answer<pb::Case> {
        retry_step::handle(self, r).await
    }
    async fn resume_case(&self, r: Request<pb::ResumeCaseRequest>) -> Answer<pb::Case> {
        resume_case::handle(self, r).await
    }
    async fn verify_family(&self, r: Request<pb::VerifyFamilyRequest>) -> Answer<pb::Case> {
        verify_family::handle(self, r).await
    }
    async fn cancel_case(&self, r: Request<pb::CancelCaseRequest>) -> Answer<pb::Case> {
        cancel_case::handle(self, r).await
    }
    async fn search_cases(
        &self,
        r: Request<pb::SearchCasesRequest>,
    ) -> Answer<pb::SearchCasesResponse> {
        search_cases::handle(self, r).await
    }
    async fn batch_operate_cases(
        &self,
        r: Request<pb::BatchOperateCasesRequest>,
    ) -> Answer<pb::BatchOperateCasesResponse> {
        batch_operate_cases::handle(self, r).await
    }
    async fn fork_case(&self, r: Request<pb::ForkCaseRequest>) -> Answer<pb::Case> {
        fork_case::handle(self, r).await
    }
    async fn list_plan_versions(
        &self,
        r: Request<pb::ListPlanVersionsRequest>,
    ) -> Answer<pb::ListPlanVersionsResponse> {
        list_plan_versions::handle(self, r).await
    }
    async fn publish_plan_version(
        &self,
        r: Request<pb::PublishPlanVersionRequest>,
    ) -> Answer<pb::ListPlanVersionsResponse> {
        publish_plan_version::handle(self, r).await
    }
    async fn list_family_requests(
        &self,
        r: Request<pb::ListFamilyRequestsRequest>,
    ) -> Answer<pb::ListFamilyRequestsResponse> {
        list_family_requests::handle(self, r).await
    }
    async fn answer_family_request(
        &self,
        r: Request<pb::AnswerFamilyRequestRequest>,
    ) -> Answer<pb::FamilyRequest> {
        answer_family_request::handle(self, r).await
    }
    async fn purge_closed_cases(
        &self,
        r: Request<pb::PurgeClosedCasesRequest>,
    ) -> Answer<pb::PurgeClosedCasesResponse> {
        purge_closed_cases::handle(self, r).await
    }
}
