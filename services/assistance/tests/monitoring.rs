//! gRPC tests of 低收入人口动态监测 (monitoring.proto and the civil.external.v1 signal intake),
//! served by the assistance process: SQLite by default, PostgreSQL when CIVIL_TEST_PG is set.
//! Households enter the register the way a county enters them (application to approval through
//! the assistance API); signals come from a department's system with its caller profile.

#[path = "support/checking_centre.rs"]
mod checking_centre;
#[path = "support/fixture.rs"]
mod fixture;
#[path = "support/monitor.rs"]
mod monitor;

use assistance::domain::month::Month;
use contracts::civil::assistance::v1 as pb;
use contracts::civil::assistance::v1::payment_roll_service_client::PaymentRollServiceClient;
use contracts::civil::external::v1 as ext;
use kit::error::{to_proto_date, violated_fields};
use time::Duration;
use tonic::Code;

use fixture::*;
use monitor::*;

#[tokio::test]
async fn a_medical_signal_raises_an_orange_warning_that_closes_with_a_new_application_and_leads_to_the_roll()
 {
    let f = fixture().await;
    let (a, b) = near_threshold_household(&f, "edge", 31).await;

    // Medical spending of 12,000 yuan on a 低保边缘 household: orange, owned by its township,
    // the visit due 7 working days after today.
    let first = push(&f, medical_signal("sig-1", "MI-2026-0001", &a, 1_200_000))
        .await
        .expect("signal");
    assert_eq!(first.outcome, ext::SignalOutcome::WarningRaised as i32);
    assert_eq!(first.warning_level, "orange");
    assert_eq!(first.owner_region, TOWNSHIP);
    let due = civil_calendar::HolidayCalendar::embedded().add_working_days(f.today, 7);
    assert_eq!(first.due_on, Some(to_proto_date(due)));

    // A second signal on the household (the spouse, another record) joins the open warning.
    let second = push(&f, medical_signal("sig-2", "MI-2026-0002", &b, 1_000_000))
        .await
        .expect("second");
    assert_eq!(second.outcome, ext::SignalOutcome::Merged as i32);
    assert_eq!(second.warning_id, first.warning_id);
    assert_eq!(
        (second.warning_level.as_str(), second.due_on),
        ("orange", first.due_on)
    );

    let warning = assign_and_visit(&f, "w1", &first.warning_id).await;
    assert_eq!(warning.state, pb::WarningState::Visited as i32);
    assert_eq!(warning.signal_ids.len(), 2);

    // Closing without evidence is refused with its own reason, and a clerk cannot dismiss.
    let mut m = monitor(&f);
    let bare = close_request(
        "close-bare",
        &first.warning_id,
        pb::ClosureKind::Unspecified,
    );
    let refused = m
        .close_warning(f.req(bare, &f.clerk))
        .await
        .expect_err("no evidence");
    assert_eq!(
        (refused.code(), reason(&refused)),
        (
            Code::FailedPrecondition,
            "MONITORING_EVIDENCE_REQUIRED".into()
        )
    );
    let mut dismiss = close_request(
        "close-dismiss",
        &first.warning_id,
        pb::ClosureKind::Dismissal,
    );
    dismiss.reason = "costs covered by medical assistance".into();
    let refused = m
        .close_warning(f.req(dismiss, &f.clerk))
        .await
        .expect_err("clerk dismissal");
    assert_eq!(reason(&refused), "MONITORING_DISMISSAL_NEEDS_APPROVER");

    // The household applies for 低保 (the spouse's wages are gone); the application closes it.
    let members = vec![
        member(&a, pb::Relationship::Applicant, 40_000),
        member(&b, pb::Relationship::Spouse, 0),
    ];
    let app_id = through_notice_of_kind(
        &f,
        "dibao",
        pb::BenefitKind::MinimumLivingAllowance,
        members,
    )
    .await;
    let mut close = close_request("close-app", &first.warning_id, pb::ClosureKind::Application);
    close.application_id = app_id.clone();
    let closed = m
        .close_warning(f.req(close, &f.clerk))
        .await
        .expect("closed")
        .into_inner();
    assert_eq!(closed.state, pb::WarningState::Closed as i32);
    assert_eq!(
        closed.closure.as_ref().map(|c| c.application_id.as_str()),
        Some(app_id.as_str())
    );

    // Approved, paid from next month, on the roll.
    let benefit_id = approve(&f, "dibao", &app_id).await.benefit_id;
    let mut pay = PaymentRollServiceClient::new(f.suite.channel.clone());
    let account = pb::SetPayeeAccountRequest {
        request_id: "acct".into(),
        benefit_id: benefit_id.clone(),
        bank_code: "402331000007".into(),
        account_number: "6222020000001234".into(),
        account_holder: "张三".into(),
    };
    pay.set_payee_account(f.req(account, &f.clerk))
        .await
        .expect("account");
    let month = Month::of(f.today).next().to_string();
    let roll = pb::GenerateRollRequest {
        request_id: "roll".into(),
        month: month.clone(),
    };
    let roll = pay
        .generate_roll(f.req(roll, &f.approver))
        .await
        .expect("roll")
        .into_inner();

    // The household's chain: signals, the closed warning, the application, its benefit, the
    // roll line.
    let chain = chain_of(&f, &a).await.expect("chain");
    assert_eq!(chain.owner_region, TOWNSHIP);
    assert_eq!(chain.members, 2);
    assert!(
        chain
            .register
            .iter()
            .any(|e| e.category == pb::RegisterCategory::NearThreshold as i32)
    );
    assert_eq!(chain.signals.len(), 2);
    assert_eq!(chain.warnings.len(), 1);
    let app = chain
        .applications
        .iter()
        .find(|x| x.id == app_id)
        .expect("application in chain");
    assert_eq!(app.benefit_id, benefit_id);
    let line = chain
        .roll_lines
        .iter()
        .find(|l| l.benefit_id == benefit_id)
        .expect("roll line");
    assert_eq!(
        (line.roll_id.as_str(), line.for_month.as_str()),
        (roll.id.as_str(), month.as_str())
    );
    assert!(line.amount_fen > 0);

    // From the warning to the money.
    let r = pb::GetWarningChainRequest {
        warning_id: first.warning_id.clone(),
    };
    let wc = m
        .get_warning_chain(f.req(r, &f.clerk))
        .await
        .expect("warning chain")
        .into_inner();
    assert_eq!(wc.application.map(|x| x.id), Some(app_id));
    assert_eq!(
        wc.roll_lines
            .iter()
            .map(|l| l.benefit_id.as_str())
            .collect::<Vec<_>>(),
        vec![benefit_id.as_str()]
    );

    // Statistics of the township this month: one raised, closed in time by an application.
    let stats = pb::MonitoringStatisticsRequest {
        region: TOWNSHIP.into(),
        month: Month::of(f.today).to_string(),
    };
    let stats = m
        .monitoring_statistics(f.req(stats, &f.clerk))
        .await
        .expect("stats")
        .into_inner();
    let t = &stats.townships[0];
    assert_eq!(
        (
            t.township.as_str(),
            t.raised,
            t.closed_in_time,
            t.by_application
        ),
        (TOWNSHIP, 1, 1, 1)
    );
}

