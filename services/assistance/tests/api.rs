//! gRPC tests of the assistance service through kit::testing: SQLite by default, PostgreSQL
//! when CIVIL_TEST_PG is set. The county checking centre is a real tonic server (tests/support).

#[path = "support/checking_centre.rs"]
mod checking_centre;
#[path = "support/fixture.rs"]
mod fixture;

use assistance::domain::month::Month;
use assistance::domain::policy::Policy;
use contracts::civil::assistance::v1 as pb;
use kit::error::{to_proto_date, violated_fields};
use kit::testing::Role;
use money::Fen;
use time::Duration;
use tonic::Code;

use checking_centre::{Centre, start_centre};

use fixture::*;

// ---------------------------------------------------------------- tests

#[tokio::test]
async fn a_full_application_through_the_checking_centre_is_approved_and_paid_in_the_roll() {
    let f = fixture().await;
    let applicant = id("19800101", 11);
    let spouse = id("19820202", 22);
    f.centre
        .0
        .lock()
        .expect("lock")
        .extra_income
        .push((spouse.clone(), 40_000));
    let members = vec![
        member(&applicant, pb::Relationship::Applicant, 0),
        member(&spouse, pb::Relationship::Spouse, 30_000),
    ];
    let app_id = through_notice(&f, "full", members).await;

    // The check went to the centre with the signed authorisation and our credential; the
    // verified income (higher than declared) is what the decision uses.
    {
        let centre = f.centre.0.lock().expect("lock");
        assert_eq!(centre.calls.len(), 1);
        assert_eq!(centre.calls[0].authorisation_reference, "AUTH-full");
        assert_eq!(centre.calls[0].members.len(), 2);
        assert_eq!(centre.authorised, vec![true]);
    }
    let app = approve(&f, "full", &app_id).await;
    assert_eq!(app.state, pb::ApplicationState::Approved as i32);
    let policy = Policy::default_policy();
    let version = policy.in_force_on(f.today);
    let decision = app.decision.expect("decision");
    let expected = version
        .rounding
        .apply(Fen::new(2 * version.rural_standard_fen.get() - 40_000));
    assert_eq!(Some(Fen::new(decision.monthly_amount_fen)), expected);
    assert_eq!(decision.policy_version, version.id);
    assert_eq!(decision.breakdown[0].item, "gap");
    assert_eq!(
        app.economic_check
            .expect("check")
            .verified_monthly_income_fen,
        40_000
    );

    // The benefit is paid from the month after approval.
    let mut c = f.client();
    let benefit = c
        .get_benefit(f.req(
            pb::GetBenefitRequest {
                benefit_id: app.benefit_id.clone(),
            },
            &f.clerk,
        ))
        .await
        .expect("benefit")
        .into_inner();
    let next = Month::of(f.today).next();
    assert_eq!(benefit.paid_from_month, next.to_string());
    assert_eq!(benefit.state, pb::BenefitState::Active as i32);

    let this_month = pb::GeneratePaymentRollRequest {
        request_id: "roll-now".into(),
        month: Month::of(f.today).to_string(),
    };
    let empty = c
        .generate_payment_roll(f.req(this_month, &f.approver))
        .await
        .expect("roll")
        .into_inner();
    assert!(
        empty.lines.is_empty(),
        "nothing is paid in the month of approval"
    );

    let roll = c
        .generate_payment_roll(f.req(
            pb::GeneratePaymentRollRequest {
                request_id: "roll-1".into(),
                month: next.to_string(),
            },
            &f.approver,
        ))
        .await
        .expect("roll")
        .into_inner();
    let month_version = policy.in_force_for_month(next);
    assert_eq!(roll.lines.len(), 1);
    assert_eq!(
        Some(Fen::new(roll.lines[0].amount_fen)),
        month_version.rounding.apply(Fen::new(
            2 * month_version.rural_standard_fen.get() - 40_000
        ))
    );
    assert_eq!(
        roll.lines[0].payee_id_number,
        civil_id::mask_id_number(&applicant)
    );
    assert_eq!(roll.total_fen, roll.lines[0].amount_fen);

    // Generating the month again (another request id) gives the same roll.
    let again = c
        .generate_payment_roll(f.req(
            pb::GeneratePaymentRollRequest {
                request_id: "roll-2".into(),
                month: next.to_string(),
            },
            &f.approver,
        ))
        .await
        .expect("roll again")
        .into_inner();
    assert_eq!(again, roll);

    let listed = c
        .list_payment_rolls(f.req(pb::ListPaymentRollsRequest::default(), &f.approver))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(
        listed
            .rolls
            .iter()
            .map(|r| r.month.clone())
            .collect::<Vec<_>>(),
        vec![next.to_string(), Month::of(f.today).to_string()]
    );
    let csv = c
        .export_payment_roll(f.req(
            pb::ExportPaymentRollRequest {
                month: next.to_string(),
            },
            &f.approver,
        ))
        .await
        .expect("export")
        .into_inner()
        .csv;
    assert!(csv.starts_with("benefit_id,kind,region,payee_id_number"));
    assert!(csv.contains(&app.benefit_id));
    assert!(!csv.contains(&applicant), "payees are masked");

    // The approval event is in the outbox and the audit chain verifies.
    let db = f.suite.db("assistance").await;
    let events: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE event_type = 'civil.assistance.v1.BenefitApproved'",
    )
    .fetch_one(&db.pool)
    .await
    .expect("count");
    assert_eq!(events, 1);
    assert!(auth::audit::verify(&db.pool).await.expect("chain verifies") > 5);
}

