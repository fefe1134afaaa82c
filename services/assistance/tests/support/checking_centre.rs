//! A double of the county checking centre (家庭经济状况核对): a real tonic server implementing
//! `civil.external.v1.CheckingCentreService`, so assistance calls it over gRPC as in production.
//! It answers every member with the extra income it was told about (else none) and records
//! each call. Shared by tests/api.rs and benches/payment_roll.rs.

use std::sync::{Arc, Mutex};

use contracts::civil::external::v1 as ext;
use contracts::civil::external::v1::checking_centre_service_server::{
    CheckingCentreService, CheckingCentreServiceServer,
};
use tonic::{Request, Response, Status};

/// What the double saw and what it answers: extra verified income per identity number.
#[derive(Default)]
pub struct CentreState {
    pub calls: Vec<ext::CheckHouseholdRequest>,
    pub authorised: Vec<bool>,
    pub extra_income: Vec<(String, i64)>,
}

#[derive(Clone, Default)]
pub struct Centre(pub Arc<Mutex<CentreState>>);

#[tonic::async_trait]
impl CheckingCentreService for Centre {
    async fn check_household(
        &self,
        request: Request<ext::CheckHouseholdRequest>,
    ) -> Result<Response<ext::HouseholdCheckReport>, Status> {
        let bearer = request.metadata().get("authorization").is_some();
        let req = request.into_inner();
        let mut state = self.0.lock().expect("lock");
        state.authorised.push(bearer);
        let members = req
            .members
            .iter()
            .map(|m| ext::MemberFinding {
                id_number: m.id_number.clone(),
                monthly_income_fen: state
                    .extra_income
                    .iter()
                    .find(|(id, _)| *id == m.id_number)
                    .map_or(0, |(_, fen)| *fen),
                financial_assets_fen: 0,
                houses: 0,
                vehicles: 0,
            })
            .collect();
        let report = ext::HouseholdCheckReport {
            report_id: format!("report-{}", req.request_id),
            members,
            checked_on: None,
        };
        state.calls.push(req);
        Ok(Response::new(report))
    }
}

pub async fn start_centre(centre: Centre) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(CheckingCentreServiceServer::new(centre))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
            .await
            .expect("centre serves");
    });
    format!("http://{addr}")
}