#[tokio::test]
async fn a_malformed_signal_changes_nothing_and_names_every_bad_field_and_a_duplicate_answers_the_first_receipt()
 {
    let f = fixture().await;
    let (a, _) = near_threshold_household(&f, "dup", 41).await;
    let first = push(&f, medical_signal("d-1", "MI-7", &a, 1_200_000))
        .await
        .expect("first");

    // The same record again, under another request id: the first receipt, nothing new.
    let again = push(&f, medical_signal("d-2", "MI-7", &a, 1_200_000))
        .await
        .expect("again");
    assert_eq!(again, first);
    // The same record id with other content is refused.
    let changed = push(&f, medical_signal("d-3", "MI-7", &a, 2_000_000))
        .await
        .expect_err("changed");
    assert_eq!(reason(&changed), "SIGNAL_RECORD_CHANGED");

    // Malformed: every violation at once, nothing stored.
    let stranger = id("19900101", 51);
    let mut bad = medical_signal("d-4", "", &stranger, 0);
    bad.kind = ext::SignalKind::MedicalSpending as i32;
    bad.region = "33".into();
    bad.occurred_on = None;
    if let Some(p) = bad.person.as_mut() {
        p.id_number.replace_range(17.., "0");
        p.id_number.replace_range(
            16..17,
            if p.id_number.as_bytes()[16] == b'1' {
                "2"
            } else {
                "1"
            },
        );
    }
    let status = push(&f, bad).await.expect_err("malformed");
    assert_eq!(status.code(), Code::InvalidArgument);
    let mut fields = violated_fields(&status);
    fields.sort();
    assert_eq!(
        fields,
        vec![
            "amount_fen",
            "occurred_on",
            "person.id_number",
            "region",
            "source_record_id"
        ]
    );
    let chain = chain_of(&f, &a).await.expect("chain");
    assert_eq!(
        chain.signals.len(),
        1,
        "the duplicate and the malformed signals stored nothing"
    );
    let unknown = chain_of(&f, &stranger).await.expect_err("no household");
    assert_eq!(unknown.code(), Code::NotFound);

    // A department pushes only its own source.
    let mut housing = medical_signal("d-5", "H-1", &a, 0);
    housing.source = ext::SignalSource::Housing as i32;
    housing.kind = ext::SignalKind::HousingDamage as i32;
    let denied = push(&f, housing).await.expect_err("not its source");
    assert_eq!(denied.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn an_unhandled_warning_becomes_overdue_and_escalates_to_the_county_once() {
    let f = fixture().await;
    let (a, _) = near_threshold_household(&f, "late", 61).await;
    let raised = push(&f, medical_signal("o-1", "MI-9", &a, 1_200_000))
        .await
        .expect("signal");
    f.suite.clock.advance(Duration::days(30));

    let mut m = monitor(&f);
    let list = pb::ListWarningsRequest {
        region: TOWNSHIP.into(),
        overdue_only: true,
        ..Default::default()
    };
    let overdue = m
        .list_warnings(f.req(list, &f.clerk))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(
        overdue
            .warnings
            .iter()
            .map(|w| w.id.as_str())
            .collect::<Vec<_>>(),
        vec![raised.warning_id.as_str()]
    );
    assert!(overdue.warnings[0].overdue);

    let run = |tag: &str| pb::EscalateOverdueWarningsRequest {
        request_id: tag.into(),
    };
    let first = m
        .escalate_overdue_warnings(f.req(run("esc-1"), &f.approver))
        .await
        .expect("escalate")
        .into_inner();
    assert_eq!(first.escalated.len(), 1);
    assert!(first.escalated[0].escalated);
    let second = m
        .escalate_overdue_warnings(f.req(run("esc-2"), &f.approver))
        .await
        .expect("again")
        .into_inner();
    assert!(second.escalated.is_empty());
}

#[tokio::test]
async fn a_recipients_death_and_a_terminated_benefit_raise_warnings_from_inside_the_suite() {
    let f = fixture().await;
    // A 低保 recipient living alone dies (funeral's registration reaches TerminateForDeath).
    let alone = id("19400404", 71);
    let app = through_notice_of_kind(
        &f,
        "alone",
        pb::BenefitKind::MinimumLivingAllowance,
        vec![member(&alone, pb::Relationship::Applicant, 0)],
    )
    .await;
    approve(&f, "alone", &app).await;
    let death = pb::TerminateForDeathRequest {
        request_id: "death-1".into(),
        id_number: alone.clone(),
        date_of_death: Some(f.days_ago(1)),
    };
    f.client()
        .terminate_for_death(f.req(death, &f.service))
        .await
        .expect("death");
    let chain = warned_chain(&f, &alone).await;
    assert_eq!(chain.signals.len(), 1);
    assert_eq!(
        (chain.signals[0].kind, chain.signals[0].internal.as_str()),
        (ext::SignalKind::Death as i32, "funeral_death")
    );
    assert_eq!(chain.warnings[0].level, pb::WarningLevel::Orange as i32);

    // Another household's benefit is ended because its conditions lapsed: a yellow follow-up.
    let other = id("19660606", 81);
    let app = through_notice_of_kind(
        &f,
        "lapse",
        pb::BenefitKind::MinimumLivingAllowance,
        vec![member(&other, pb::Relationship::Applicant, 0)],
    )
    .await;
    let benefit_id = approve(&f, "lapse", &app).await.benefit_id;
    let end = pb::TerminateBenefitRequest {
        request_id: "lapse-end".into(),
        benefit_id,
        reason: pb::TerminationReason::Lapsed as i32,
        event_date: Some(to_proto_date(f.today)),
        note: "income above the standard".into(),
    };
    f.client()
        .terminate_benefit(f.req(end, &f.approver))
        .await
        .expect("terminate");
    let chain = warned_chain(&f, &other).await;
    assert_eq!(chain.signals[0].internal, "benefit_terminated");
    assert_eq!(chain.warnings[0].level, pb::WarningLevel::Yellow as i32);
    assert_eq!(chain.warnings[0].owner_region, TOWNSHIP);
}
