//! The shared fixture of the gRPC tests: a suite with assistance and a checking-centre double,
//! tokens for a clerk, an approver and the one-matter service, and request builders.
#![allow(dead_code)]

use contracts::civil::assistance::v1 as pb;
use contracts::civil::assistance::v1::assistance_service_client::AssistanceServiceClient;
use contracts::civil::common::v1::{Date as ProtoDate, PersonRef};
use kit::error::{reason_of, to_proto_date};
use kit::testing::{Role, TestSuite};
use time::{Date, Duration};
use tonic::transport::Channel;
use tonic::{Request, Status};

use super::checking_centre::{Centre, start_centre};

pub const VILLAGE: &str = "330723101001";
pub const TOWNSHIP: &str = "330723101";
pub const OTHER_TOWNSHIP: &str = "330723102";
pub const COUNTY: &str = "330723";

// ---------------------------------------------------------------- fixture

pub struct Fixture {
    pub suite: TestSuite,
    pub centre: Centre,
    pub clerk: String,
    pub approver: String,
    pub service: String,
    pub today: Date,
}

pub async fn fixture() -> Fixture {
    fixture_with(|_| {}).await
}

/// A fixture whose configuration `adjust` changes (e.g. another county policy file).
pub async fn fixture_with(adjust: impl FnOnce(&mut kit::config::Config)) -> Fixture {
    let centre = Centre::default();
    let url = start_centre(centre.clone()).await;
    let suite = kit::testing::spawn_with(&[assistance::SERVICE], |config| {
        config.upstreams.insert("checking_centre".into(), url);
        adjust(config);
    })
    .await;
    let clerk = suite.token_for("clerk-1", &[Role::TownshipClerk], TOWNSHIP);
    let approver = suite.token_for("approver-1", &[Role::CountyApprover], COUNTY);
    let service = suite.token_for("svc-onematter", &[Role::Service], "");
    Fixture {
        suite,
        centre,
        clerk,
        approver,
        service,
        today: kit::today_cst(),
    }
}

impl Fixture {
    pub fn client(&self) -> AssistanceServiceClient<Channel> {
        AssistanceServiceClient::new(self.suite.channel.clone())
    }

    pub fn req<T>(&self, message: T, token: &str) -> Request<T> {
        self.suite.request(message, token)
    }

    pub fn days_ago(&self, days: i64) -> ProtoDate {
        to_proto_date(self.today - Duration::days(days))
    }
}

/// A valid 居民身份证号 born on `birth` (YYYYMMDD) with sequence `seq`.
pub fn id(birth: &str, seq: u32) -> String {
    let first17 = format!("330723{birth}{seq:03}");
    format!("{first17}{}", civil_id::IdNumber::check_char(&first17))
}

pub fn member(id_number: &str, relationship: pb::Relationship, wages_fen: i64) -> pb::Member {
    pb::Member {
        person: Some(PersonRef {
            id_number: id_number.into(),
            name: "张三".into(),
        }),
        relationship: relationship as i32,
        incomes: if wages_fen > 0 {
            vec![pb::IncomeItem {
                kind: pb::IncomeKind::Wages as i32,
                monthly_fen: wages_fen,
            }]
        } else {
            vec![]
        },
        ..Default::default()
    }
}

pub fn household(members: Vec<pb::Member>) -> pb::Household {
    pb::Household {
        region: VILLAGE.into(),
        area: pb::AreaKind::Rural as i32,
        members,
    }
}

pub fn application(request_id: &str, members: Vec<pb::Member>) -> pb::SubmitApplicationRequest {
    pb::SubmitApplicationRequest {
        request_id: request_id.into(),
        kind: pb::BenefitKind::MinimumLivingAllowance as i32,
        channel: pb::Channel::InPerson as i32,
        household: Some(household(members)),
        ..Default::default()
    }
}

pub fn two_staff() -> Vec<pb::Signatory> {
    ["staff-a", "staff-b"]
        .iter()
        .map(|s| pb::Signatory {
            staff_subject: (*s).into(),
            staff_name: (*s).into(),
            signed: true,
        })
        .collect()
}

pub fn reason(status: &Status) -> String {
    reason_of(status).unwrap_or_default()
}

/// Runs an application from submission to the decision's eve (notice over). Returns its id.
pub async fn through_notice(f: &Fixture, tag: &str, members: Vec<pb::Member>) -> String {
    through_notice_of(f, tag, application(&format!("{tag}-submit"), members)).await
}

/// [`through_notice`] of a given application request (another program, another household).
pub async fn through_notice_of(
    f: &Fixture,
    tag: &str,
    request: pb::SubmitApplicationRequest,
) -> String {
    let mut c = f.client();
    let app = c
        .submit_application(f.req(request, &f.clerk))
        .await
        .expect("submit")
        .into_inner();
    let id = app.id;
    c.accept_application(f.req(
        pb::AcceptApplicationRequest {
            request_id: format!("{tag}-accept"),
            application_id: id.clone(),
        },
        &f.clerk,
    ))
    .await
    .expect("accept");
    let visit = pb::RecordInvestigationRequest {
        request_id: format!("{tag}-visit"),
        application_id: id.clone(),
        visit_date: Some(f.days_ago(21)),
        staff: two_staff(),
        household_signed: true,
        findings: "household visited".into(),
    };
    c.record_investigation(f.req(visit, &f.clerk))
        .await
        .expect("visit");
    let check = pb::RequestEconomicCheckRequest {
        request_id: format!("{tag}-check"),
        application_id: id.clone(),
        authorisation_reference: format!("AUTH-{tag}"),
        authorisation_signed_on: Some(f.days_ago(21)),
    };
    c.request_economic_check(f.req(check, &f.clerk))
        .await
        .expect("check");
    let notice = pb::StartPublicNoticeRequest {
        request_id: format!("{tag}-notice"),
        application_id: id.clone(),
        start_date: Some(f.days_ago(20)),
    };
    c.start_public_notice(f.req(notice, &f.clerk))
        .await
        .expect("notice");
    id
}

pub async fn approve(f: &Fixture, tag: &str, application_id: &str) -> pb::Application {
    let decide = pb::DecideApplicationRequest {
        request_id: format!("{tag}-decide"),
        application_id: application_id.into(),
        approve: true,
        reasons: vec![],
    };
    f.client()
        .decide_application(f.req(decide, &f.approver))
        .await
        .expect("approve")
        .into_inner()
}

pub async fn status(f: &Fixture, id_number: &str) -> pb::RecipientStatus {
    let request = pb::GetRecipientStatusRequest {
        id_number: id_number.into(),
        purpose: "funeral fee waiver".into(),
    };
    f.client()
        .get_recipient_status(f.req(request, &f.service))
        .await
        .expect("status")
        .into_inner()
}
