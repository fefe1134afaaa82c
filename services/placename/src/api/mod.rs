//! The gRPC handlers, one file per RPC: its decoded input (`TryFrom<pb::…Request>`), its
//! authorize step and its effect, run by [`kit::rpc::Rpc`] (authorize -> decode -> once per
//! request id in one transaction with the audit row and events). Writes that change names also
//! update the in-memory search index after the commit ([`shared::Pending`]).

mod allocate_house_number;
mod approve_place_name;
mod compose_address;
mod get_naming_application;
mod get_place_name;
mod import_census_records;
mod limits;
mod list_house_numbers;
mod list_overdue_filings;
mod parse_address;
mod record_expert_review;
mod record_filing_and_announcement;
mod search_place_names;
mod shared;
mod submit_naming_application;

use std::sync::Arc;

use contracts::civil::placename::v1 as pb;
use contracts::civil::placename::v1::place_name_service_server::PlaceNameService;
use kit::rpc::Rpc;
use tonic::{Request, Response, Status};

pub use shared::{Places, SharedIndex};

#[derive(Clone)]
pub struct PlaceNameApi {
    rpc: Rpc,
    places: Arc<Places>,
}

impl PlaceNameApi {
    pub fn new(rpc: Rpc, places: Places) -> Self {
        Self {
            rpc,
            places: Arc::new(places),
        }
    }
}

type Answer<T> = Result<Response<T>, Status>;

/// Names the routed method for kit's audit action (`placename.<Rpc>`) when nothing upstream
/// did: tonic's generated server does not set [`tonic::GrpcMethod`] itself.
fn routed<T>(mut r: Request<T>, method: &'static str) -> Request<T> {
    if r.extensions().get::<tonic::GrpcMethod>().is_none() {
        let service = "civil.placename.v1.PlaceNameService";
        r.extensions_mut()
            .insert(tonic::GrpcMethod::new(service, method));
    }
    r
}

#[tonic::async_trait]
impl PlaceNameService for PlaceNameApi {
    async fn get_place_name(&self, r: Request<pb::GetPlaceNameRequest>) -> Answer<pb::PlaceName> {
        get_place_name::handle(self, routed(r, "GetPlaceName")).await
    }

    async fn search_place_names(
        &self,
        r: Request<pb::SearchPlaceNamesRequest>,
    ) -> Answer<pb::SearchPlaceNamesResponse> {
        search_place_names::handle(self, routed(r, "SearchPlaceNames")).await
    }

    async fn import_census_records(
        &self,
        r: Request<pb::ImportCensusRecordsRequest>,
    ) -> Answer<pb::ImportReport> {
        import_census_records::handle(self, routed(r, "ImportCensusRecords")).await
    }

    async fn submit_naming_application(
        &self,
        r: Request<pb::SubmitNamingApplicationRequest>,
    ) -> Answer<pb::NamingApplication> {
        submit_naming_application::handle(self, routed(r, "SubmitNamingApplication")).await
    }

    async fn get_naming_application(
        &self,
        r: Request<pb::GetNamingApplicationRequest>,
    ) -> Answer<pb::NamingApplication> {
        get_naming_application::handle(self, routed(r, "GetNamingApplication")).await
    }

    async fn record_expert_review(
        &self,
        r: Request<pb::RecordExpertReviewRequest>,
    ) -> Answer<pb::NamingApplication> {
        record_expert_review::handle(self, routed(r, "RecordExpertReview")).await
    }

    async fn approve_place_name(
        &self,
        r: Request<pb::ApprovePlaceNameRequest>,
    ) -> Answer<pb::NamingApplication> {
        approve_place_name::handle(self, routed(r, "ApprovePlaceName")).await
    }

    async fn record_filing_and_announcement(
        &self,
        r: Request<pb::RecordFilingAndAnnouncementRequest>,
    ) -> Answer<pb::NamingApplication> {
        record_filing_and_announcement::handle(self, routed(r, "RecordFilingAndAnnouncement")).await
    }

    async fn allocate_house_number(
        &self,
        r: Request<pb::AllocateHouseNumberRequest>,
    ) -> Answer<pb::HouseNumber> {
        allocate_house_number::handle(self, routed(r, "AllocateHouseNumber")).await
    }

    async fn list_house_numbers(
        &self,
        r: Request<pb::ListHouseNumbersRequest>,
    ) -> Answer<pb::ListHouseNumbersResponse> {
        list_house_numbers::handle(self, routed(r, "ListHouseNumbers")).await
    }

    async fn compose_address(
        &self,
        r: Request<pb::ComposeAddressRequest>,
    ) -> Answer<pb::StandardAddress> {
        compose_address::handle(self, routed(r, "ComposeAddress")).await
    }

    async fn parse_address(
        &self,
        r: Request<pb::ParseAddressRequest>,
    ) -> Answer<pb::StandardAddress> {
        parse_address::handle(self, routed(r, "ParseAddress")).await
    }

    async fn list_overdue_filings(
        &self,
        r: Request<pb::ListOverdueFilingsRequest>,
    ) -> Answer<pb::ListOverdueFilingsResponse> {
        list_overdue_filings::handle(self, routed(r, "ListOverdueFilings")).await
    }
}
