//! Grievances (RULES.md "Second round" §6) through gRPC: filed on the portal or at the counter,
//! deadlines by category, an owner, the outcome, the overdue list and escalation. SQLite by
//! default, PostgreSQL when CIVIL_TEST_PG is set. The deadline arithmetic itself is pinned
//! clause by clause in `domain::grievance::tests`.

#[path = "support/checking_centre.rs"]
mod checking_centre;
#[path = "support/fixture.rs"]
mod fixture;

use civil_calendar::HolidayCalendar;
use contracts::civil::assistance::v1 as pb;
use contracts::civil::assistance::v1::grievance_service_client::GrievanceServiceClient;
use contracts::civil::assistance::v1::resolve_grievance_request::Outcome;
use kit::error::to_proto_date;
use kit::testing::Role;
use time::Duration;
use tonic::Code;
use tonic::transport::Channel;

use fixture::*;

fn g(f: &Fixture) -> GrievanceServiceClient<Channel> {
    GrievanceServiceClient::new(f.suite.channel.clone())
}

fn filing(tag: &str, category: pb::GrievanceCategory) -> pb::FileGrievanceRequest {
    pb::FileGrievanceRequest {
        request_id: format!("file-{tag}"),
        category: category as i32,
        region: VILLAGE.into(),
        subject_ref: String::new(),
        description: "我家的低保金额算错了".into(),
        complainant_name: "李四".into(),
        known_on: None,
    }
}

async fn file(
    f: &Fixture,
    req: pb::FileGrievanceRequest,
    token: &str,
) -> Result<pb::Grievance, tonic::Status> {
    g(f).file_grievance(f.req(req, token))
        .await
        .map(tonic::Response::into_inner)
}

async fn resolve(
    f: &Fixture,
    tag: &str,
    id: &str,
    outcome: Outcome,
    token: &str,
) -> Result<pb::Grievance, tonic::Status> {
    let req = pb::ResolveGrievanceRequest {
        request_id: format!("resolve-{tag}"),
        grievance_id: id.into(),
        outcome: Some(outcome),
    };
    g(f).resolve_grievance(f.req(req, token))
        .await
        .map(tonic::Response::into_inner)
}

async fn assign(f: &Fixture, tag: &str, id: &str) -> pb::Grievance {
    let req = pb::AssignGrievanceRequest {
        request_id: format!("assign-{tag}"),
        grievance_id: id.into(),
        owner: "clerk-1".into(),
    };
    g(f).assign_grievance(f.req(req, &f.approver))
        .await
        .expect("assign")
        .into_inner()
}

#[tokio::test]
async fn a_familys_complaint_on_the_portal_is_owned_and_resolved_by_the_corrected_decision() {
    let f = fixture().await;
    let calendar = HolidayCalendar::embedded();
    let citizen = f.suite.token_for("citizen-7", &[Role::Citizen], TOWNSHIP);
    let filed = file(
        &f,
        filing("c1", pb::GrievanceCategory::ComplaintStaff),
        &citizen,
    )
    .await
    .expect("the family files on the portal");
    assert_eq!(filed.channel, pb::GrievanceChannel::Portal as i32);
    assert_eq!(filed.state, pb::GrievanceState::Filed as i32);
    assert_eq!(
        filed.deadline,
        Some(to_proto_date(calendar.add_working_days(f.today, 15))),
        "15 working days (county policy example)"
    );
    // The family cannot read the county's grievances; the clerk of the region can.
    let get = pb::GetGrievanceRequest {
        grievance_id: filed.id.clone(),
    };
    let denied = g(&f)
        .get_grievance(f.req(get.clone(), &citizen))
        .await
        .expect_err("citizen");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let seen = g(&f)
        .get_grievance(f.req(get.clone(), &f.clerk))
        .await
        .expect("clerk")
        .into_inner();
    assert_eq!(seen.description, "我家的低保金额算错了");

    let owned = assign(&f, "c1", &filed.id).await;
    assert_eq!(
        (owned.state, owned.owner.as_str()),
        (pb::GrievanceState::InHand as i32, "clerk-1")
    );
    // The outcome names a decision of the county, not just any text.
    let unknown = resolve(
        &f,
        "c1-bad",
        &filed.id,
        Outcome::CorrectedDecisionRef("no-such-decision".into()),
        &f.clerk,
    )
    .await
    .expect_err("unknown decision");
    assert_eq!(reason(&unknown), "GRIEVANCE_DECISION_UNKNOWN");
    let app = f
        .client()
        .submit_application(f.req(
            application(
                "c1-app",
                vec![member(&id("19700505", 71), pb::Relationship::Applicant, 0)],
            ),
            &f.clerk,
        ))
        .await
        .expect("application")
        .into_inner();
    let done = resolve(
        &f,
        "c1",
        &filed.id,
        Outcome::CorrectedDecisionRef(app.id.clone()),
        &f.clerk,
    )
    .await
    .expect("resolved");
    assert_eq!(done.state, pb::GrievanceState::Resolved as i32);
    assert_eq!(done.corrected_decision_ref, app.id);
    assert_eq!(done.resolved_by, "clerk-1");
    let again = resolve(
        &f,
        "c1-again",
        &filed.id,
        Outcome::RejectionReasons("late".into()),
        &f.clerk,
    )
    .await
    .expect_err("resolved once");
    assert_eq!(reason(&again), "GRIEVANCE_RESOLVED");
}

