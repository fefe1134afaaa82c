//! What it takes to run the real assistance service next to funeral in a test suite: a double of
//! the county checking centre (outside the suite; assistance needs it to approve a 低保), a
//! switchable TCP link between funeral and assistance (to cut assistance off), and the 低保
//! procedure through assistance's gRPC API.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use contracts::civil::assistance::v1 as apb;
use contracts::civil::assistance::v1::assistance_service_client::AssistanceServiceClient;
use contracts::civil::common::v1::PersonRef;
use contracts::civil::external::v1 as ext;
use contracts::civil::external::v1::checking_centre_service_server::{
    CheckingCentreService, CheckingCentreServiceServer,
};
use kit::error::to_proto_date;
use kit::testing::{Role, TestSuite};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;
use tonic::{Request, Response, Status};

/// The checking centre finds nothing beyond what the household declared.
#[derive(Clone, Default)]
struct Centre;

#[tonic::async_trait]
impl CheckingCentreService for Centre {
    async fn check_household(
        &self,
        request: Request<ext::CheckHouseholdRequest>,
    ) -> Result<Response<ext::HouseholdCheckReport>, Status> {
        let req = request.into_inner();
        Ok(Response::new(ext::HouseholdCheckReport {
            report_id: format!("report-{}", req.request_id),
            members: req
                .members
                .iter()
                .map(|m| ext::MemberFinding {
                    id_number: m.id_number.clone(),
                    ..Default::default()
                })
                .collect(),
            checked_on: None,
        }))
    }
}

/// Serves the checking-centre double on a free port; returns its URL.
pub async fn start_checking_centre() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(CheckingCentreServiceServer::new(Centre))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener))
            .await
            .expect("centre serves");
    });
    format!("http://{addr}")
}

/// A TCP link to a target that can be cut: while down, open connections are dropped and new
/// ones are closed at once, as when the network to assistance fails.
#[derive(Clone)]
pub struct Link {
    pub addr: SocketAddr,
    target: Arc<Mutex<Option<SocketAddr>>>,
    up: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<AbortHandle>>>,
}

impl Link {
    pub async fn start() -> Link {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let link = Link {
            addr: listener.local_addr().expect("addr"),
            target: Arc::default(),
            up: Arc::new(AtomicBool::new(true)),
            open: Arc::default(),
        };
        let l = link.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = *l.target.lock().expect("lock");
                let Some(target) = target.filter(|_| l.up.load(Ordering::SeqCst)) else {
                    drop(inbound);
                    continue;
                };
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                l.open.lock().expect("lock").push(task.abort_handle());
            }
        });
        link
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn connect_to(&self, target: SocketAddr) {
        *self.target.lock().expect("lock") = Some(target);
    }

    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for task in self.open.lock().expect("lock").drain(..) {
            task.abort();
        }
    }

    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// Takes a one-member rural household through the 低保 procedure in assistance (application,
/// acceptance, home visit, economic check, public notice, approval); returns the benefit id.
pub async fn approve_minimum_living_allowance(suite: &TestSuite, id_number: &str) -> String {
    const VILLAGE: &str = "330723101001";
    let clerk = suite.token_for("clerk-1", &[Role::TownshipClerk], "330723101");
    let approver = suite.token_for("approver-1", &[Role::CountyApprover], "330723");
    let days_ago = |d: i64| Some(to_proto_date(kit::today_cst() - time::Duration::days(d)));
    let tag = &id_number[..17];
    let mut c = AssistanceServiceClient::new(suite.channel.clone());
    let app = c
        .submit_application(suite.request(
            apb::SubmitApplicationRequest {
                request_id: format!("{tag}-submit"),
                kind: apb::BenefitKind::MinimumLivingAllowance.into(),
                channel: apb::Channel::InPerson.into(),
                household: Some(apb::Household {
                    region: VILLAGE.into(),
                    area: apb::AreaKind::Rural.into(),
                    members: vec![apb::Member {
                        person: Some(PersonRef {
                            id_number: id_number.into(),
                            name: "王某".into(),
                        }),
                        relationship: apb::Relationship::Applicant.into(),
                        ..Default::default()
                    }],
                }),
                ..Default::default()
            },
            &clerk,
        ))
        .await
        .expect("submit")
        .into_inner();
    let id = app.id;
    c.accept_application(suite.request(
        apb::AcceptApplicationRequest {
            request_id: format!("{tag}-accept"),
            application_id: id.clone(),
        },
        &clerk,
    ))
    .await
    .expect("accept");
    let staff = ["staff-a", "staff-b"]
        .iter()
        .map(|s| apb::Signatory {
            staff_subject: (*s).into(),
            staff_name: (*s).into(),
            signed: true,
        })
        .collect();
    c.record_investigation(suite.request(
        apb::RecordInvestigationRequest {
            request_id: format!("{tag}-visit"),
            application_id: id.clone(),
            visit_date: days_ago(21),
            staff,
            household_signed: true,
            findings: "household visited".into(),
        },
        &clerk,
    ))
    .await
    .expect("visit");
    c.request_economic_check(suite.request(
        apb::RequestEconomicCheckRequest {
            request_id: format!("{tag}-check"),
            application_id: id.clone(),
            authorisation_reference: format!("AUTH-{tag}"),
            authorisation_signed_on: days_ago(21),
        },
        &clerk,
    ))
    .await
    .expect("economic check");
    c.start_public_notice(suite.request(
        apb::StartPublicNoticeRequest {
            request_id: format!("{tag}-notice"),
            application_id: id.clone(),
            start_date: days_ago(20),
        },
        &clerk,
    ))
    .await
    .expect("notice");
    let app = c
        .decide_application(suite.request(
            apb::DecideApplicationRequest {
                request_id: format!("{tag}-decide"),
                application_id: id,
                approve: true,
                reasons: vec![],
            },
            &approver,
        ))
        .await
        .expect("approve")
        .into_inner();
    assert_eq!(app.state, apb::ApplicationState::Approved as i32);
    app.benefit_id
}