#[tokio::test]
async fn steps_out_of_order_are_refused() {
    let f = fixture().await;
    let mut c = f.client();
    let app = c
        .submit_application(f.req(
            application(
                "ooo",
                vec![member(&id("19800101", 11), pb::Relationship::Applicant, 0)],
            ),
            &f.clerk,
        ))
        .await
        .expect("submit")
        .into_inner();
    let decide = pb::DecideApplicationRequest {
        request_id: "ooo-d".into(),
        application_id: app.id.clone(),
        approve: true,
        reasons: vec![],
    };
    let err = c
        .decide_application(f.req(decide, &f.approver))
        .await
        .expect_err("not yet");
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "ASSISTANCE_OUT_OF_ORDER")
    );
    let visit = pb::RecordInvestigationRequest {
        request_id: "ooo-v".into(),
        application_id: app.id.clone(),
        visit_date: Some(f.days_ago(1)),
        staff: two_staff(),
        household_signed: true,
        findings: String::new(),
    };
    let err = c
        .record_investigation(f.req(visit, &f.clerk))
        .await
        .expect_err("not accepted");
    assert_eq!(reason(&err), "ASSISTANCE_OUT_OF_ORDER");
}

#[tokio::test]
async fn a_home_visit_by_one_staff_member_and_a_refusal_without_reasons_are_refused() {
    let f = fixture().await;
    let mut c = f.client();
    let app = c
        .submit_application(f.req(
            application(
                "one",
                vec![member(&id("19800101", 11), pb::Relationship::Applicant, 0)],
            ),
            &f.clerk,
        ))
        .await
        .expect("submit")
        .into_inner();
    c.accept_application(f.req(
        pb::AcceptApplicationRequest {
            request_id: "one-a".into(),
            application_id: app.id.clone(),
        },
        &f.clerk,
    ))
    .await
    .expect("accept");
    let mut visit = pb::RecordInvestigationRequest {
        request_id: "one-v".into(),
        application_id: app.id.clone(),
        visit_date: Some(f.days_ago(1)),
        staff: two_staff()[..1].to_vec(),
        household_signed: true,
        findings: String::new(),
    };
    let err = c
        .record_investigation(f.req(visit.clone(), &f.clerk))
        .await
        .expect_err("one staff");
    assert_eq!(reason(&err), "ASSISTANCE_TWO_STAFF_REQUIRED");
    visit.request_id = "one-v2".into();
    visit.staff = two_staff();
    visit.visit_date = Some(to_proto_date(f.today + Duration::days(3)));
    let err = c
        .record_investigation(f.req(visit, &f.clerk))
        .await
        .expect_err("future visit");
    assert_eq!(reason(&err), "ASSISTANCE_DATE_IN_FUTURE");

    let app_id = through_notice(
        &f,
        "refuse",
        vec![member(&id("19800101", 33), pb::Relationship::Applicant, 0)],
    )
    .await;
    let refuse = pb::DecideApplicationRequest {
        request_id: "refuse-d".into(),
        application_id: app_id.clone(),
        approve: false,
        reasons: vec![],
    };
    let err = c
        .decide_application(f.req(refuse, &f.approver))
        .await
        .expect_err("no reasons");
    assert_eq!(reason(&err), "ASSISTANCE_REASONS_REQUIRED");
    let refuse = pb::DecideApplicationRequest {
        request_id: "refuse-d2".into(),
        application_id: app_id,
        approve: false,
        reasons: vec!["家庭财产超过规定".into()],
    };
    let app = c
        .decide_application(f.req(refuse, &f.approver))
        .await
        .expect("refused")
        .into_inner();
    assert_eq!(app.state, pb::ApplicationState::Refused as i32);
    assert_eq!(
        app.decision.expect("decision").reasons,
        vec!["家庭财产超过规定".to_owned()]
    );
}

