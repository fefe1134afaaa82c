//! The gRPC surface: one line per RPC, each handled in `api/<rpc>.rs` through `kit::rpc`
//! (decode into a valid input, authorize before the idempotency lookup, the effect in one
//! transaction with its audit row `assistance.<Rpc>`, outbox events and cache invalidations).
//! The same handle serves the PaymentRollService (payment.proto) and the GrievanceService
//! (grievance.proto).

mod accept_application;
mod approve_roll;
mod assign_grievance;
mod decide_application;
mod escalate_overdue_grievances;
mod explain_line;
mod export_bank_file;
mod export_payment_roll;
mod extend_review_deadline;
mod file_grievance;
mod generate_payment_roll;
mod generate_roll;
mod generate_supplementary_roll;
mod get_application;
mod get_benefit;
mod get_grievance;
mod get_recipient_status;
mod get_roll;
mod grant_temporary_assistance;
mod import_bank_return;
mod list_overdue_applications;
mod list_overdue_grievances;
mod list_payment_rolls;
mod monitoring;

pub(crate) use monitoring::MonitoringApi;
mod open_household_review;
mod record_income_change;
mod record_investigation;
mod record_objection;
mod register_close_relative;
mod request_economic_check;
mod resolve_grievance;
mod set_payee_account;
mod settle_emergency_grant;
pub(crate) mod shared;
mod start_public_notice;
mod submit_application;
mod submit_roll;
mod terminate_benefit;
mod terminate_for_death;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use contracts::civil::assistance::v1 as pb;
use contracts::civil::assistance::v1::assistance_service_server::AssistanceService;
use contracts::civil::assistance::v1::grievance_service_server::GrievanceService;
use contracts::civil::assistance::v1::payment_roll_service_server::PaymentRollService;
use kit::ServiceError;
use tonic::{Request, Response, Status};

use crate::checking::EconomicChecker;
use crate::domain::policy::Policy;

/// What the handlers share besides `kit::rpc::Rpc`: the county policy, the checking centre,
/// and the count of status invalidations (a status read that raced with a change is not
/// cached).
pub struct Inner {
    pub policy: Arc<Policy>,
    pub checker: Arc<dyn EconomicChecker>,
    pub invalidations: AtomicU64,
}

#[derive(Clone)]
pub struct AssistanceApi {
    pub(crate) inner: Arc<Inner>,
    pub(crate) rpc: kit::rpc::Rpc,
}

impl AssistanceApi {
    pub fn new(inner: Inner, rpc: kit::rpc::Rpc) -> Self {
        Self {
            inner: Arc::new(inner),
            rpc,
        }
    }

    /// Drops this replica's cached status of these people (blind indexes) at once; the
    /// committed change recorded the durable invalidation for every replica.
    pub(crate) async fn invalidate(&self, indexes: &[String]) {
        self.inner.invalidations.fetch_add(1, Ordering::SeqCst);
        for index in indexes {
            self.rpc.cache().invalidate(&status_key(index)).await;
        }
    }

