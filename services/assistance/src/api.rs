//! The gRPC surface: each handler decodes, authorises, runs the rule in `domain`, stores and
//! encodes. Writes run once per request id (kit::idempotency) in one transaction with their
//! audit rows and outbox events; the effects live in `procedure`, `benefits` and `roll`.

use std::sync::Arc;

use auth::audit::{AuditEntry, AuditWriter};
use auth::{Principal, Role};
use civil_calendar::HolidayCalendar;
use contracts::civil::assistance::v1 as pb;
use contracts::civil::assistance::v1::assistance_service_server::AssistanceService;
use kit::cache::Cache;
use kit::pii::Sealer;
use kit::store::Db;
use kit::{ServiceError, to_status};
use sqlx::AnyConnection;
use tonic::{Request, Response, Status};

use crate::checking::EconomicChecker;
use crate::domain::policy::Policy;

/// Shared state of the handlers.
pub struct Inner {
    pub db: Db,
    pub sealer: Sealer,
    pub cache: Cache,
    pub calendar: Arc<HolidayCalendar>,
    pub policy: Arc<Policy>,
    pub checker: Arc<dyn EconomicChecker>,
    pub reads: AuditWriter,
    /// Counts invalidations, so a status read that raced with a change is not cached.
    pub invalidations: std::sync::atomic::AtomicU64,
}

#[derive(Clone)]
pub struct AssistanceApi {
    pub(crate) inner: Arc<Inner>,
}

impl AssistanceApi {
    pub fn new(inner: Inner) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }
}

/// A business-rule refusal with its stable reason.
pub(crate) fn refuse(reason: &'static str, message: impl Into<String>) -> ServiceError {
    ServiceError::refused(reason, message)
}

/// Role and region check (the region of the household the record belongs to).
pub(crate) fn authorize(
    p: &Principal,
    roles: &[Role],
    region: Option<&str>,
) -> Result<(), ServiceError> {
    p.authorize(roles, region).map_err(ServiceError::Status)
}

/// Audit row for a change, written in the change's transaction.
pub(crate) async fn audit_change(
    conn: &mut AnyConnection,
    p: &Principal,
    action: &str,
    object: &str,
) -> Result<(), ServiceError> {
    let entry =
        AuditEntry::new(p, action, object).with_trace_id(kit::telemetry::current_trace_id());
    auth::audit::append(conn, &[entry]).await?;
    Ok(())
}

impl Inner {
    /// Audit row for a read of personal data (batched, off the request path).
    pub(crate) async fn audit_read(
        &self,
        p: &Principal,
        action: &str,
        object: &str,
        purpose: &str,
    ) {
        let entry = AuditEntry::new(p, action, object)
            .with_trace_id(kit::telemetry::current_trace_id())
            .with_purpose(purpose);
        self.reads.record(entry).await;
    }

    /// Drops cached recipient status of these people (blind indexes).
    pub(crate) async fn invalidate(&self, indexes: &[String]) {
        self.invalidations
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        for index in indexes {
            self.cache.invalidate(&status_key(index)).await;
        }
    }
}

pub(crate) fn status_key(index: &str) -> String {
    format!("assistance:recipient:{index}")
}

/// Runs `$effect` (a method of `Inner` taking `(conn, principal, request)`) once per request id;
/// evaluates to its result as `Result<_, Status>`.
macro_rules! effect_once {
    ($self:ident, $request:ident, $rpc:literal, $effect:ident) => {{
        let principal = auth::principal(&$request)?.clone();
        let req = $request.into_inner();
        let inner = $self.inner.clone();
        let key = req.request_id.clone();
        let body = req.clone();
        kit::idempotency::once(&$self.inner.db, $rpc, &key, &body, move |conn| {
            Box::pin(async move { inner.$effect(conn, &principal, req).await })
        })
        .await
        .map_err(to_status)
    }};
}

/// [`effect_once!`] answering with the effect's result.
macro_rules! once {
    ($self:ident, $request:ident, $rpc:literal, $effect:ident) => {
        effect_once!($self, $request, $rpc, $effect).map(Response::new)
    };
}

