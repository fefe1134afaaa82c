//! A test double for assistance: a real tonic server implementing `AssistanceService`, so the
//! funeral service calls it over gRPC exactly as it calls the real one. Only
//! `GetRecipientStatus` answers; it records each call's credentials and purpose.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use contracts::civil::assistance::v1 as apb;
use futures::future::BoxFuture;
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
        let svc = Routes(self.clone());
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

impl AssistanceDouble {
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
}

/// Serves only `GetRecipientStatus` (every other method answers UNIMPLEMENTED), routed by path
/// so that new assistance RPCs need no stub here.
#[derive(Clone)]
struct Routes(AssistanceDouble);

impl tonic::server::NamedService for Routes {
    const NAME: &'static str = "civil.assistance.v1.AssistanceService";
}

struct RecipientStatus(AssistanceDouble);

impl tonic::server::UnaryService<apb::GetRecipientStatusRequest> for RecipientStatus {
    type Response = apb::RecipientStatus;
    type Future = BoxFuture<'static, Result<Response<apb::RecipientStatus>, Status>>;

    fn call(&mut self, request: Request<apb::GetRecipientStatusRequest>) -> Self::Future {
        let double = self.0.clone();
        Box::pin(async move { double.get_recipient_status(request).await })
    }
}

impl tower::Service<http::Request<tonic::body::Body>> for Routes {
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let double = self.0.clone();
        Box::pin(async move {
            if request.uri().path() == "/civil.assistance.v1.AssistanceService/GetRecipientStatus" {
                let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::default());
                Ok(grpc.unary(RecipientStatus(double), request).await)
            } else {
                Ok(Status::unimplemented("test double").into_http())
            }
        })
    }
}
