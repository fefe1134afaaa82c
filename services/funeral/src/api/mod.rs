//! The gRPC surface of the funeral service: one line per RPC, one file per RPC (on `kit::rpc`).

mod book_cremation;
mod complete_cremation;
mod decide_fee_waiver;
mod get_death_case;
mod get_fee_waiver;
mod lease_plot;
mod record_ashes_custody;
mod record_body_custody;
mod record_burial;
mod register_cemetery;
mod register_death;
mod register_eco_burial;
mod reserve_spouse_plot;
pub mod shared;
mod transfer_plot_lease;
mod verify_declarant;

use std::sync::Arc;

use contracts::civil::funeral::v1 as pb;
use contracts::civil::funeral::v1::funeral_service_server::FuneralService;
use kit::rpc::Rpc;
use tonic::{Request, Response, Status};

use crate::domain::policy::FuneralPolicy;
use crate::evidence::WaiverEvidenceSource;

/// The service: its shared state, built once at mount.
#[derive(Clone)]
pub struct FuneralApi {
    rpc: Rpc,
    policy: Arc<FuneralPolicy>,
    source: Arc<dyn WaiverEvidenceSource>,
}

impl FuneralApi {
    pub fn new(rpc: Rpc, policy: FuneralPolicy, source: Arc<dyn WaiverEvidenceSource>) -> Self {
        Self {
            rpc,
            policy: Arc::new(policy),
            source,
        }
    }
}

type Answer<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl FuneralService for FuneralApi {
    async fn register_death(&self, r: Request<pb::RegisterDeathRequest>) -> Answer<pb::DeathCase> {
        register_death::handle(&self.rpc, r).await
    }
    async fn get_death_case(&self, r: Request<pb::GetDeathCaseRequest>) -> Answer<pb::DeathCase> {
        get_death_case::handle(&self.rpc, r).await
    }
    async fn verify_declarant(
        &self,
        r: Request<pb::VerifyDeclarantRequest>,
    ) -> Answer<pb::VerifyDeclarantResponse> {
        verify_declarant::handle(&self.rpc, r).await
    }
    async fn record_body_custody(
        &self,
        r: Request<pb::RecordBodyCustodyRequest>,
    ) -> Answer<pb::DeathCase> {
        record_body_custody::handle(&self.rpc, r).await
    }
    async fn decide_fee_waiver(
        &self,
        r: Request<pb::DecideFeeWaiverRequest>,
    ) -> Answer<pb::FeeWaiver> {
        decide_fee_waiver::handle(&self.rpc, &self.policy, self.source.as_ref(), r).await
    }
    async fn get_fee_waiver(&self, r: Request<pb::GetFeeWaiverRequest>) -> Answer<pb::FeeWaiver> {
        get_fee_waiver::handle(&self.rpc, r).await
    }
    async fn record_ashes_custody(
        &self,
        r: Request<pb::RecordAshesCustodyRequest>,
    ) -> Answer<pb::DeathCase> {
        record_ashes_custody::handle(&self.rpc, r).await
    }
    async fn book_cremation(
        &self,
        r: Request<pb::BookCremationRequest>,
    ) -> Answer<pb::CremationBooking> {
        book_cremation::handle(&self.rpc, self.policy.schedule, r).await
    }
    async fn complete_cremation(
        &self,
        r: Request<pb::CompleteCremationRequest>,
    ) -> Answer<pb::CremationCertificate> {
        complete_cremation::handle(&self.rpc, r).await
    }
    async fn record_burial(&self, r: Request<pb::RecordBurialRequest>) -> Answer<pb::DeathCase> {
        record_burial::handle(&self.rpc, &self.policy.zones, r).await
    }
    async fn register_eco_burial(
        &self,
        r: Request<pb::RegisterEcoBurialRequest>,
    ) -> Answer<pb::EcoBurial> {
        register_eco_burial::handle(&self.rpc, &self.policy.eco, r).await
    }
    async fn register_cemetery(
        &self,
        r: Request<pb::RegisterCemeteryRequest>,
    ) -> Answer<pb::Cemetery> {
        register_cemetery::handle(&self.rpc, r).await
    }
    async fn lease_plot(&self, r: Request<pb::LeasePlotRequest>) -> Answer<pb::PlotLease> {
        let limits = lease_plot::Limits {
            area_dm2: self.policy.plot_max_area_dm2,
            clan_plot_max_occupants: self.policy.clan_plot_max_occupants,
        };
        lease_plot::handle(&self.rpc, limits, r).await
    }
    async fn transfer_plot_lease(
        &self,
        r: Request<pb::TransferPlotLeaseRequest>,
    ) -> Answer<pb::PlotLease> {
        transfer_plot_lease::handle(&self.rpc, self.policy.plot_transfer, r).await
    }
    async fn reserve_spouse_plot(
        &self,
        r: Request<pb::ReserveSpousePlotRequest>,
    ) -> Answer<pb::PlotLease> {
        reserve_spouse_plot::handle(&self.rpc, self.policy.plot_max_area_dm2, r).await
    }
}