#[tokio::test]
async fn a_decision_while_the_notice_runs_is_refused_and_an_objection_reopens_the_investigation() {
    let f = fixture().await;
    let mut c = f.client();
    let app_id = through_notice(
        &f,
        "obj",
        vec![member(&id("19800101", 11), pb::Relationship::Applicant, 0)],
    )
    .await;
    let objection = pb::RecordObjectionRequest {
        request_id: "obj-o".into(),
        application_id: app_id.clone(),
        summary: "村民反映有经营收入".into(),
    };
    let app = c
        .record_objection(f.req(objection, &f.clerk))
        .await
        .expect("objection")
        .into_inner();
    assert_eq!(app.state, pb::ApplicationState::Reinvestigation as i32);
    let visit = pb::RecordInvestigationRequest {
        request_id: "obj-v".into(),
        application_id: app_id.clone(),
        visit_date: Some(f.days_ago(1)),
        staff: two_staff(),
        household_signed: true,
        findings: "no business found".into(),
    };
    c.record_investigation(f.req(visit, &f.clerk))
        .await
        .expect("re-investigation");
    let notice = pb::StartPublicNoticeRequest {
        request_id: "obj-n".into(),
        application_id: app_id.clone(),
        start_date: Some(f.days_ago(0)),
    };
    let app = c
        .start_public_notice(f.req(notice, &f.clerk))
        .await
        .expect("new notice")
        .into_inner();
    assert_eq!(app.notice.expect("notice").objections.len(), 1);
    let decide = pb::DecideApplicationRequest {
        request_id: "obj-d".into(),
        application_id: app_id,
        approve: true,
        reasons: vec![],
    };
    let err = c
        .decide_application(f.req(decide, &f.approver))
        .await
        .expect_err("notice running");
    assert_eq!(reason(&err), "ASSISTANCE_NOTICE_RUNNING");
}

#[tokio::test]
async fn callers_outside_the_households_region_or_without_the_role_are_denied() {
    let f = fixture().await;
    let mut c = f.client();
    let app = c
        .submit_application(f.req(
            application(
                "reg",
                vec![member(&id("19800101", 11), pb::Relationship::Applicant, 0)],
            ),
            &f.clerk,
        ))
        .await
        .expect("submit")
        .into_inner();
    let neighbour = f.suite.token(&[Role::TownshipClerk], OTHER_TOWNSHIP);
    let accept = pb::AcceptApplicationRequest {
        request_id: "reg-a".into(),
        application_id: app.id.clone(),
    };
    let err = c
        .accept_application(f.req(accept.clone(), &neighbour))
        .await
        .expect_err("other township");
    assert_eq!(err.code(), Code::PermissionDenied);
    let citizen = f.suite.token(&[Role::Citizen], TOWNSHIP);
    let err = c
        .accept_application(f.req(accept.clone(), &citizen))
        .await
        .expect_err("citizen");
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = c
        .get_application(f.req(
            pb::GetApplicationRequest {
                application_id: app.id.clone(),
            },
            &neighbour,
        ))
        .await
        .expect_err("read");
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = c
        .generate_payment_roll(f.req(
            pb::GeneratePaymentRollRequest {
                request_id: "r".into(),
                month: "2026-01".into(),
            },
            &f.clerk,
        ))
        .await
        .expect_err("clerk makes no roll");
    assert_eq!(err.code(), Code::PermissionDenied);
    // The denied attempt did not use the request id: the right clerk's call goes through.
    c.accept_application(f.req(accept, &f.clerk))
        .await
        .expect("accepted by the township");
}

