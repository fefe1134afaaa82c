//! Adapters to systems outside the suite, behind traits owned by the aggregator. The gRPC
//! implementations speak our contracts in `proto/civil/external/v1/` to the county's adapter
//! services, found through `CIVIL_UPSTREAM_HOUSEHOLD_REGISTER`, `CIVIL_UPSTREAM_SOCIAL_INSURANCE`,
//! `CIVIL_UPSTREAM_MEDICAL_INSURANCE` and `CIVIL_UPSTREAM_BIRTH_SERVICE`.
//!
//! Every write carries the step's idempotency key as `request_id`; the contracts require the
//! outside adapter to answer a repeat with its first answer.

use std::sync::Arc;

use futures::future::BoxFuture;
use tonic::{Request, Status};

use contracts::civil::external::v1 as ext;
use ext::birth_service_client::BirthServiceClient;
use ext::household_register_service_client::HouseholdRegisterServiceClient;
use ext::medical_insurance_service_client::MedicalInsuranceServiceClient;
use ext::social_insurance_service_client::SocialInsuranceServiceClient;
use kit::ServiceContext;

type Call<'a, T> = BoxFuture<'a, Result<T, Status>>;

/// 公安户籍.
pub trait HouseholdRegister: Send + Sync {
    fn deregister_deceased(
        &self,
        req: Request<ext::DeregisterDeceasedRequest>,
    ) -> Call<'_, ext::HouseholdReceipt>;
    fn update_marital_status(
        &self,
        req: Request<ext::UpdateMaritalStatusRequest>,
    ) -> Call<'_, ext::HouseholdReceipt>;
    fn withdraw_change(
        &self,
        req: Request<ext::WithdrawChangeRequest>,
    ) -> Call<'_, ext::HouseholdReceipt>;
}

/// 人社 社会保险.
pub trait SocialInsurance: Send + Sync {
    fn stop_pension_for_death(
        &self,
        req: Request<ext::StopPensionForDeathRequest>,
    ) -> Call<'_, ext::PensionStop>;
}

/// 医保.
pub trait MedicalInsurance: Send + Sync {
    fn end_enrolment_for_death(
        &self,
        req: Request<ext::EndEnrolmentForDeathRequest>,
    ) -> Call<'_, ext::EnrolmentEnd>;
    fn enrol_medical_assistance(
        &self,
        req: Request<ext::EnrolMedicalAssistanceRequest>,
    ) -> Call<'_, ext::MedicalAssistanceEnrolment>;
    fn withdraw_medical_assistance(
        &self,
        req: Request<ext::WithdrawMedicalAssistanceRequest>,
    ) -> Call<'_, ext::MedicalAssistanceEnrolment>;
}

/// 卫健 生育服务登记.
pub trait BirthServices: Send + Sync {
    fn register_couple(
        &self,
        req: Request<ext::RegisterCoupleRequest>,
    ) -> Call<'_, ext::BirthServiceRegistration>;
    fn cancel_registration(
        &self,
        req: Request<ext::CancelRegistrationRequest>,
    ) -> Call<'_, ext::BirthServiceRegistration>;
}

/// The outside systems a workflow may call.
#[derive(Clone)]
pub struct Externals {
    pub household_register: Arc<dyn HouseholdRegister>,
    pub social_insurance: Arc<dyn SocialInsurance>,
    pub medical_insurance: Arc<dyn MedicalInsurance>,
    pub birth_service: Arc<dyn BirthServices>,
}

impl Externals {
    /// gRPC adapters on the configured upstream channels.
    pub fn grpc(ctx: &ServiceContext) -> Self {
        let g = |name: &str| Grpc(ctx.channel(name));
        Externals {
            household_register: Arc::new(g("household_register")),
            social_insurance: Arc::new(g("social_insurance")),
            medical_insurance: Arc::new(g("medical_insurance")),
            birth_service: Arc::new(g("birth_service")),
        }
    }
}

/// A gRPC adapter over one channel.
#[derive(Clone)]
pub struct Grpc(pub tonic::transport::Channel);

impl HouseholdRegister for Grpc {
    fn deregister_deceased(
        &self,
        req: Request<ext::DeregisterDeceasedRequest>,
    ) -> Call<'_, ext::HouseholdReceipt> {
        let mut c = HouseholdRegisterServiceClient::new(self.0.clone());
        Box::pin(async move { c.deregister_deceased(req).await.map(|r| r.into_inner()) })
    }
    fn update_marital_status(
        &self,
        req: Request<ext::UpdateMaritalStatusRequest>,
    ) -> Call<'_, ext::HouseholdReceipt> {
        let mut c = HouseholdRegisterServiceClient::new(self.0.clone());
        Box::pin(async move { c.update_marital_status(req).await.map(|r| r.into_inner()) })
    }
    fn withdraw_change(
        &self,
        req: Request<ext::WithdrawChangeRequest>,
    ) -> Call<'_, ext::HouseholdReceipt> {
        let mut c = HouseholdRegisterServiceClient::new(self.0.clone());
        Box::pin(async move { c.withdraw_change(req).await.map(|r| r.into_inner()) })
    }
}

impl SocialInsurance for Grpc {
    fn stop_pension_for_death(
        &self,
        req: Request<ext::StopPensionForDeathRequest>,
    ) -> Call<'_, ext::PensionStop> {
        let mut c = SocialInsuranceServiceClient::new(self.0.clone());
        Box::pin(async move { c.stop_pension_for_death(req).await.map(|r| r.into_inner()) })
    }
}

impl MedicalInsurance for Grpc {
    fn end_enrolment_for_death(
        &self,
        req: Request<ext::EndEnrolmentForDeathRequest>,
    ) -> Call<'_, ext::EnrolmentEnd> {
        let mut c = MedicalInsuranceServiceClient::new(self.0.clone());
        Box::pin(async move { c.end_enrolment_for_death(req).await.map(|r| r.into_inner()) })
    }
    fn enrol_medical_assistance(
        &self,
        req: Request<ext::EnrolMedicalAssistanceRequest>,
    ) -> Call<'_, ext::MedicalAssistanceEnrolment> {
        let mut c = MedicalInsuranceServiceClient::new(self.0.clone());
        Box::pin(async move {
            c.enrol_medical_assistance(req)
                .await
                .map(|r| r.into_inner())
        })
    }
    fn withdraw_medical_assistance(
        &self,
        req: Request<ext::WithdrawMedicalAssistanceRequest>,
    ) -> Call<'_, ext::MedicalAssistanceEnrolment> {
        let mut c = MedicalInsuranceServiceClient::new(self.0.clone());
        Box::pin(async move {
            c.withdraw_medical_assistance(req)
                .await
                .map(|r| r.into_inner())
        })
    }
}

impl BirthServices for Grpc {
    fn register_couple(
        &self,
        req: Request<ext::RegisterCoupleRequest>,
    ) -> Call<'_, ext::BirthServiceRegistration> {
        let mut c = BirthServiceClient::new(self.0.clone());
        Box::pin(async move { c.register_couple(req).await.map(|r| r.into_inner()) })
    }
    fn cancel_registration(
        &self,
        req: Request<ext::CancelRegistrationRequest>,
    ) -> Call<'_, ext::BirthServiceRegistration> {
        let mut c = BirthServiceClient::new(self.0.clone());
        Box::pin(async move { c.cancel_registration(req).await.map(|r| r.into_inner()) })
    }
}
