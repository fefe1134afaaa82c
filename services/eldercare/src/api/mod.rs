//! The gRPC surface: one line per RPC, each handled in its own file through `kit::rpc`.

use std::sync::Arc;

use contracts::civil::eldercare::v1 as pb;
use contracts::civil::eldercare::v1::eldercare_service_server::EldercareService;
use tonic::{Request, Response, Status};

use crate::domain::policy::EldercarePolicy;

mod admit_resident;
mod change_bed_type;
mod discharge_resident;
mod generate_visit_schedule;
mod get_elder;
mod get_visit_report;
mod grade_institution;
mod import_elders;
mod link_extreme_poverty;
mod list_beds;
mod list_discharges;
mod record_assessment;
mod record_visit;
mod register_institution;
mod run_daily_grants;
mod run_monthly_roll;
pub(crate) mod shared;
mod stop_for_death;

pub use run_daily_grants::daily_job;

/// What every handler of the service shares: the kit pipeline, the county policy, the county.
#[derive(Clone)]
pub struct Svc {
    pub rpc: kit::rpc::Rpc,
    pub policy: Arc<EldercarePolicy>,
    pub county: String,
}

#[derive(Clone)]
pub struct EldercareApi {
    svc: Svc,
}

impl EldercareApi {
    pub fn new(svc: Svc) -> Self {
        Self { svc }
    }
}

type Answer<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl EldercareService for EldercareApi {
    async fn import_elders(
        &self,
        r: Request<pb::ImportEldersRequest>,
    ) -> Answer<pb::ImportEldersResponse> {
        import_elders::handle(&self.svc, r).await
    }
    async fn get_elder(&self, r: Request<pb::GetElderRequest>) -> Answer<pb::Elder> {
        get_elder::handle(&self.svc, r).await
    }
    async fn run_daily_grants(
        &self,
        r: Request<pb::RunDailyGrantsRequest>,
    ) -> Answer<pb::RunDailyGrantsResponse> {
        run_daily_grants::handle(&self.svc, r).await
    }
    async fn run_monthly_roll(
        &self,
        r: Request<pb::RunMonthlyRollRequest>,
    ) -> Answer<pb::AllowanceRoll> {
        run_monthly_roll::handle(&self.svc, r).await
    }
    async fn record_assessment(
        &self,
        r: Request<pb::RecordAssessmentRequest>,
    ) -> Answer<pb::AbilityAssessment> {
        record_assessment::handle(&self.svc, r).await
    }
    async fn register_institution(
        &self,
        r: Request<pb::RegisterInstitutionRequest>,
    ) -> Answer<pb::Institution> {
        register_institution::handle(&self.svc, r).await
    }
    async fn grade_institution(
        &self,
        r: Request<pb::GradeInstitutionRequest>,
    ) -> Answer<pb::Institution> {
        grade_institution::handle(&self.svc, r).await
    }
    async fn admit_resident(
        &self,
        r: Request<pb::AdmitResidentRequest>,
    ) -> Answer<pb::Institution> {
        admit_resident::handle(&self.svc, r).await
    }
    async fn discharge_resident(
        &self,
        r: Request<pb::DischargeResidentRequest>,
    ) -> Answer<pb::Institution> {
        discharge_resident::handle(&self.svc, r).await
    }
    async fn list_beds(&self, r: Request<pb::ListBedsRequest>) -> Answer<pb::ListBedsResponse> {
        list_beds::handle(&self.svc, r).await
    }
    async fn change_bed_type(&self, r: Request<pb::ChangeBedTypeRequest>) -> Answer<pb::Bed> {
        change_bed_type::handle(&self.svc, r).await
    }
    async fn list_discharges(
        &self,
        r: Request<pb::ListDischargesRequest>,
    ) -> Answer<pb::ListDischargesResponse> {
        list_discharges::handle(&self.svc, r).await
    }
    async fn link_extreme_poverty(
        &self,
        r: Request<pb::LinkExtremePovertyRequest>,
    ) -> Answer<pb::LinkExtremePovertyResponse> {
        link_extreme_poverty::handle(&self.svc, r).await
    }
    async fn generate_visit_schedule(
        &self,
        r: Request<pb::GenerateVisitScheduleRequest>,
    ) -> Answer<pb::VisitReport> {
        generate_visit_schedule::handle(&self.svc, r).await
    }
    async fn record_visit(&self, r: Request<pb::RecordVisitRequest>) -> Answer<pb::Visit> {
        record_visit::handle(&self.svc, r).await
    }
    async fn get_visit_report(
        &self,
        r: Request<pb::GetVisitReportRequest>,
    ) -> Answer<pb::VisitReport> {
        get_visit_report::handle(&self.svc, r).await
    }
    async fn stop_for_death(
        &self,
        r: Request<pb::StopForDeathRequest>,
    ) -> Answer<pb::StopForDeathResponse> {
        stop_for_death::handle(&self.svc, r).await
    }
}