#[tokio::test]
async fn malformed_input_names_every_bad_field() {
    let f = fixture().await;
    let valid = id("19800101", 11);
    let wrong_check = if valid.ends_with('1') { '2' } else { '1' };
    let invalid = format!("{}{wrong_check}", &valid[..17]);
    let mut bad = application(
        "bad",
        vec![member(&invalid, pb::Relationship::Applicant, 0)],
    );
    if let Some(h) = bad.household.as_mut() {
        h.area = 0;
        h.members[0].incomes.push(pb::IncomeItem {
            kind: pb::IncomeKind::Wages as i32,
            monthly_fen: -1,
        });
    }
    let err = f
        .client()
        .submit_application(f.req(bad, &f.clerk))
        .await
        .expect_err("invalid");
    assert_eq!(err.code(), Code::InvalidArgument);
    let fields = violated_fields(&err);
    assert!(
        fields.contains(&"household.members[0].person.id_number".to_owned()),
        "{fields:?}"
    );
    assert!(fields.contains(&"household.area".to_owned()), "{fields:?}");
    assert!(
        fields.contains(&"household.members[0].incomes[0].monthly_fen".to_owned()),
        "{fields:?}"
    );
    assert!(
        !err.message().contains(&invalid),
        "the bad number is not echoed"
    );
}

#[tokio::test]
async fn a_retried_request_returns_the_first_answer_and_a_reused_id_is_refused() {
    let f = fixture().await;
    let mut c = f.client();
    let request = application(
        "same",
        vec![member(&id("19800101", 11), pb::Relationship::Applicant, 0)],
    );
    let first = c
        .submit_application(f.req(request.clone(), &f.clerk))
        .await
        .expect("first")
        .into_inner();
    let second = c
        .submit_application(f.req(request, &f.clerk))
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(first.id, second.id);
    let other = application(
        "same",
        vec![member(&id("19800101", 55), pb::Relationship::Applicant, 0)],
    );
    let err = c
        .submit_application(f.req(other, &f.clerk))
        .await
        .expect_err("reused");
    assert_eq!(reason(&err), "REQUEST_ID_REUSED");
    let db = f.suite.db("assistance").await;
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM applications")
        .fetch_one(&db.pool)
        .await
        .expect("count");
    assert_eq!(n, 1);
}

#[tokio::test]
async fn recipient_status_shows_the_benefit_until_terminate_for_death_ends_it() {
    let f = fixture().await;
    let person = id("19500101", 11);
    let app_id = through_notice(
        &f,
        "death",
        vec![member(&person, pb::Relationship::Applicant, 0)],
    )
    .await;
    let app = approve(&f, "death", &app_id).await;

    let before = status(&f, &person).await;
    assert_eq!(before.active_benefits.len(), 1);
    assert_eq!(before.active_benefits[0].benefit_id, app.benefit_id);
    assert_eq!(
        before.active_benefits[0].kind,
        pb::BenefitKind::MinimumLivingAllowance as i32
    );
    assert_eq!(before.active_benefits[0].household_region, VILLAGE);

    let died = f.days_ago(1);
    let terminate = pb::TerminateForDeathRequest {
        request_id: "death-1".into(),
        id_number: person.clone(),
        date_of_death: Some(died),
    };
    let mut c = f.client();
    let first = c
        .terminate_for_death(f.req(terminate.clone(), &f.service))
        .await
        .expect("terminate")
        .into_inner();
    assert_eq!(first.effects.len(), 1);
    assert_eq!(
        first.effects[0].outcome,
        pb::DeathOutcome::Terminated as i32
    );
    assert_eq!(
        first.effects[0].effective_month,
        Month::of(f.today - Duration::days(1)).next().to_string()
    );

    let after = status(&f, &person).await;
    assert!(after.active_benefits.is_empty(), "{after:?}");
    assert_eq!(after.at_death, first.effects);

    // Retries: the same request id, and a new one from another workflow step, answer the same.
    let retried = c
        .terminate_for_death(f.req(terminate.clone(), &f.service))
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(retried, first);
    let again = pb::TerminateForDeathRequest {
        request_id: "death-2".into(),
        ..terminate
    };
    assert_eq!(
        c.terminate_for_death(f.req(again, &f.service))
            .await
            .expect("again")
            .into_inner(),
        first
    );
    let db = f.suite.db("assistance").await;
    let ended: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE event_type = 'civil.assistance.v1.BenefitTerminated'",
    )
    .fetch_one(&db.pool)
    .await
    .expect("count");
    assert_eq!(ended, 1, "terminated once");

    let clerk_view = f
        .client()
        .get_benefit(f.req(
            pb::GetBenefitRequest {
                benefit_id: app.benefit_id,
            },
            &f.clerk,
        ))
        .await
        .expect("benefit")
        .into_inner();
    let termination = clerk_view.termination.expect("termination");
    assert_eq!(termination.reason, pb::TerminationReason::Death as i32);
    assert_eq!(termination.decided_by, "svc-onematter");
}

