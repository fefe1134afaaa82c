//! A test double for assistance: a real tonic server implementing `AssistanceService`, so the
//! funeral service calls it over gRPC exactly as it calls the real one. Only
//! `GetRecipientStatus` answers; it records each call's credentials and purpose.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use contracts::civil::assistance::v1 as apb;
use contracts::civil::assistance::v1::assistance_service_server::{
    AssistanceService, AssistanceServiceServer,
};
use tonic::{Request, Response, Status};

/// Benefits per identity number, as assistance would report them.
type Records = HashMap<String, Vec<(apb::BenefitKind, apb::BenefitState)>>;

#[derive(Debug, Clone)]
pub struct Call {
    pub bearer: bool,
    pub on_behalf_of: String,
    pub purpose: String,
}

#[derive(Default, Clone)]
pub struct AssistanceDouble {
    pub records: Arc<Mutex<Records>>,
    pub at_death: Arc<Mutex<HashMap<String, Vec<apb::BenefitKind>>>>,
    pub failing: Arc<AtomicBool>,
    pub calls: Arc<Mutex<Vec<Call>>>,
}

impl AssistanceDouble {
    pub fn give(&self, id_number: &str, kind: apb::BenefitKind, state: apb::BenefitState) {
        self.records
            .lock()
            .expect("lock")
            .entry(id_number.to_owned())
            .or_default()
            .push((kind, state));
    }

    /// A benefit assistance already ended because the person died.
    pub fn ended_at_death(&self, id_number: &str, kind: apb::BenefitKind) {
        self.at_death
            .lock()
            .expect("lock")
            .entry(id_number.to_owned())
            .or_default()
            .push(kind);
    }

    pub fn fail(&self, yes: bool) {
        self.failing.store(yes, Ordering::SeqCst);
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().expect("lock").clone()
    }

    /// Serves on a free port; returns the address.
    pub async fn start(&self) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let svc = AssistanceServiceServer::new(self.clone());
        tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(svc)
                .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener))
                .await
                .expect("double serves");
        });
        addr
    }
}

#[tonic::async_trait]
impl AssistanceService for AssistanceDouble {
    async fn get_recipient_status(
        &self,
        r: Request<apb::GetRecipientStatusRequest>,
    ) -> Result<Response<apb::RecipientStatus>, Status> {
        let md = r.metadata();
        let call = Call {
            bearer: md
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("Bearer ")),
            on_behalf_of: md
                .get(auth::ON_BEHALF_OF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned(),
            purpose: r.get_ref().purpose.clone(),
        };
        self.calls.lock().expect("lock").push(call);
        if self.failing.load(Ordering::SeqCst) {
            return Err(Status::unavailable("assistance is down"));
        }
        let benefits = self
            .records
            .lock()
            .expect("lock")
            .get(&r.get_ref().id_number)
            .cloned()
            .unwrap_or_default();
        let at_death = self
            .at_death
            .lock()
            .expect("lock")
            .get(&r.get_ref().id_number)
            .cloned()
            .unwrap_or_default();
        Ok(Response::new(apb::RecipientStatus {
            person: None,
            at_death: at_death
                .into_iter()
                .map(|kind| apb::DeathEffect {
                    benefit_id: "b-dead".into(),
                    kind: kind.into(),
                    ..Default::default()
                })
                .collect(),
            active_benefits: benefits
                .into_iter()
                .enumerate()
                .map(|(i, (kind, state))| apb::RecipientBenefit {
                    benefit_id: format!("b{i}"),
                    kind: kind.into(),
                    state: state.into(),
                    ..Default::default()
                })
                .collect(),
        }))
    }

    async fn terminate_for_death(
        &self,
        _: Request<apb::TerminateForDeathRequest>,
    ) -> Result<Response<apb::TerminateForDeathResponse>, Status> {
        Err(Status::unimplemented("test double"))
    }

    async fn submit_application(
        &self,
        _: Request<apb::SubmitApplicationRequest>,
    ) -> Result<Response<apb::Application>, Status> {
        Err(Status::unimplemented("test double"))
    }

    async fn accept_application(
        &self,
        _: Request<apb::AcceptApplicationRequest>,
    ) -> Result<Response<apb::Application>, Status> {
        Err(Status::unimplemented("test double"))
    }

    async fn record_investigation(
        &self,
        _: Request<apb::RecordInvestigationRequest>,
    ) -> Result<Response<apb::Application>, Status> {
        Err(Status::unimplemented("test double"))
    }

    async fn request_economic_check(
        &self,
        _: Request<apb::RequestEconomicCheckRequest>,
    ) -> Result<Response<apb::Application>, Status> {
        Err(Status::unimplemented("test double"))
    }

    async fn start_public_notice(
        &self,
        _: Request<apb::StartPublicNoticeRequest>,
    ) -> Result<Response<apb::Application>, Status> {
        Err(Status::unimplemented("test double"))
    }

    async fn record_objection(
        &self,
        _: Request<apb::RecordObjectionRequest>,
    ) -> Result<Response<apb::Application>, Status> {
        Err(Status::unimplemented("test double"))
    }

    async fn decide_application(
        &self,
        _: Request<apb::DecideApplicationRequest>,
    ) -> Result<Response<apb::Application>, Status> {
        Err(Status::unimplemented("test double"))
    }

    async fn get_application(
        &self,
        _: Request<apb::GetApplicationRequest>,
    ) -> Result<Response<apb::Application>, Status> {
        Err(Status::unimplemented("test double"))
    }

    async fn list_overdue_applications(
        &self,
        _: Request<apb::ListOverdueApplicationsRequest>,
    ) -> Result<Response<apb::ListOverdueApplicationsResponse>, Status> {
        Err(Status::unimplemented("test double"))
    }

    async fn grant_temporary_assistance(
        &self,
        _: Request<apb::GrantTemporaryAssistanceRequest>,
    ) -> Result<Response<apb::Benefit>, Status> {
        Err(Status::unimplemented("test double"))
    }

    async fn get_benefit(
        &self,
        _: Request<apb::GetBenefitRequest>,
    ) -> Result<Response<apb::Benefit>, Status> {
        Err(Status::unimplemented("test double"))
    }

    async fn record_income_change(
        &self,
        _: Request<apb::RecordIncomeChangeRequest>,
    ) -> Result<Response<apb::Benefit>, Status> {
        Err(Status::unimplemented("test double"))
    }

    async fn terminate_benefit(
        &self,
        _: Request<apb::TerminateBenefitRequest>,
    ) -> Result<Response<apb::Benefit>, Status> {
        Err(Status::unimplemented("test double"))
    }

    async fn generate_payment_roll(
        &self,
        _: Request<apb::GeneratePaymentRollRequest>,
    ) -> Result<Response<apb::PaymentRoll>, Status> {
        Err(Status::unimplemented("test double"))
    }

    async fn list_payment_rolls(
        &self,
        _: Request<apb::ListPaymentRollsRequest>,
    ) -> Result<Response<apb::ListPaymentRollsResponse>, Status> {
        Err(Status::unimplemented("test double"))
    }

    async fn export_payment_roll(
        &self,
        _: Request<apb::ExportPaymentRollRequest>,
    ) -> Result<Response<apb::ExportPaymentRollResponse>, Status> {
        Err(Status::unimplemented("test double"))
    }
}
