//! The gRPC surface: one file per RPC (its decoded input, its authorize step, its effect, on
//! `kit::rpc`), and the tonic trait impl below, one line per RPC.
//!
//! - [`shared`]: the registrar's office check, parties at the counter, certificate numbers,
//!   the status cache, refusals at the desk.
//! - [`applications`]: what the divorce-application RPCs share.
//! - [`booking`]: the peak-day booking desk (admission gate, group commit) BookAppointment
//!   goes through.

mod applications;
mod apply_for_divorce;
mod book_appointment;
mod booking;
mod cancel_appointment;
mod create_office;
mod get_divorce_application;
mod get_marital_status;
mod get_marriage;
mod list_free_slots;
mod list_refusals;
mod national_check;
mod record_court_decision;
mod record_death;
mod record_national_check_override;
mod register_divorce;
mod register_marriage;
mod reissue_certificate;
mod set_slot_quotas;
mod shared;
mod withdraw_divorce_application;

use contracts::civil::marriage::v1 as pb;
use contracts::civil::marriage::v1::marriage_service_server::MarriageService;
use kit::rpc::Rpc;
use tonic::{Request, Response, Status};

/// The service's shared state, built once at mount. Cheap to clone.
#[derive(Clone)]
pub struct MarriageApi {
    pub(crate) rpc: Rpc,
    pub(crate) offices: shared::Offices,
    pub(crate) bookings: booking::Bookings,
    pub(crate) national: crate::national::National,
}

impl MarriageApi {
    pub fn new(rpc: Rpc, national: crate::national::National) -> Self {
        let bookings = booking::Bookings::spawn(rpc.db().clone());
        Self {
            rpc,
            offices: shared::Offices::default(),
            bookings,
            national,
        }
    }
}

type Rpc_<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl MarriageService for MarriageApi {
    async fn create_office(&self, r: Request<pb::CreateOfficeRequest>) -> Rpc_<pb::Office> {
        create_office::handle(self, r).await
    }

    async fn set_slot_quotas(&self, r: Request<pb::SetSlotQuotasRequest>) -> Rpc_<pb::DaySchedule> {
        set_slot_quotas::handle(self, r).await
    }

    async fn list_free_slots(&self, r: Request<pb::ListFreeSlotsRequest>) -> Rpc_<pb::DaySchedule> {
        list_free_slots::handle(self, r).await
    }

    async fn book_appointment(
        &self,
        r: Request<pb::BookAppointmentRequest>,
    ) -> Rpc_<pb::Appointment> {
        book_appointment::handle(self, r).await
    }

    async fn cancel_appointment(
        &self,
        r: Request<pb::CancelAppointmentRequest>,
    ) -> Rpc_<pb::Appointment> {
        cancel_appointment::handle(self, r).await
    }

    async fn register_marriage(
        &self,
        r: Request<pb::RegisterMarriageRequest>,
    ) -> Rpc_<pb::Marriage> {
        register_marriage::handle(self, r).await
    }

    async fn record_national_check_override(
        &self,
        r: Request<pb::RecordNationalCheckOverrideRequest>,
    ) -> Rpc_<pb::NationalCheckOverride> {
        record_national_check_override::handle(self, r).await
    }

    async fn get_marriage(&self, r: Request<pb::GetMarriageRequest>) -> Rpc_<pb::Marriage> {
        get_marriage::handle(self, r).await
    }

    async fn apply_for_divorce(
        &self,
        r: Request<pb::ApplyForDivorceRequest>,
    ) -> Rpc_<pb::DivorceApplication> {
        apply_for_divorce::handle(self, r).await
    }

    async fn get_divorce_application(
        &self,
        r: Request<pb::GetDivorceApplicationRequest>,
    ) -> Rpc_<pb::DivorceApplication> {
        get_divorce_application::handle(self, r).await
    }

    async fn withdraw_divorce_application(
        &self,
        r: Request<pb::WithdrawDivorceApplicationRequest>,
    ) -> Rpc_<pb::DivorceApplication> {
        withdraw_divorce_application::handle(self, r).await
    }

    async fn register_divorce(
        &self,
        r: Request<pb::RegisterDivorceRequest>,
    ) -> Rpc_<pb::DivorceApplication> {
        register_divorce::handle(self, r).await
    }

    async fn reissue_certificate(
        &self,
        r: Request<pb::ReissueCertificateRequest>,
    ) -> Rpc_<pb::CertificateReissue> {
        reissue_certificate::handle(self, r).await
    }

    async fn record_court_decision(
        &self,
        r: Request<pb::RecordCourtDecisionRequest>,
    ) -> Rpc_<pb::Marriage> {
        record_court_decision::handle(self, r).await
    }

    async fn record_death(&self, r: Request<pb::RecordDeathRequest>) -> Rpc_<pb::DeathRecord> {
        record_death::handle(self, r).await
    }

    async fn get_marital_status(
        &self,
        r: Request<pb::GetMaritalStatusRequest>,
    ) -> Rpc_<pb::MaritalStatus> {
        get_marital_status::handle(self, r).await
    }

    async fn list_refusals(
        &self,
        r: Request<pb::ListRefusalsRequest>,
    ) -> Rpc_<pb::ListRefusalsResponse> {
        list_refusals::handle(self, r).await
    }
}