#[tokio::test]
async fn the_death_of_one_member_recalculates_the_household_and_the_survivor_stays_a_recipient() {
    let f = fixture().await;
    let (a, b) = (id("19600101", 11), id("19620101", 22));
    let app_id = through_notice(
        &f,
        "two",
        vec![
            member(&a, pb::Relationship::Applicant, 0),
            member(&b, pb::Relationship::Spouse, 0),
        ],
    )
    .await;
    approve(&f, "two", &app_id).await;
    let terminate = pb::TerminateForDeathRequest {
        request_id: "two-death".into(),
        id_number: b.clone(),
        date_of_death: Some(f.days_ago(0)),
    };
    let effects = f
        .client()
        .terminate_for_death(f.req(terminate, &f.service))
        .await
        .expect("terminate")
        .into_inner()
        .effects;
    assert_eq!(effects.len(), 1);
    assert_eq!(effects[0].outcome, pb::DeathOutcome::Recalculated as i32);
    let policy = Policy::default_policy();
    let from = Month::parse(&effects[0].effective_month).expect("month");
    let version = policy.in_force_for_month(from);
    assert_eq!(
        Some(Fen::new(effects[0].monthly_amount_fen)),
        version.rounding.apply(version.rural_standard_fen)
    );
    assert_eq!(status(&f, &a).await.active_benefits.len(), 1);
    assert!(status(&f, &b).await.active_benefits.is_empty());
}

#[tokio::test]
async fn recipient_status_needs_a_permitted_role_and_masks_for_none() {
    let f = fixture().await;
    let citizen = f.suite.token(&[Role::Citizen], TOWNSHIP);
    let request = pb::GetRecipientStatusRequest {
        id_number: id("19800101", 11),
        purpose: String::new(),
    };
    let err = f
        .client()
        .get_recipient_status(f.req(request.clone(), &citizen))
        .await
        .expect_err("citizen");
    assert_eq!(err.code(), Code::PermissionDenied);
    let funeral_home = f.suite.token(&[Role::FuneralHome], COUNTY);
    let unknown = f
        .client()
        .get_recipient_status(f.req(request, &funeral_home))
        .await
        .expect("unknown person")
        .into_inner();
    assert!(unknown.active_benefits.is_empty());
    let bad = pb::GetRecipientStatusRequest {
        id_number: "123".into(),
        purpose: String::new(),
    };
    let err = f
        .client()
        .get_recipient_status(f.req(bad, &f.service))
        .await
        .expect_err("bad id");
    assert_eq!(violated_fields(&err), vec!["id_number".to_owned()]);
}

