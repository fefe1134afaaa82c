//! Helpers of the monitoring gRPC tests: the clients, a 低保边缘 household made through the
//! assistance API, signals from the medical insurance bureau's profile, the chain view.
#![allow(dead_code)]

use contracts::civil::assistance::v1 as pb;
use contracts::civil::assistance::v1::low_income_monitoring_service_client::LowIncomeMonitoringServiceClient;
use contracts::civil::common::v1::PersonRef;
use contracts::civil::external::v1 as ext;
use contracts::civil::external::v1::signal_intake_service_client::SignalIntakeServiceClient;
use kit::error::to_proto_date;
use time::Duration;
use tonic::transport::Channel;

use super::fixture::*;

pub fn monitor(f: &Fixture) -> LowIncomeMonitoringServiceClient<Channel> {
    LowIncomeMonitoringServiceClient::new(f.suite.channel.clone())
}

pub fn intake(f: &Fixture) -> SignalIntakeServiceClient<Channel> {
    SignalIntakeServiceClient::new(f.suite.channel.clone())
}

/// The medical insurance bureau's system (caller profile `medical_insurance`).
pub fn medical(f: &Fixture) -> String {
    f.suite
        .token_for_profile("svc-medical", "medical_insurance", "")
}

/// Submits an application of `kind` and runs it to the decision's eve. Returns its id.
pub async fn through_notice_of_kind(
    f: &Fixture,
    tag: &str,
    kind: pb::BenefitKind,
    members: Vec<pb::Member>,
) -> String {
    let mut submit = application(&format!("{tag}-submit"), members);
    submit.kind = kind as i32;
    through_notice_of(f, tag, submit).await
}

/// A 低保边缘 household of two in VILLAGE (each member earns 1,500 yuan a month, between 1x and
/// 1.5x the standard), approved: it is in the register. Returns the two identity numbers.
pub async fn near_threshold_household(f: &Fixture, tag: &str, seq: u32) -> (String, String) {
    let (a, b) = (id("19750505", seq), id("19770707", seq + 1));
    let members = vec![
        member(&a, pb::Relationship::Applicant, 150_000),
        member(&b, pb::Relationship::Spouse, 150_000),
    ];
    let app = through_notice_of_kind(f, tag, pb::BenefitKind::NearThreshold, members).await;
    let decided = approve(f, tag, &app).await;
    assert_eq!(
        decided.state,
        pb::ApplicationState::Approved as i32,
        "near threshold approved"
    );
    (a, b)
}

pub fn medical_signal(
    request_id: &str,
    record: &str,
    person: &str,
    amount_fen: i64,
) -> ext::PushSignalRequest {
    ext::PushSignalRequest {
        request_id: request_id.into(),
        source: ext::SignalSource::MedicalInsurance as i32,
        source_record_id: record.into(),
        kind: ext::SignalKind::MedicalSpending as i32,
        person: Some(PersonRef {
            id_number: person.into(),
            name: "张三".into(),
        }),
        region: VILLAGE.into(),
        occurred_on: Some(to_proto_date(kit::today_cst() - Duration::days(3))),
        amount_fen,
        detail: "住院自付费用".into(),
    }
}

pub async fn push(
    f: &Fixture,
    r: ext::PushSignalRequest,
) -> Result<ext::SignalReceipt, tonic::Status> {
    intake(f)
        .push_signal(f.req(r, &medical(f)))
        .await
        .map(|r| r.into_inner())
}

pub async fn chain_of(f: &Fixture, id_number: &str) -> Result<pb::HouseholdChain, tonic::Status> {
    let r = pb::GetHouseholdChainRequest {
        household_id: String::new(),
        id_number: id_number.into(),
    };
    monitor(f)
        .get_household_chain(f.req(r, &f.clerk))
        .await
        .map(|r| r.into_inner())
}

pub async fn assign_and_visit(f: &Fixture, tag: &str, warning_id: &str) -> pb::Warning {
    let mut m = monitor(f);
    let assign = pb::AssignWarningRequest {
        request_id: format!("{tag}-assign"),
        warning_id: warning_id.into(),
        assignee: "clerk-1".into(),
    };
    let w = m
        .assign_warning(f.req(assign, &f.clerk))
        .await
        .expect("assign")
        .into_inner();
    assert_eq!(w.state, pb::WarningState::Assigned as i32);
    let visit = pb::RecordVisitRequest {
        request_id: format!("{tag}-visit"),
        warning_id: warning_id.into(),
        visit_date: Some(to_proto_date(f.today)),
        staff: two_staff(),
        finding: "hospital costs; the spouse stopped work to care".into(),
    };
    m.record_visit(f.req(visit, &f.clerk))
        .await
        .expect("visit")
        .into_inner()
}

pub fn close_request(
    tag: &str,
    warning_id: &str,
    kind: pb::ClosureKind,
) -> pb::CloseWarningRequest {
    pb::CloseWarningRequest {
        request_id: tag.into(),
        warning_id: warning_id.into(),
        kind: kind as i32,
        ..Default::default()
    }
}

/// Polls the household chain of `id_number` until it shows a warning (the consumer of
/// assistance's events runs after the terminating call committed).
pub async fn warned_chain(f: &Fixture, id_number: &str) -> pb::HouseholdChain {
    for _ in 0..200 {
        if let Ok(chain) = chain_of(f, id_number).await
            && !chain.warnings.is_empty()
        {
            return chain;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no warning raised for the household");
}