    /// [`AssistanceApi::invalidate`] of every member a benefit covers.
    pub(crate) async fn invalidate_benefit(&self, benefit_id: &str) {
        if benefit_id.is_empty() {
            return;
        }
        let indexes = match self.rpc.db().pool.acquire().await {
            Ok(mut conn) => crate::store::member_indexes(&mut conn, benefit_id)
                .await
                .unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        self.invalidate(&indexes).await;
    }
}

/// A business-rule refusal with its stable reason.
pub(crate) fn refuse(reason: &'static str, message: impl Into<String>) -> ServiceError {
    ServiceError::refused(reason, message)
}

/// The cache key of a person's recipient status (blind index).
pub(crate) fn status_key(index: &str) -> String {
    format!("assistance:recipient:{index}")
}

#[rustfmt::skip]
#[tonic::async_trait]
impl AssistanceService for AssistanceApi {
    async fn get_recipient_status(&self, r: Request<pb::GetRecipientStatusRequest>) -> Result<Response<pb::RecipientStatus>, Status> { get_recipient_status::handle(self, r).await }
    async fn terminate_for_death(&self, r: Request<pb::TerminateForDeathRequest>) -> Result<Response<pb::TerminateForDeathResponse>, Status> { terminate_for_death::handle(self, r).await }
    async fn submit_application(&self, r: Request<pb::SubmitApplicationRequest>) -> Result<Response<pb::Application>, Status> { submit_application::handle(self, r).await }
    async fn accept_application(&self, r: Request<pb::AcceptApplicationRequest>) -> Result<Response<pb::Application>, Status> { accept_application::handle(self, r).await }
    async fn record_investigation(&self, r: Request<pb::RecordInvestigationRequest>) -> Result<Response<pb::Application>, Status> { record_investigation::handle(self, r).await }
    async fn request_economic_check(&self, r: Request<pb::RequestEconomicCheckRequest>) -> Result<Response<pb::Application>, Status> { request_economic_check::handle(self, r).await }
    async fn start_public_notice(&self, r: Request<pb::StartPublicNoticeRequest>) -> Result<Response<pb::Application>, Status> { start_public_notice::handle(self, r).await }
    async fn record_objection(&self, r: Request<pb::RecordObjectionRequest>) -> Result<Response<pb::Application>, Status> { record_objection::handle(self, r).await }
    async fn decide_application(&self, r: Request<pb::DecideApplicationRequest>) -> Result<Response<pb::Application>, Status> { decide_application::handle(self, r).await }
    async fn get_application(&self, r: Request<pb::GetApplicationRequest>) -> Result<Response<pb::Application>, Status> { get_application::handle(self, r).await }
    async fn extend_review_deadline(&self, r: Request<pb::ExtendReviewDeadlineRequest>) -> Result<Response<pb::Application>, Status> { extend_review_deadline::handle(self, r).await }
    async fn register_close_relative(&self, r: Request<pb::RegisterCloseRelativeRequest>) -> Result<Response<pb::CloseRelative>, Status> { register_close_relative::handle(self, r).await }
    async fn list_overdue_applications(&self, r: Request<pb::ListOverdueApplicationsRequest>) -> Result<Response<pb::ListOverdueApplicationsResponse>, Status> { list_overdue_applications::handle(self, r).await }
    async fn grant_temporary_assistance(&self, r: Request<pb::GrantTemporaryAssistanceRequest>) -> Result<Response<pb::Benefit>, Status> { grant_temporary_assistance::handle(self, r).await }
    async fn settle_emergency_grant(&self, r: Request<pb::SettleEmergencyGrantRequest>) -> Result<Response<pb::Benefit>, Status> { settle_emergency_grant::handle(self, r).await }
    async fn get_benefit(&self, r: Request<pb::GetBenefitRequest>) -> Result<Response<pb::Benefit>, Status> { get_benefit::handle(self, r).await }
    async fn record_income_change(&self, r: Request<pb::RecordIncomeChangeRequest>) -> Result<Response<pb::Benefit>, Status> { record_income_change::handle(self, r).await }
    async fn terminate_benefit(&self, r: Request<pb::TerminateBenefitRequest>) -> Result<Response<pb::Benefit>, Status> { terminate_benefit::handle(self, r).await }
    async fn generate_payment_roll(&self, r: Request<pb::GeneratePaymentRollRequest>) -> Result<Response<pb::PaymentRoll>, Status> { generate_payment_roll::handle(self, r).await }
    async fn list_payment_rolls(&self, r: Request<pb::ListPaymentRollsRequest>) -> Result<Response<pb::ListPaymentRollsResponse>, Status> { list_payment_rolls::handle(self, r).await }
    async fn export_payment_roll(&self, r: Request<pb::ExportPaymentRollRequest>) -> Result<Response<pb::ExportPaymentRollResponse>, Status> { export_payment_roll::handle(self, r).await }
    async fn open_household_review(&self, r: Request<pb::OpenHouseholdReviewRequest>) -> Result<Response<pb::OpenHouseholdReviewResponse>, Status> { open_household_review::handle(self, r).await }
}

#[rustfmt::skip]
#[tonic::async_trait]
impl PaymentRollService for AssistanceApi {
    async fn set_payee_account(&self, r: Request<pb::SetPayeeAccountRequest>) -> Result<Response<pb::PayeeAccount>, Status> { set_payee_account::handle(self, r).await }
    async fn generate_roll(&self, r: Request<pb::GenerateRollRequest>) -> Result<Response<pb::Roll>, Status> { generate_roll::handle(self, r).await }
    async fn generate_supplementary_roll(&self, r: Request<pb::GenerateSupplementaryRollRequest>) -> Result<Response<pb::Roll>, Status> { generate_supplementary_roll::handle(self, r).await }
    async fn submit_roll(&self, r: Request<pb::SubmitRollRequest>) -> Result<Response<pb::Roll>, Status> { submit_roll::handle(self, r).await }
    async fn approve_roll(&self, r: Request<pb::ApproveRollRequest>) -> Result<Response<pb::Roll>, Status> { approve_roll::handle(self, r).await }
    async fn export_bank_file(&self, r: Request<pb::ExportBankFileRequest>) -> Result<Response<pb::BankFile>, Status> { export_bank_file::handle(self, r).await }
    async fn import_bank_return(&self, r: Request<pb::ImportBankReturnRequest>) -> Result<Response<pb::Roll>, Status> { import_bank_return::handle(self, r).await }
    async fn get_roll(&self, r: Request<pb::GetRollRequest>) -> Result<Response<pb::Roll>, Status> { get_roll::handle(self, r).await }
    async fn explain_line(&self, r: Request<pb::ExplainLineRequest>) -> Result<Response<pb::LineExplanation>, Status> { explain_line::handle(self, r).await }
}

#[rustfmt::skip]
#[tonic::async_trait]
impl GrievanceService for AssistanceApi {
    async fn file_grievance(&self, r: Request<pb::FileGrievanceRequest>) -> Result<Response<pb::Grievance>, Status> { file_grievance::handle(self, r).await }
    async fn assign_grievance(&self, r: Request<pb::AssignGrievanceRequest>) -> Result<Response<pb::Grievance>, Status> { assign_grievance::handle(self, r).await }
    async fn resolve_grievance(&self, r: Request<pb::ResolveGrievanceRequest>) -> Result<Response<pb::Grievance>, Status> { resolve_grievance::handle(self, r).await }
    async fn get_grievance(&self, r: Request<pb::GetGrievanceRequest>) -> Result<Response<pb::Grievance>, Status> { get_grievance::handle(self, r).await }
    async fn list_overdue_grievances(&self, r: Request<pb::ListOverdueGrievancesRequest>) -> Result<Response<pb::ListOverdueGrievancesResponse>, Status> { list_overdue_grievances::handle(self, r).await }
    async fn escalate_overdue_grievances(&self, r: Request<pb::EscalateOverdueGrievancesRequest>) -> Result<Response<pb::ListOverdueGrievancesResponse>, Status> { escalate_overdue_grievances::handle(self, r).await }
}