#[tokio::test]
async fn temporary_assistance_is_bounded_by_policy_and_emergency_help_comes_first() {
    let f = fixture().await;
    let person = id("19800101", 11);
    let max = Policy::default_policy()
        .in_force_on(f.today)
        .temporary
        .emergency_max_fen
        .get();
    let mut grant = pb::GrantTemporaryAssistanceRequest {
        request_id: "tmp-1".into(),
        emergency: true,
        household: Some(household(vec![member(
            &person,
            pb::Relationship::Applicant,
            0,
        )])),
        amount_fen: max + 1,
        circumstances: "house fire".into(),
        out_of_pocket_fen: 0,
    };
    let mut c = f.client();
    let err = c
        .grant_temporary_assistance(f.req(grant.clone(), &f.clerk))
        .await
        .expect_err("over the bound");
    assert_eq!(reason(&err), "ASSISTANCE_TEMPORARY_OUT_OF_BOUNDS");
    grant.request_id = "tmp-2".into();
    grant.amount_fen = max;
    let benefit = c
        .grant_temporary_assistance(f.req(grant.clone(), &f.clerk))
        .await
        .expect("granted by the township")
        .into_inner();
    assert!(benefit.emergency);
    assert_eq!(benefit.monthly_amount_fen, max);
    let kinds: Vec<i32> = status(&f, &person)
        .await
        .active_benefits
        .iter()
        .map(|b| b.kind)
        .collect();
    assert_eq!(kinds, vec![pb::BenefitKind::TemporaryAssistance as i32]);
    grant.request_id = "tmp-3".into();
    grant.emergency = false;
    let err = c
        .grant_temporary_assistance(f.req(grant, &f.clerk))
        .await
        .expect_err("expenditure type needs the county");
    assert_eq!(err.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn overdue_applications_are_listed_for_the_region() {
    let f = fixture().await;
    let mut c = f.client();
    let app = c
        .submit_application(f.req(
            application(
                "late",
                vec![member(&id("19800101", 11), pb::Relationship::Applicant, 0)],
            ),
            &f.clerk,
        ))
        .await
        .expect("submit")
        .into_inner();
    let accepted = c
        .accept_application(f.req(
            pb::AcceptApplicationRequest {
                request_id: "late-a".into(),
                application_id: app.id.clone(),
            },
            &f.clerk,
        ))
        .await
        .expect("accept")
        .into_inner();
    assert!(accepted.deadline.is_some());
    let list = || pb::ListOverdueApplicationsRequest {
        region: String::new(),
        ..Default::default()
    };
    assert!(
        c.list_overdue_applications(f.req(list(), &f.clerk))
            .await
            .expect("list")
            .into_inner()
            .applications
            .is_empty()
    );
    // Time passes: the deadline is behind us (moved in the store, as the clock cannot be).
    let db = f.suite.db("assistance").await;
    sqlx::query("UPDATE applications SET deadline = '2020-01-02' WHERE id = $1")
        .bind(&app.id)
        .execute(&db.pool)
        .await
        .expect("age");
    let overdue = c
        .list_overdue_applications(f.req(list(), &f.clerk))
        .await
        .expect("list")
        .into_inner()
        .applications;
    assert_eq!(
        overdue.iter().map(|a| a.id.clone()).collect::<Vec<_>>(),
        vec![app.id]
    );
    let neighbour = f.suite.token(&[Role::TownshipClerk], OTHER_TOWNSHIP);
    assert!(
        c.list_overdue_applications(f.req(list(), &neighbour))
            .await
            .expect("list")
            .into_inner()
            .applications
            .is_empty()
    );
}

#[tokio::test]
async fn an_income_rise_from_work_starts_the_phase_out_and_termination_records_the_decision_maker()
{
    let f = fixture().await;
    let (a, b) = (id("19800101", 11), id("19820202", 22));
    let app_id = through_notice(
        &f,
        "work",
        vec![
            member(&a, pb::Relationship::Applicant, 0),
            member(&b, pb::Relationship::Spouse, 0),
        ],
    )
    .await;
    let app = approve(&f, "work", &app_id).await;
    let mut c = f.client();
    let change = pb::RecordIncomeChangeRequest {
        request_id: "work-c".into(),
        benefit_id: app.benefit_id.clone(),
        member_id_number: b.clone(),
        incomes: vec![pb::IncomeItem {
            kind: pb::IncomeKind::Wages as i32,
            monthly_fen: 500_000,
        }],
        from_employment: true,
    };
    let benefit = c
        .record_income_change(f.req(change, &f.clerk))
        .await
        .expect("change")
        .into_inner();
    assert_eq!(benefit.state, pb::BenefitState::PhaseOut as i32);
    let policy = Policy::default_policy();
    let months = policy
        .in_force_for_month(Month::of(f.today).next())
        .phase_out_months;
    assert_eq!(
        benefit.phase_out_until_month,
        Month::of(f.today).plus(months).to_string()
    );

    let terminate = pb::TerminateBenefitRequest {
        request_id: "work-t".into(),
        benefit_id: app.benefit_id.clone(),
        reason: pb::TerminationReason::MovedAway as i32,
        event_date: Some(f.days_ago(0)),
        note: "moved to another county".into(),
    };
    let ended = c
        .terminate_benefit(f.req(terminate.clone(), &f.approver))
        .await
        .expect("terminate")
        .into_inner();
    let termination = ended.termination.expect("termination");
    assert_eq!(
        termination.effective_month,
        Month::of(f.today).next().to_string()
    );
    assert_eq!(termination.decided_by, "approver-1");
    let again = pb::TerminateBenefitRequest {
        request_id: "work-t2".into(),
        ..terminate
    };
    let err = c
        .terminate_benefit(f.req(again, &f.approver))
        .await
        .expect_err("already ended");
    assert_eq!(reason(&err), "ASSISTANCE_BENEFIT_ENDED");
}

#[tokio::test]
async fn a_county_policy_file_replaces_the_example_policy() {
    let centre = Centre::default();
    let url = start_centre(centre.clone()).await;
    let dir = tempfile_dir();
    let path = dir.join("policy.toml");
    let text = assistance::domain::policy::DEFAULT_POLICY_TOML
        .replace("117_500", "100_000")
        .replace("123_000", "100_000")
        .replace("example = true", "example = false");
    std::fs::write(&path, text).expect("write policy");
    let suite = kit::testing::spawn_with(&[assistance::SERVICE], |config| {
        config.upstreams.insert("checking_centre".into(), url);
        config
            .extra
            .insert("assistance_policy_file".into(), path.display().to_string());
    })
    .await;
    let f = Fixture {
        clerk: suite.token_for("clerk-1", &[Role::TownshipClerk], TOWNSHIP),
        approver: suite.token_for("approver-1", &[Role::CountyApprover], COUNTY),
        service: suite.token_for("svc", &[Role::Service], ""),
        suite,
        centre,
        today: kit::today_cst(),
    };
    let app_id = through_notice(
        &f,
        "county",
        vec![member(&id("19800101", 11), pb::Relationship::Applicant, 0)],
    )
    .await;
    let decision = approve(&f, "county", &app_id)
        .await
        .decision
        .expect("decision");
    assert_eq!(decision.monthly_amount_fen, 100_000);
    let _ = std::fs::remove_dir_all(dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "assistance-policy-{}",
        uuid::Uuid::now_v7().simple()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// The month before `month`.
fn month_before(month: Month) -> Month {
    Month::of(month.first_day() - Duration::days(1))
}

/// Moves a benefit's approval back so that it was first paid in `paid_from` (approved the month
/// before), as if it had been approved earlier: the clock cannot be moved, so the store is. The
/// sealed record is opened with the suite's own key, its months changed, and sealed again.
async fn backdate_benefit(f: &Fixture, benefit_id: &str, paid_from: Month) {
    use sqlx::Row;
    let db = f.suite.db("assistance").await;
    let sealer = kit::pii::Sealer::from_config(&f.suite.config).expect("suite key");
    let row = sqlx::query("SELECT record_sealed FROM benefits WHERE id = $1")
        .bind(benefit_id)
        .fetch_one(&db.pool)
        .await
        .expect("benefit row");
    let sealed: String = row.get("record_sealed");
    let mut record: serde_json::Value =
        serde_json::from_str(&sealer.open(&sealed).expect("open")).expect("json");
    let month = serde_json::to_value(paid_from).expect("month");
    record["terms"]["paid_from"] = month.clone();
    record["terms"]["revisions"][0]["from_month"] = month;
    let approved_on = month_before(paid_from).first_day();
    record["approved_on"] = serde_json::Value::String(approved_on.to_string());
    sqlx::query("UPDATE benefits SET paid_from = $1, record_sealed = $2 WHERE id = $3")
        .bind(paid_from.to_string())
        .bind(sealer.seal(&record.to_string()))
        .bind(benefit_id)
        .execute(&db.pool)
        .await
        .expect("backdate");
}

async fn roll(f: &Fixture, month: Month) -> pb::PaymentRoll {
    f.client()
        .generate_payment_roll(f.req(
            pb::GeneratePaymentRollRequest {
                request_id: format!("roll-{month}"),
                month: month.to_string(),
            },
            &f.approver,
        ))
        .await
        .expect("roll")
        .into_inner()
}

#[tokio::test]
async fn a_benefit_is_paid_in_the_month_of_death_and_leaves_the_roll_the_month_after() {
    let f = fixture().await;
    let person = id("19800505", 31);
    let app_id = through_notice(
        &f,
        "alone",
        vec![member(&person, pb::Relationship::Applicant, 0)],
    )
    .await;
    let app = approve(&f, "alone", &app_id).await;
    let benefit_id = app.benefit_id.clone();

    // Approved two months ago: first paid last month.
    let this_month = Month::of(f.today);
    let first_month = month_before(this_month);
    backdate_benefit(&f, &benefit_id, first_month).await;
    let benefit = f
        .client()
        .get_benefit(f.req(
            pb::GetBenefitRequest {
                benefit_id: benefit_id.clone(),
            },
            &f.clerk,
        ))
        .await
        .expect("benefit")
        .into_inner();
    assert_eq!(benefit.paid_from_month, first_month.to_string());

    // The first payment roll pays the household its 低保 (one member, no income: the standard).
    let policy = Policy::default_policy();
    let expected = |month: Month| {
        let version = policy.in_force_for_month(month);
        version.rounding.apply(version.rural_standard_fen)
    };
    let first = roll(&f, first_month).await;
    let line = |roll: &pb::PaymentRoll| {
        roll.lines
            .iter()
            .find(|l| l.benefit_id == benefit_id)
            .cloned()
    };
    let paid = line(&first).expect("the benefit is in the first roll");
    assert_eq!(Some(Fen::new(paid.amount_fen)), expected(first_month));
    assert_eq!(paid.members, 1);
    assert_eq!(paid.payee_id_number, civil_id::mask_id_number(&person));

    // The only member dies today.
    let effects = f
        .client()
        .terminate_for_death(f.req(
            pb::TerminateForDeathRequest {
                request_id: "alone-death".into(),
                id_number: person.clone(),
                date_of_death: Some(to_proto_date(f.today)),
            },
            &f.service,
        ))
        .await
        .expect("terminate for death")
        .into_inner()
        .effects;
    assert_eq!(effects.len(), 1);
    assert_eq!(effects[0].benefit_id, benefit_id);
    assert_eq!(effects[0].outcome, pb::DeathOutcome::Terminated as i32);
    assert_eq!(effects[0].effective_month, this_month.next().to_string());

    // The month of death is still paid in full; the month after, the benefit is gone.
    let death_month = roll(&f, this_month).await;
    let paid = line(&death_month).expect("the month of death is paid");
    assert_eq!(Some(Fen::new(paid.amount_fen)), expected(this_month));
    assert_eq!(death_month.total_fen, paid.amount_fen);
    let after = roll(&f, this_month.next()).await;
    assert!(line(&after).is_none(), "{after:?}");
    assert!(after.lines.is_empty());
    assert_eq!(after.total_fen, 0);

    let ended = f
        .client()
        .get_benefit(f.req(pb::GetBenefitRequest { benefit_id }, &f.clerk))
        .await
        .expect("benefit")
        .into_inner();
    assert_eq!(ended.state, pb::BenefitState::Terminated as i32);
    let termination = ended.termination.expect("termination");
    assert_eq!(termination.reason, pb::TerminationReason::Death as i32);
    assert_eq!(termination.effective_month, this_month.next().to_string());
    let db = f.suite.db("assistance").await;
    assert!(auth::audit::verify(&db.pool).await.expect("chain verifies") > 0);
}
