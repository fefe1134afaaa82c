//! The gRPC surface of the social-organisation service: one line per RPC, one file per RPC.

mod apply_for_serious_list_removal;
mod change_organisation;
mod deregister_organisation;
mod get_organisation;
mod grant_rating;
mod list_by_legal_representative;
mod list_credit_listings;
pub mod listings;
mod open_representative_change_task;
mod record_breach;
mod record_correction;
mod register_organisation;
mod run_listing_sweep;
pub mod shared;
mod submit_annual_report;

use auth::{Principal, Role};
use contracts::civil::socialorg::v1 as pb;
use contracts::civil::socialorg::v1::social_org_service_server::SocialOrgService;
use kit::rpc::Rpc;
use tonic::{Request, Response, Status};

/// The service: its shared state, built once at mount.
#[derive(Clone)]
pub struct SocialOrgApi {
    rpc: Rpc,
}

impl SocialOrgApi {
    pub fn new(rpc: Rpc) -> Self {
        Self { rpc }
    }
}

/// The principal the daily sweep acts as in the audit trail.
pub fn system_principal() -> Principal {
    Principal {
        subject: "system:socialorg-listing-sweep".into(),
        name: "listing sweep".into(),
        roles: vec![Role::Service],
        region: String::new(),
        organisation: None,
        on_behalf_of: None,
        profile: None,
        id_number: None,
    }
}

type Answer<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl SocialOrgService for SocialOrgApi {
    async fn register_organisation(
        &self,
        r: Request<pb::RegisterOrganisationRequest>,
    ) -> Answer<pb::Organisation> {
        register_organisation::handle(&self.rpc, r).await
    }
    async fn get_organisation(
        &self,
        r: Request<pb::GetOrganisationRequest>,
    ) -> Answer<pb::Organisation> {
        get_organisation::handle(&self.rpc, r).await
    }
    async fn change_organisation(
        &self,
        r: Request<pb::ChangeOrganisationRequest>,
    ) -> Answer<pb::Organisation> {
        change_organisation::handle(&self.rpc, r).await
    }
    async fn deregister_organisation(
        &self,
        r: Request<pb::DeregisterOrganisationRequest>,
    ) -> Answer<pb::Organisation> {
        deregister_organisation::handle(&self.rpc, r).await
    }
    async fn list_by_legal_representative(
        &self,
        r: Request<pb::ListByLegalRepresentativeRequest>,
    ) -> Answer<pb::ListByLegalRepresentativeResponse> {
        list_by_legal_representative::handle(&self.rpc, r).await
    }
    async fn open_representative_change_task(
        &self,
        r: Request<pb::OpenRepresentativeChangeTaskRequest>,
    ) -> Answer<pb::RepresentativeChangeTask> {
        open_representative_change_task::handle(&self.rpc, r).await
    }
    async fn submit_annual_report(
        &self,
        r: Request<pb::SubmitAnnualReportRequest>,
    ) -> Answer<pb::AnnualReport> {
        submit_annual_report::handle(&self.rpc, r).await
    }
    async fn record_breach(&self, r: Request<pb::RecordBreachRequest>) -> Answer<pb::Listing> {
        record_breach::handle(&self.rpc, r).await
    }
    async fn record_correction(
        &self,
        r: Request<pb::RecordCorrectionRequest>,
    ) -> Answer<pb::Listing> {
        record_correction::handle(&self.rpc, r).await
    }
    async fn apply_for_serious_list_removal(
        &self,
        r: Request<pb::ApplyForSeriousListRemovalRequest>,
    ) -> Answer<pb::ListingSweep> {
        apply_for_serious_list_removal::handle(&self.rpc, r).await
    }
    async fn run_listing_sweep(
        &self,
        r: Request<pb::RunListingSweepRequest>,
    ) -> Answer<pb::ListingSweep> {
        run_listing_sweep::handle(&self.rpc, r).await
    }
    async fn list_credit_listings(
        &self,
        r: Request<pb::ListCreditListingsRequest>,
    ) -> Answer<pb::ListCreditListingsResponse> {
        list_credit_listings::handle(&self.rpc, r).await
    }
    async fn grant_rating(&self, r: Request<pb::GrantRatingRequest>) -> Answer<pb::Rating> {
        grant_rating::handle(&self.rpc, r).await
    }
}