#[tonic::async_trait]
impl AssistanceService for AssistanceApi {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn get_recipient_status(
        &self,
        request: Request<pb::GetRecipientStatusRequest>,
    ) -> Result<Response<pb::RecipientStatus>, Status> {
        let principal = auth::principal(&request)?.clone();
        self.inner
            .recipient_status(&principal, request.into_inner())
            .await
            .map(Response::new)
            .map_err(to_status)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn terminate_for_death(
        &self,
        request: Request<pb::TerminateForDeathRequest>,
    ) -> Result<Response<pb::TerminateForDeathResponse>, Status> {
        let principal = auth::principal(&request)?.clone();
        let req = request.into_inner();
        let response = self
            .inner
            .terminate_for_death(&principal, req)
            .await
            .map_err(to_status)?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn submit_application(
        &self,
        request: Request<pb::SubmitApplicationRequest>,
    ) -> Result<Response<pb::Application>, Status> {
        once!(self, request, "SubmitApplication", submit)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn accept_application(
        &self,
        request: Request<pb::AcceptApplicationRequest>,
    ) -> Result<Response<pb::Application>, Status> {
        once!(self, request, "AcceptApplication", accept)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn record_investigation(
        &self,
        request: Request<pb::RecordInvestigationRequest>,
    ) -> Result<Response<pb::Application>, Status> {
        once!(self, request, "RecordInvestigation", investigate)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn request_economic_check(
        &self,
        request: Request<pb::RequestEconomicCheckRequest>,
    ) -> Result<Response<pb::Application>, Status> {
        let principal = auth::principal(&request)?.clone();
        self.inner
            .economic_check(&principal, request.into_inner())
            .await
            .map(Response::new)
            .map_err(to_status)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn start_public_notice(
        &self,
        request: Request<pb::StartPublicNoticeRequest>,
    ) -> Result<Response<pb::Application>, Status> {
        once!(self, request, "StartPublicNotice", start_notice)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn record_objection(
        &self,
        request: Request<pb::RecordObjectionRequest>,
    ) -> Result<Response<pb::Application>, Status> {
        once!(self, request, "RecordObjection", object)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn decide_application(
        &self,
        request: Request<pb::DecideApplicationRequest>,
    ) -> Result<Response<pb::Application>, Status> {
        let application = effect_once!(self, request, "DecideApplication", decide)?;
        self.inner.invalidate_benefit(&application.benefit_id).await;
        Ok(Response::new(application))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn get_application(
        &self,
        request: Request<pb::GetApplicationRequest>,
    ) -> Result<Response<pb::Application>, Status> {
        let principal = auth::principal(&request)?.clone();
        self.inner
            .get_application(&principal, request.into_inner())
            .await
            .map(Response::new)
            .map_err(to_status)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn list_overdue_applications(
        &self,
        request: Request<pb::ListOverdueApplicationsRequest>,
    ) -> Result<Response<pb::ListOverdueApplicationsResponse>, Status> {
        let principal = auth::principal(&request)?.clone();
        self.inner
            .list_overdue(&principal, request.into_inner())
            .await
            .map(Response::new)
            .map_err(to_status)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn grant_temporary_assistance(
        &self,
        request: Request<pb::GrantTemporaryAssistanceRequest>,
    ) -> Result<Response<pb::Benefit>, Status> {
        let benefit = effect_once!(self, request, "GrantTemporaryAssistance", grant_temporary)?;
        self.inner.invalidate_benefit(&benefit.id).await;
        Ok(Response::new(benefit))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn get_benefit(
        &self,
        request: Request<pb::GetBenefitRequest>,
    ) -> Result<Response<pb::Benefit>, Status> {
        let principal = auth::principal(&request)?.clone();
        self.inner
            .get_benefit(&principal, request.into_inner())
            .await
            .map(Response::new)
            .map_err(to_status)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn record_income_change(
        &self,
        request: Request<pb::RecordIncomeChangeRequest>,
    ) -> Result<Response<pb::Benefit>, Status> {
        let benefit = effect_once!(self, request, "RecordIncomeChange", income_change)?;
        self.inner.invalidate_benefit(&benefit.id).await;
        Ok(Response::new(benefit))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn terminate_benefit(
        &self,
        request: Request<pb::TerminateBenefitRequest>,
    ) -> Result<Response<pb::Benefit>, Status> {
        let benefit = effect_once!(self, request, "TerminateBenefit", terminate_benefit)?;
        self.inner.invalidate_benefit(&benefit.id).await;
        Ok(Response::new(benefit))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn generate_payment_roll(
        &self,
        request: Request<pb::GeneratePaymentRollRequest>,
    ) -> Result<Response<pb::PaymentRoll>, Status> {
        once!(self, request, "GeneratePaymentRoll", generate_roll)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn list_payment_rolls(
        &self,
        request: Request<pb::ListPaymentRollsRequest>,
    ) -> Result<Response<pb::ListPaymentRollsResponse>, Status> {
        let principal = auth::principal(&request)?.clone();
        self.inner
            .list_rolls(&principal, request.into_inner())
            .await
            .map(Response::new)
            .map_err(to_status)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn export_payment_roll(
        &self,
        request: Request<pb::ExportPaymentRollRequest>,
    ) -> Result<Response<pb::ExportPaymentRollResponse>, Status> {
        let principal = auth::principal(&request)?.clone();
        self.inner
            .export_roll(&principal, request.into_inner())
            .await
            .map(Response::new)
            .map_err(to_status)
    }
}
