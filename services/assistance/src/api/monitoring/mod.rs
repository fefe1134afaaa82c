//! The LowIncomeMonitoringService (monitoring.proto) and the SignalIntakeService
//! (civil.external.v1, signal_intake.proto) served by the assistance process: one line per RPC,
//! each handled in `api/monitoring/<rpc>.rs` through `kit::rpc`.

mod add_register_entry;
mod assign_warning;
mod close_warning;
mod escalate_overdue_warnings;
mod get_household_chain;
mod get_warning;
mod get_warning_chain;
mod list_register;
mod list_warnings;
mod monitoring_statistics;
mod push_signal;
mod record_visit;
mod shared;

use std::sync::Arc;

use contracts::civil::assistance::v1 as pb;
use contracts::civil::assistance::v1::low_income_monitoring_service_server::LowIncomeMonitoringService;
use contracts::civil::external::v1 as ext;
use contracts::civil::external::v1::signal_intake_service_server::SignalIntakeService;
use tonic::{Request, Response, Status};

use crate::domain::monitoring::rules::MonitoringPolicy;

#[derive(Clone)]
pub struct MonitoringApi {
    pub(crate) rpc: kit::rpc::Rpc,
    pub(crate) policy: Arc<MonitoringPolicy>,
}

impl MonitoringApi {
    pub fn new(rpc: kit::rpc::Rpc, policy: Arc<MonitoringPolicy>) -> Self {
        Self { rpc, policy }
    }
}

#[rustfmt::skip]
#[tonic::async_trait]
impl LowIncomeMonitoringService for MonitoringApi {
    async fn list_register(&self, r: Request<pb::ListRegisterRequest>) -> Result<Response<pb::ListRegisterResponse>, Status> { list_register::handle(self, r).await }
    async fn add_register_entry(&self, r: Request<pb::AddRegisterEntryRequest>) -> Result<Response<pb::RegisterEntry>, Status> { add_register_entry::handle(self, r).await }
    async fn assign_warning(&self, r: Request<pb::AssignWarningRequest>) -> Result<Response<pb::Warning>, Status> { assign_warning::handle(self, r).await }
    async fn record_visit(&self, r: Request<pb::RecordVisitRequest>) -> Result<Response<pb::Warning>, Status> { record_visit::handle(self, r).await }
    async fn close_warning(&self, r: Request<pb::CloseWarningRequest>) -> Result<Response<pb::Warning>, Status> { close_warning::handle(self, r).await }
    async fn escalate_overdue_warnings(&self, r: Request<pb::EscalateOverdueWarningsRequest>) -> Result<Response<pb::EscalateOverdueWarningsResponse>, Status> { escalate_overdue_warnings::handle(self, r).await }
    async fn get_warning(&self, r: Request<pb::GetWarningRequest>) -> Result<Response<pb::Warning>, Status> { get_warning::handle(self, r).await }
    async fn list_warnings(&self, r: Request<pb::ListWarningsRequest>) -> Result<Response<pb::ListWarningsResponse>, Status> { list_warnings::handle(self, r).await }
    async fn get_household_chain(&self, r: Request<pb::GetHouseholdChainRequest>) -> Result<Response<pb::HouseholdChain>, Status> { get_household_chain::handle(self, r).await }
    async fn get_warning_chain(&self, r: Request<pb::GetWarningChainRequest>) -> Result<Response<pb::WarningChain>, Status> { get_warning_chain::handle(self, r).await }
    async fn monitoring_statistics(&self, r: Request<pb::MonitoringStatisticsRequest>) -> Result<Response<pb::MonitoringStatisticsResponse>, Status> { monitoring_statistics::handle(self, r).await }
}

#[rustfmt::skip]
#[tonic::async_trait]
impl SignalIntakeService for MonitoringApi {
    async fn push_signal(&self, r: Request<ext::PushSignalRequest>) -> Result<Response<ext::SignalReceipt>, Status> { push_signal::handle(self, r).await }
}