#[tokio::test]
async fn a_petition_is_accepted_on_assignment_then_handled_within_60_days_and_rejected_with_reasons()
 {
    let f = fixture().await;
    let calendar = HolidayCalendar::embedded();
    let filed = file(
        &f,
        filing("p1", pb::GrievanceCategory::PetitionFirst),
        &f.clerk,
    )
    .await
    .expect("filed at the counter");
    assert_eq!(filed.channel, pb::GrievanceChannel::Counter as i32);
    assert_eq!(
        filed.deadline,
        Some(to_proto_date(calendar.period_end(f.today, 15))),
        "acceptance within 15 calendar days"
    );
    let early = resolve(
        &f,
        "p1-early",
        &filed.id,
        Outcome::RejectionReasons("x".into()),
        &f.clerk,
    )
    .await
    .expect_err("not accepted");
    assert_eq!(reason(&early), "GRIEVANCE_NOT_ACCEPTED");

    let accepted = assign(&f, "p1", &filed.id).await;
    assert_eq!(accepted.accepted_on, Some(to_proto_date(f.today)));
    assert_eq!(
        accepted.deadline,
        Some(to_proto_date(calendar.period_end(f.today, 60)))
    );
    let empty = resolve(
        &f,
        "p1-empty",
        &filed.id,
        Outcome::RejectionReasons("  ".into()),
        &f.clerk,
    )
    .await
    .expect_err("reasons required");
    assert_eq!(empty.code(), Code::InvalidArgument);
    let done = resolve(
        &f,
        "p1",
        &filed.id,
        Outcome::RejectionReasons("收入核对无误，维持原决定".into()),
        &f.clerk,
    )
    .await
    .expect("rejected with reasons");
    assert_eq!(done.rejection_reasons, "收入核对无误，维持原决定");
}

#[tokio::test]
async fn an_administrative_review_needs_the_date_known_and_is_refused_after_60_days() {
    let f = fixture().await;
    let mut late = filing("a1", pb::GrievanceCategory::AdministrativeReview);
    let err = file(&f, late.clone(), &f.clerk)
        .await
        .expect_err("known_on required");
    assert_eq!(reason(&err), "GRIEVANCE_KNOWN_ON_REQUIRED");
    late.request_id = "file-a2".into();
    late.known_on = Some(to_proto_date(f.today - Duration::days(90)));
    let err = file(&f, late.clone(), &f.clerk)
        .await
        .expect_err("too late");
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "GRIEVANCE_TIME_LIMIT_PASSED");
    late.request_id = "file-a3".into();
    late.known_on = Some(to_proto_date(f.today - Duration::days(10)));
    let ok = file(&f, late, &f.clerk).await.expect("in time");
    assert_eq!(
        ok.category,
        pb::GrievanceCategory::AdministrativeReview as i32
    );
}

#[tokio::test]
async fn overdue_grievances_are_listed_for_the_county_and_escalated_once() {
    let f = fixture().await;
    // Filed 40 days ago: 15 working days have passed.
    f.suite.clock.set_today(f.today - Duration::days(40));
    let old = file(
        &f,
        filing("o1", pb::GrievanceCategory::ObjectionNotice),
        &f.clerk,
    )
    .await
    .expect("old");
    f.suite.clock.set_today(f.today);
    let fresh = file(
        &f,
        filing("o2", pb::GrievanceCategory::ObjectionNotice),
        &f.clerk,
    )
    .await
    .expect("fresh");

    let list = |token: String| {
        let f = &f;
        async move {
            g(f).list_overdue_grievances(f.req(
                pb::ListOverdueGrievancesRequest {
                    region: COUNTY.into(),
                },
                &token,
            ))
            .await
        }
    };
    let overdue = list(f.approver.clone()).await.expect("list").into_inner();
    let ids: Vec<&str> = overdue.grievances.iter().map(|x| x.id.as_str()).collect();
    assert_eq!(ids, vec![old.id.as_str()]);
    assert!(overdue.grievances[0].overdue && !overdue.grievances[0].escalated);
    assert_ne!(fresh.id, old.id);
    // A clerk of the township may not list the whole county.
    let denied = list(f.clerk.clone()).await.expect_err("county scope");
    assert_eq!(denied.code(), Code::PermissionDenied);

    let escalate = |tag: &'static str| {
        let f = &f;
        async move {
            g(f).escalate_overdue_grievances(f.req(
                pb::EscalateOverdueGrievancesRequest {
                    request_id: format!("esc-{tag}"),
                },
                &f.approver,
            ))
            .await
            .expect("escalate")
            .into_inner()
        }
    };
    let first = escalate("1").await;
    assert_eq!(first.grievances.len(), 1);
    assert!(first.grievances[0].escalated);
    assert_eq!(
        first.grievances[0].escalated_on,
        Some(to_proto_date(f.today))
    );
    assert!(escalate("2").await.grievances.is_empty(), "escalated once");
    let still = list(f.approver.clone()).await.expect("list").into_inner();
    assert!(still.grievances[0].escalated);
}
