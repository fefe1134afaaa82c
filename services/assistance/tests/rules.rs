//! gRPC tests of the round-2 defects and rules (issues 12 and 14), named after the rule each
//! checks. SQLite by default, PostgreSQL + Redis with CIVIL_TEST_PG / CIVIL_TEST_REDIS.

#[path = "support/checking_centre.rs"]
mod checking_centre;
#[path = "support/fixture.rs"]
mod fixture;

use contracts::civil::assistance::v1 as pb;
use contracts::civil::common::v1::PersonRef;
use kit::error::violated_fields;
use kit::testing::Role;
use time::macros::date;
use tonic::Code;

use fixture::*;

// ------------------------------------------------------------ issue 12 item 2: overflow

#[tokio::test]
async fn two_incomes_of_i64_max_fen_are_invalid_input_never_an_approval() {
    let f = fixture().await;
    let person = id("19800101", 11);
    let mut req = application(
        "max-1",
        vec![member(&person, pb::Relationship::Applicant, i64::MAX)],
    );
    if let Some(h) = req.household.as_mut() {
        h.members[0].incomes.push(pb::IncomeItem {
            kind: pb::IncomeKind::Business as i32,
            monthly_fen: i64::MAX,
        });
        h.members[0].properties = vec![
            pb::PropertyItem {
                kind: pb::PropertyKind::Financial as i32,
                value_fen: i64::MAX,
            },
            pb::PropertyItem {
                kind: pb::PropertyKind::Financial as i32,
                value_fen: i64::MAX,
            },
        ];
    }
    let err = f
        .client()
        .submit_application(f.req(req, &f.clerk))
        .await
        .expect_err("out of bounds");
    assert_eq!(err.code(), Code::InvalidArgument);
    let fields = violated_fields(&err);
    for field in [
        "household.members[0].incomes[0].monthly_fen",
        "household.members[0].incomes[1].monthly_fen",
        "household.members[0].properties[0].value_fen",
        "household.members[0].properties[1].value_fen",
    ] {
        assert!(fields.contains(&field.to_owned()), "{field} in {fields:?}");
    }
    let status = status(&f, &person).await;
    assert!(status.active_benefits.is_empty(), "nothing approved");
}

#[tokio::test]
async fn incomes_at_the_money_bound_are_refused_on_income_not_approved() {
    // The largest declarable figures pass decoding; summed they must still refuse, never wrap.
    let f = fixture().await;
    let person = id("19800101", 12);
    let mut applicant = member(&person, pb::Relationship::Applicant, 1_000_000_000_000);
    applicant.incomes = vec![
        pb::IncomeItem {
            kind: pb::IncomeKind::Wages as i32,
            monthly_fen: 1_000_000_000_000,
        };
        20
    ];
    let app_id = through_notice(&f, "bound", vec![applicant]).await;
    let err = f
        .client()
        .decide_application(f.req(
            pb::DecideApplicationRequest {
                request_id: "bound-decide".into(),
                application_id: app_id,
                approve: true,
                reasons: vec![],
            },
            &f.approver,
        ))
        .await
        .expect_err("refused");
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "ASSISTANCE_INCOME_NOT_ELIGIBLE");
}

// ------------------------------------------------------------ issue 12 item 4: region reads

#[tokio::test]
async fn a_caller_of_another_county_learns_nothing_of_a_residents_death_outcome() {
    let f = fixture().await;
    let person = id("19500101", 13);
    let app_id = through_notice(
        &f,
        "far",
        vec![member(&person, pb::Relationship::Applicant, 0)],
    )
    .await;
    approve(&f, "far", &app_id).await;
    f.client()
        .terminate_for_death(f.req(
            pb::TerminateForDeathRequest {
                request_id: "far-death".into(),
                id_number: person.clone(),
                date_of_death: Some(f.days_ago(1)),
            },
            &f.service,
        ))
        .await
        .expect("terminate");
    let ask = |token: String| {
        let f = &f;
        let person = person.clone();
        async move {
            f.client()
                .get_recipient_status(f.req(
                    pb::GetRecipientStatusRequest {
                        id_number: person,
                        purpose: "check".into(),
                    },
                    &token,
                ))
                .await
                .expect("status")
                .into_inner()
        }
    };
    let far = ask(f
        .suite
        .token_for("clerk-far", &[Role::TownshipClerk], "512021"))
    .await;
    assert!(far.active_benefits.is_empty());
    assert!(
        far.at_death.is_empty(),
        "out of region: no benefit id, kind or outcome"
    );
    let home = ask(f.approver.clone()).await;
    assert_eq!(home.at_death.len(), 1, "the county still sees it");
    assert_eq!(home.at_death[0].household_region, VILLAGE);
}

// ------------------------------------------------------------ issue 12 item 9: input limits

#[tokio::test]
async fn an_empty_application_reports_every_violation_at_once() {
    let f = fixture().await;
    let err = f
        .client()
        .submit_application(f.req(
            pb::SubmitApplicationRequest {
                request_id: "empty-1".into(),
                ..Default::default()
            },
            &f.clerk,
        ))
        .await
        .expect_err("empty");
    assert_eq!(err.code(), Code::InvalidArgument);
    let fields = violated_fields(&err);
    for field in [
        "kind",
        "channel",
        "household.region",
        "household.area",
        "household.members",
    ] {
        assert!(fields.contains(&field.to_owned()), "{field} in {fields:?}");
    }
    // The same with an empty member: its fields come in the same answer.
    let err = f
        .client()
        .submit_application(f.req(
            pb::SubmitApplicationRequest {
                request_id: "empty-2".into(),
                household: Some(pb::Household {
                    members: vec![pb::Member::default()],
                    ..Default::default()
                }),
                ..Default::default()
            },
            &f.clerk,
        ))
        .await
        .expect_err("empty member");
    let fields = violated_fields(&err);
    for field in [
        "kind",
        "channel",
        "household.region",
        "household.area",
        "household.members[0].person.id_number",
        "household.members[0].person.name",
        "household.members[0].relationship",
    ] {
        assert!(fields.contains(&field.to_owned()), "{field} in {fields:?}");
    }
}

#[tokio::test]
async fn an_overlong_name_and_control_characters_are_refused() {
    let f = fixture().await;
    let mut req = application(
        "long-1",
        vec![member(&id("19800101", 14), pb::Relationship::Applicant, 0)],
    );
    if let Some(h) = req.household.as_mut() {
        h.members[0].person = Some(PersonRef {
            id_number: id("19800101", 14),
            name: "张".repeat(200),
        });
    }
    req.staff_relations = vec![pb::StaffRelation {
        staff_subject: "cadre\u{7}".into(),
        relationship: "x".repeat(5_000),
    }];
    let err = f
        .client()
        .submit_application(f.req(req, &f.clerk))
        .await
        .expect_err("too long");
    let fields = violated_fields(&err);
    for field in [
        "household.members[0].person.name",
        "staff_relations[0].staff_subject",
        "staff_relations[0].relationship",
    ] {
        assert!(fields.contains(&field.to_owned()), "{field} in {fields:?}");
    }
}

#[tokio::test]
async fn overdue_applications_are_paged_with_tokens_bound_to_their_region() {
    let f = fixture().await;
    let mut c = f.client();
    for n in 0..3u32 {
        let app = c
            .submit_application(f.req(
                application(
                    &format!("page-{n}"),
                    vec![member(
                        &id("19800101", 20 + n),
                        pb::Relationship::Applicant,
                        0,
                    )],
                ),
                &f.clerk,
            ))
            .await
            .expect("submit")
            .into_inner();
        c.accept_application(f.req(
            pb::AcceptApplicationRequest {
                request_id: format!("page-accept-{n}"),
                application_id: app.id,
            },
            &f.clerk,
        ))
        .await
        .expect("accept");
    }
    f.suite.clock.set_today(f.today + time::Duration::days(120));
    let list = |size: i32, token: &str, region: &str| pb::ListOverdueApplicationsRequest {
        region: region.into(),
        page_size: size,
        page_token: token.into(),
    };
    let first = c
        .list_overdue_applications(f.req(list(2, "", TOWNSHIP), &f.clerk))
        .await
        .expect("page 1")
        .into_inner();
    assert_eq!(first.applications.len(), 2);
    assert!(!first.next_page_token.is_empty());
    let second = c
        .list_overdue_applications(f.req(list(2, &first.next_page_token, TOWNSHIP), &f.clerk))
        .await
        .expect("page 2")
        .into_inner();
    assert_eq!(second.applications.len(), 1);
    assert!(second.next_page_token.is_empty());
    let capped = c
        .list_overdue_applications(f.req(list(100_000, "", TOWNSHIP), &f.clerk))
        .await
        .expect("a page size above the maximum is capped, not refused")
        .into_inner();
    assert_eq!(capped.applications.len(), 3);
    for (bad, field) in [
        (list(-1, "", TOWNSHIP), "page_size"),
        (list(2, "garbage", TOWNSHIP), "page_token"),
        (list(2, &first.next_page_token, VILLAGE), "page_token"),
        (list(2, "", "33072"), "region"),
        (list(2, "", "3307231"), "region"),
    ] {
        let err = c
            .list_overdue_applications(f.req(bad, &f.clerk))
            .await
            .expect_err(field);
        assert_eq!(err.code(), Code::InvalidArgument, "{field}");
        assert!(violated_fields(&err).contains(&field.to_owned()), "{field}");
    }
}

// ------------------------------------------------------------ issue 12 item 3: replays

#[tokio::test]
async fn a_replayed_submission_is_refused_to_other_callers_exactly_like_a_first_call() {
    let f = fixture().await;
    let body = application(
        "replay-1",
        vec![
            member(&id("19800101", 31), pb::Relationship::Applicant, 0),
            member(&id("19820202", 32), pb::Relationship::Spouse, 0),
        ],
    );
    f.client()
        .submit_application(f.req(body.clone(), &f.clerk))
        .await
        .expect("the clerk's first call");
    let callers = [
        (
            "citizen",
            f.suite.token_for("citizen-9", &[Role::Citizen], "110105"),
        ),
        (
            "auditor",
            f.suite.token_for("auditor-1", &[Role::Auditor], COUNTY),
        ),
        (
            "clerk of another county",
            f.suite
                .token_for("clerk-far", &[Role::TownshipClerk], "512021"),
        ),
        (
            "place-name officer",
            f.suite.token_for("pn-1", &[Role::PlaceNameOfficer], COUNTY),
        ),
    ];
    for (who, token) in callers {
        let replay = f
            .client()
            .submit_application(f.req(body.clone(), &token))
            .await
            .expect_err(who);
        let mut fresh_body = body.clone();
        fresh_body.request_id = format!("fresh-{who}");
        let fresh = f
            .client()
            .submit_application(f.req(fresh_body, &token))
            .await
            .expect_err(who);
        assert_eq!(replay.code(), fresh.code(), "{who}");
        assert_eq!(reason(&replay), reason(&fresh), "{who}");
        assert_eq!(replay.code(), Code::PermissionDenied, "{who}");
        assert!(!replay.message().contains("19800101"), "{who}");
    }
}

#[tokio::test]
async fn a_replayed_decision_by_an_approver_of_another_county_is_denied() {
    let f = fixture().await;
    let app_id = through_notice(
        &f,
        "replay-d",
        vec![member(&id("19800101", 33), pb::Relationship::Applicant, 0)],
    )
    .await;
    let decide = pb::DecideApplicationRequest {
        request_id: "replay-d-decide".into(),
        application_id: app_id,
        approve: true,
        reasons: vec![],
    };
    f.client()
        .decide_application(f.req(decide.clone(), &f.approver))
        .await
        .expect("approved");
    let far = f
        .suite
        .token_for("approver-far", &[Role::CountyApprover], "512021");
    let err = f
        .client()
        .decide_application(f.req(decide, &far))
        .await
        .expect_err("denied");
    assert_eq!(err.code(), Code::PermissionDenied);
}

// ------------------------------------------------------------ issue 14: assistance rules

async fn decide_err(f: &Fixture, tag: &str, app_id: &str, token: &str) -> tonic::Status {
    f.client()
        .decide_application(f.req(
            pb::DecideApplicationRequest {
                request_id: format!("{tag}-decide"),
                application_id: app_id.into(),
                approve: true,
                reasons: vec![],
            },
            token,
        ))
        .await
        .expect_err("refused")
}

#[tokio::test]
async fn each_eligibility_ground_has_its_own_refusal_reason() {
    let f = fixture().await;
    // income
    let app = through_notice(
        &f,
        "g-income",
        vec![member(
            &id("19800101", 41),
            pb::Relationship::Applicant,
            900_000,
        )],
    )
    .await;
    let err = decide_err(&f, "g-income", &app, &f.approver).await;
    assert_eq!(reason(&err), "ASSISTANCE_INCOME_NOT_ELIGIBLE");
    // property
    let mut owner = member(&id("19800101", 42), pb::Relationship::Applicant, 0);
    owner.properties = vec![pb::PropertyItem {
        kind: pb::PropertyKind::Vehicle as i32,
        value_fen: 5_000_000,
    }];
    let app = through_notice(&f, "g-property", vec![owner]).await;
    let err = decide_err(&f, "g-property", &app, &f.approver).await;
    assert_eq!(reason(&err), "ASSISTANCE_PROPERTY_NOT_ELIGIBLE");
    // age or disability (单人户: the member has neither)
    let near = vec![
        member(&id("19800101", 43), pb::Relationship::Applicant, 300_000),
        member(&id("19820101", 44), pb::Relationship::Spouse, 0),
    ];
    let mut req = application("g-single-submit", near);
    req.individual_member_id_number = id("19820101", 44);
    let app = f
        .client()
        .submit_application(f.req(req, &f.clerk))
        .await
        .expect("submit")
        .into_inner();
    run_to_decision(&f, "g-single", &app.id).await;
    let err = decide_err(&f, "g-single", &app.id, &f.approver).await;
    assert_eq!(reason(&err), "ASSISTANCE_AGE_OR_DISABILITY_NOT_MET");
    // 特困: supporter able to support; ability to work
    let elder = member(&id("19400101", 45), pb::Relationship::Applicant, 0);
    let app = submit_kind(
        &f,
        "g-supporter",
        pb::BenefitKind::ExtremePovertySupport,
        elder,
    )
    .await;
    run_to_decision(&f, "g-supporter", &app).await;
    let err = decide_err(&f, "g-supporter", &app, &f.approver).await;
    assert_eq!(reason(&err), "ASSISTANCE_SUPPORTER_ABLE");
    let mut adult = member(&id("19850101", 46), pb::Relationship::Applicant, 0);
    adult.no_capable_supporter = true;
    let app = submit_kind(&f, "g-work", pb::BenefitKind::ExtremePovertySupport, adult).await;
    run_to_decision(&f, "g-work", &app).await;
    let err = decide_err(&f, "g-work", &app, &f.approver).await;
    assert_eq!(reason(&err), "ASSISTANCE_ABLE_TO_WORK");
    // residence: a household registered outside the county the policy serves
    let far_clerk = f
        .suite
        .token_for("clerk-far", &[Role::TownshipClerk], "512021101");
    let far_approver = f
        .suite
        .token_for("approver-far", &[Role::CountyApprover], "512021");
    let mut req = application(
        "g-res-submit",
        vec![member(&id("19800101", 47), pb::Relationship::Applicant, 0)],
    );
    if let Some(h) = req.household.as_mut() {
        h.region = "512021101001".into();
    }
    let app = f
        .client()
        .submit_application(f.req(req, &far_clerk))
        .await
        .expect("submit")
        .into_inner();
    run_to_decision_as(&f, "g-res", &app.id, &far_clerk).await;
    let err = decide_err(&f, "g-res", &app.id, &far_approver).await;
    assert_eq!(reason(&err), "ASSISTANCE_RESIDENCE_NOT_ELIGIBLE");
}

async fn submit_kind(
    f: &Fixture,
    tag: &str,
    kind: pb::BenefitKind,
    applicant: pb::Member,
) -> String {
    let mut req = application(&format!("{tag}-submit"), vec![applicant]);
    req.kind = kind as i32;
    f.client()
        .submit_application(f.req(req, &f.clerk))
        .await
        .expect("submit")
        .into_inner()
        .id
}

async fn run_to_decision(f: &Fixture, tag: &str, app_id: &str) {
    run_to_decision_as(f, tag, app_id, &f.clerk).await;
}

/// Accept, visit, check and a notice that ended: the application waits for its decision.
async fn run_to_decision_as(f: &Fixture, tag: &str, app_id: &str, clerk: &str) {
    let mut c = f.client();
    c.accept_application(f.req(
        pb::AcceptApplicationRequest {
            request_id: format!("{tag}-accept"),
            application_id: app_id.into(),
        },
        clerk,
    ))
    .await
    .expect("accept");
    c.record_investigation(f.req(
        pb::RecordInvestigationRequest {
            request_id: format!("{tag}-visit"),
            application_id: app_id.into(),
            visit_date: Some(f.days_ago(21)),
            staff: two_staff(),
            household_signed: true,
            findings: "visited".into(),
        },
        clerk,
    ))
    .await
    .expect("visit");
    c.request_economic_check(f.req(
        pb::RequestEconomicCheckRequest {
            request_id: format!("{tag}-check"),
            application_id: app_id.into(),
            authorisation_reference: format!("AUTH-{tag}"),
            authorisation_signed_on: Some(f.days_ago(21)),
        },
        clerk,
    ))
    .await
    .expect("check");
    c.start_public_notice(f.req(
        pb::StartPublicNoticeRequest {
            request_id: format!("{tag}-notice"),
            application_id: app_id.into(),
            start_date: Some(f.days_ago(20)),
        },
        clerk,
    ))
    .await
    .expect("notice");
}

#[tokio::test]
async fn a_pending_objection_refuses_the_decision_with_its_own_reason() {
    let f = fixture().await;
    let app = through_notice(
        &f,
        "objection",
        vec![member(&id("19800101", 51), pb::Relationship::Applicant, 0)],
    )
    .await;
    f.client()
        .record_objection(f.req(
            pb::RecordObjectionRequest {
                request_id: "objection-1".into(),
                application_id: app.clone(),
                summary: "the household owns a shop".into(),
            },
            &f.clerk,
        ))
        .await
        .expect("objection");
    let err = decide_err(&f, "objection", &app, &f.approver).await;
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "ASSISTANCE_OBJECTION_PENDING");
}

#[tokio::test]
async fn a_notice_posted_on_the_11th_runs_to_the_17th_and_the_decision_is_allowed_on_the_18th() {
    let f = fixture().await;
    let posted = date!(2026 - 12 - 11);
    f.suite.clock.set_today(posted);
    let applicant = member(&id("19800101", 52), pb::Relationship::Applicant, 0);
    let mut child = member(&id("20150101", 53), pb::Relationship::Child, 0);
    child.person = Some(PersonRef {
        id_number: id("20150101", 53),
        name: "李小明".into(),
    });
    let app = f
        .client()
        .submit_application(f.req(application("n11-submit", vec![applicant, child]), &f.clerk))
        .await
        .expect("submit")
        .into_inner();
    let mut c = f.client();
    c.accept_application(f.req(
        pb::AcceptApplicationRequest {
            request_id: "n11-accept".into(),
            application_id: app.id.clone(),
        },
        &f.clerk,
    ))
    .await
    .expect("accept");
    c.record_investigation(f.req(
        pb::RecordInvestigationRequest {
            request_id: "n11-visit".into(),
            application_id: app.id.clone(),
            visit_date: Some(kit::error::to_proto_date(date!(2026 - 12 - 09))),
            staff: two_staff(),
            household_signed: true,
            findings: "visited".into(),
        },
        &f.clerk,
    ))
    .await
    .expect("visit");
    c.request_economic_check(f.req(
        pb::RequestEconomicCheckRequest {
            request_id: "n11-check".into(),
            application_id: app.id.clone(),
            authorisation_reference: "AUTH-n11".into(),
            authorisation_signed_on: Some(kit::error::to_proto_date(date!(2026 - 12 - 09))),
        },
        &f.clerk,
    ))
    .await
    .expect("check");
    let noticed = c
        .start_public_notice(f.req(
            pb::StartPublicNoticeRequest {
                request_id: "n11-notice".into(),
                application_id: app.id.clone(),
                start_date: Some(kit::error::to_proto_date(posted)),
            },
            &f.clerk,
        ))
        .await
        .expect("notice")
        .into_inner();
    let notice = noticed.notice.expect("notice");
    assert_eq!(
        notice.end_date,
        Some(kit::error::to_proto_date(date!(2026 - 12 - 17)))
    );
    assert!(notice.text.contains("2026-12-11"), "{}", notice.text);
    assert!(!notice.text.contains("李"), "minors are never listed");
    let read_back = c
        .get_application(f.req(
            pb::GetApplicationRequest {
                application_id: app.id.clone(),
            },
            &f.clerk,
        ))
        .await
        .expect("get")
        .into_inner();
    assert_eq!(read_back.notice.map(|n| n.text), Some(notice.text));

    f.suite.clock.set_today(date!(2026 - 12 - 17));
    let err = decide_err(&f, "n11-early", &app.id, &f.approver).await;
    assert_eq!(reason(&err), "ASSISTANCE_NOTICE_RUNNING");
    f.suite.clock.set_today(date!(2026 - 12 - 18));
    let decided = approve(&f, "n11", &app.id).await;
    assert_eq!(decided.state, pb::ApplicationState::Approved as i32);
}

#[tokio::test]
async fn a_deadline_extension_is_recorded_with_its_reason_and_approver() {
    let f = fixture().await;
    let mut c = f.client();
    let app = c
        .submit_application(f.req(
            application(
                "ext-submit",
                vec![member(&id("19800101", 54), pb::Relationship::Applicant, 0)],
            ),
            &f.clerk,
        ))
        .await
        .expect("submit")
        .into_inner();
    let accepted = c
        .accept_application(f.req(
            pb::AcceptApplicationRequest {
                request_id: "ext-accept".into(),
                application_id: app.id.clone(),
            },
            &f.clerk,
        ))
        .await
        .expect("accept")
        .into_inner();
    let extend = |extra: i32, request_id: &str| pb::ExtendReviewDeadlineRequest {
        request_id: request_id.into(),
        application_id: app.id.clone(),
        extra_working_days: extra,
        reason: "the household's income from abroad needs verification".into(),
    };
    // Up to 45 working days after acceptance in all (审核确认办法 art. 12).
    let policy_days = assistance::domain::policy::Policy::default_policy()
        .in_force_on(f.today)
        .review_deadline_working_days;
    let to_45 = i32::try_from(45 - policy_days).expect("small");
    let extended = c
        .extend_review_deadline(f.req(extend(to_45, "ext-1"), &f.approver))
        .await
        .expect("extended")
        .into_inner();
    assert_eq!(extended.deadline_extensions.len(), 1);
    let record = &extended.deadline_extensions[0];
    assert_eq!(record.previous_deadline, accepted.deadline);
    assert_eq!(Some(record.new_deadline), Some(extended.deadline));
    assert_eq!(record.approved_by, "approver-1");
    assert!(record.reason.contains("abroad"));
    let read_back = c
        .get_application(f.req(
            pb::GetApplicationRequest {
                application_id: app.id.clone(),
            },
            &f.clerk,
        ))
        .await
        .expect("get")
        .into_inner();
    assert_eq!(read_back.deadline_extensions, extended.deadline_extensions);
    let err = c
        .extend_review_deadline(f.req(extend(1, "ext-2"), &f.approver))
        .await
        .expect_err("past 45 working days");
    assert_eq!(reason(&err), "ASSISTANCE_EXTENSION_TOO_LONG");
    let err = c
        .extend_review_deadline(f.req(extend(1, "ext-3"), &f.clerk))
        .await
        .expect_err("a clerk does not approve");
    assert_eq!(err.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn extreme_poverty_has_its_own_investigation_and_confirmation_deadlines() {
    let f = fixture().await;
    let mut elder = member(&id("19400101", 55), pb::Relationship::Applicant, 0);
    elder.no_capable_supporter = true;
    let app = submit_kind(&f, "tk", pb::BenefitKind::ExtremePovertySupport, elder).await;
    run_to_decision(&f, "tk", &app).await;
    let read = f
        .client()
        .get_application(f.req(
            pb::GetApplicationRequest {
                application_id: app.clone(),
            },
            &f.clerk,
        ))
        .await
        .expect("get")
        .into_inner();
    let calendar = civil_calendar::HolidayCalendar::embedded();
    let accepted = read.accepted_on.expect("accepted");
    let accepted = time::Date::from_calendar_date(
        accepted.year,
        time::Month::try_from(accepted.month as u8).expect("month"),
        accepted.day as u8,
    )
    .expect("date");
    assert_eq!(
        read.investigation_deadline,
        Some(kit::error::to_proto_date(
            calendar.add_working_days(accepted, 15)
        ))
    );
    let notice_end = f.today - time::Duration::days(14);
    assert_eq!(
        read.confirmation_deadline,
        Some(kit::error::to_proto_date(
            calendar.add_working_days(notice_end, 10)
        ))
    );
    assert_ne!(
        read.investigation_deadline, read.deadline,
        "not the 低保 deadline"
    );
}

#[tokio::test]
async fn benefit_history_keeps_every_change_with_reason_decision_maker_and_date() {
    let f = fixture().await;
    let a = id("19800101", 56);
    let b = id("19820101", 57);
    let app = through_notice(
        &f,
        "hist",
        vec![
            member(&a, pb::Relationship::Applicant, 0),
            member(&b, pb::Relationship::Spouse, 0),
        ],
    )
    .await;
    let approved = approve(&f, "hist", &app).await;
    let mut c = f.client();
    c.record_income_change(f.req(
        pb::RecordIncomeChangeRequest {
            request_id: "hist-income".into(),
            benefit_id: approved.benefit_id.clone(),
            member_id_number: b.clone(),
            incomes: vec![pb::IncomeItem {
                kind: pb::IncomeKind::Pension as i32,
                monthly_fen: 20_000,
            }],
            from_employment: false,
        },
        &f.clerk,
    ))
    .await
    .expect("income change");
    c.terminate_benefit(f.req(
        pb::TerminateBenefitRequest {
            request_id: "hist-end".into(),
            benefit_id: approved.benefit_id.clone(),
            reason: pb::TerminationReason::MovedAway as i32,
            event_date: Some(f.days_ago(0)),
            note: "moved to Hangzhou".into(),
        },
        &f.approver,
    ))
    .await
    .expect("terminate");
    let benefit = c
        .get_benefit(f.req(
            pb::GetBenefitRequest {
                benefit_id: approved.benefit_id,
            },
            &f.approver,
        ))
        .await
        .expect("get")
        .into_inner();
    let history: Vec<(&str, &str)> = benefit
        .history
        .iter()
        .map(|h| (h.reason.as_str(), h.decided_by.as_str()))
        .collect();
    assert_eq!(history.len(), 3, "{history:?}");
    assert_eq!(history[0], ("approved", "approver-1"));
    assert_eq!(history[1], ("income change", "clerk-1"));
    assert!(history[2].0.contains("moved to Hangzhou"), "{history:?}");
    assert_eq!(history[2].1, "approver-1");
    assert!(benefit.history.iter().all(|h| h.decided_on.is_some()));
    assert_eq!(benefit.history[2].monthly_amount_fen, 0);
}

#[tokio::test]
async fn a_registered_close_relative_flags_the_application_and_the_county_investigates() {
    let f = fixture().await;
    let relative = id("19800101", 58);
    let mut c = f.client();
    c.register_close_relative(f.req(
        pb::RegisterCloseRelativeRequest {
            request_id: "kin-1".into(),
            official_subject: "cadre-7".into(),
            official_name: "王村长".into(),
            official_region: VILLAGE.into(),
            relative: Some(PersonRef {
                id_number: relative.clone(),
                name: "张三".into(),
            }),
            relationship: "sibling".into(),
        },
        &f.approver,
    ))
    .await
    .expect("registered");
    let app = c
        .submit_application(f.req(
            application(
                "kin-submit",
                vec![member(&relative, pb::Relationship::Applicant, 0)],
            ),
            &f.clerk,
        ))
        .await
        .expect("submit")
        .into_inner();
    assert!(app.flagged_close_relative, "checked on every application");
    c.accept_application(f.req(
        pb::AcceptApplicationRequest {
            request_id: "kin-accept".into(),
            application_id: app.id.clone(),
        },
        &f.clerk,
    ))
    .await
    .expect("accept");
    let err = c
        .record_investigation(f.req(
            pb::RecordInvestigationRequest {
                request_id: "kin-visit".into(),
                application_id: app.id.clone(),
                visit_date: Some(f.days_ago(1)),
                staff: two_staff(),
                household_signed: true,
                findings: "visited".into(),
            },
            &f.clerk,
        ))
        .await
        .expect_err("the township may not investigate");
    assert_eq!(reason(&err), "ASSISTANCE_COUNTY_INVESTIGATES");
}

// ------------------------------- issue 14, one-matter: the household's review is actually opened

#[tokio::test]
async fn a_marriage_opens_one_household_review_per_benefit_read_back_on_the_benefit() {
    let f = fixture().await;
    let a = id("19800101", 58);
    let b = id("19820101", 59);
    let app = through_notice(
        &f,
        "review",
        vec![
            member(&a, pb::Relationship::Applicant, 0),
            member(&b, pb::Relationship::Child, 0),
        ],
    )
    .await;
    let approved = approve(&f, "review", &app).await;
    let mut c = f.client();
    let open = |request_id: &str, id_number: &str| pb::OpenHouseholdReviewRequest {
        request_id: request_id.into(),
        id_number: id_number.into(),
        cause: pb::HouseholdReviewCause::Marriage as i32,
        reference: "J330723-2026-000123".into(),
        changed_on: Some(f.days_ago(0)),
    };
    // The aggregator opens it for the member who married.
    let first = c
        .open_household_review(f.req(open("rv-1", &b), &f.service))
        .await
        .expect("opened")
        .into_inner();
    assert_eq!(first.reviews.len(), 1);
    let review = &first.reviews[0];
    assert_eq!(review.benefit_id, approved.benefit_id);
    assert_eq!(review.cause(), pb::HouseholdReviewCause::Marriage);
    assert_eq!(review.reference, "J330723-2026-000123");
    assert_eq!(review.opened_by, "svc-onematter");
    assert!(review.household_region.starts_with(TOWNSHIP), "{review:?}");

    // Idempotent: the same request id, and another request id for the same marriage, answer
    // the review already open.
    let replay = c
        .open_household_review(f.req(open("rv-1", &b), &f.service))
        .await
        .expect("replay")
        .into_inner();
    assert_eq!(replay, first);
    let again = c
        .open_household_review(f.req(open("rv-2", &b), &f.service))
        .await
        .expect("again")
        .into_inner();
    assert_eq!(again.reviews[0].review_id, review.review_id);

    // The clerk reads it on the benefit.
    let benefit = c
        .get_benefit(f.req(
            pb::GetBenefitRequest {
                benefit_id: approved.benefit_id.clone(),
            },
            &f.clerk,
        ))
        .await
        .expect("benefit")
        .into_inner();
    assert_eq!(benefit.household_reviews.len(), 1);
    assert_eq!(benefit.household_reviews[0].review_id, review.review_id);

    // A person in no household: nothing opened, not NOT_FOUND.
    let stranger = c
        .open_household_review(f.req(open("rv-3", &id("19900101", 60)), &f.service))
        .await
        .expect("empty")
        .into_inner();
    assert!(stranger.reviews.is_empty());

    // Bad input names every field; a citizen may not call it at all.
    let err = c
        .open_household_review(f.req(
            pb::OpenHouseholdReviewRequest {
                request_id: "rv-4".into(),
                ..Default::default()
            },
            &f.service,
        ))
        .await
        .expect_err("invalid");
    assert_eq!(err.code(), Code::InvalidArgument);
    let fields = violated_fields(&err);
    for field in ["id_number", "cause", "changed_on"] {
        assert!(fields.iter().any(|f| f == field), "{field}: {fields:?}");
    }
    let citizen = f.suite.token_for("citizen-1", &[Role::Citizen], COUNTY);
    let denied = c
        .open_household_review(f.req(open("rv-5", &b), &citizen))
        .await
        .expect_err("denied");
    assert_eq!(denied.code(), Code::PermissionDenied);
}

// ------------------------------------------ issue 14, assistance: county policy per member

/// A county policy with two versions: the older pays fixed add-ons that stack; the one in force
/// pays add-ons as a share of the member's own standard, only the highest, and limits financial
/// assets to 24 months of the area's standard per member.
const MIXED_POLICY: &str = r#"
county = "330723"

[[version]]
id = "fixed-2020"
effective_from = "2020-01-01"
urban_standard_fen = 100_000
rural_standard_fen = 80_000
near_threshold_percent = 150
rounding = "none"
phase_out_months = 6
review_interval_months = 12
review_interval_months_able_to_work = 6
review_deadline_working_days = 20
[version.property_limits]
financial_assets_per_member_fen = 1_000_000
max_houses = 1
max_vehicles = 0
[version.addons]
elderly_min_age = 70
elderly_fen = 5_000
severely_disabled_fen = 7_000
children_under_age = 18
child_fen = 5_000
[version.extreme_poverty]
basic_support_fen = 130_000
care_self_caring_fen = 5_000
care_partly_dependent_fen = 20_000
care_fully_dependent_fen = 50_000
[version.temporary]
min_fen = 10_000
emergency_max_fen = 300_000
expenditure_max_fen = 1_000_000

[[version]]
id = "share-2025"
effective_from = "2025-01-01"
urban_standard_fen = 130_000
rural_standard_fen = 110_000
near_threshold_percent = 150
rounding = "none"
phase_out_months = 6
review_interval_months = 12
review_interval_months_able_to_work = 6
review_deadline_working_days = 20
[version.property_limits]
financial_assets_per_member_fen = 0
financial_assets_standard_months = 24
max_houses = 1
max_vehicles = 0
[version.addons]
elderly_min_age = 70
elderly_fen = 0
elderly_percent = 10
severely_disabled_fen = 0
severely_disabled_percent = 20
children_under_age = 18
child_fen = 0
child_percent = 10
combine = "highest"
[version.extreme_poverty]
basic_support_fen = 160_000
care_self_caring_fen = 5_000
care_partly_dependent_fen = 20_000
care_fully_dependent_fen = 50_000
[version.temporary]
min_fen = 10_000
emergency_max_fen = 300_000
expenditure_max_fen = 1_000_000
"#;

async fn mixed_policy_fixture() -> Fixture {
    let dir = std::env::temp_dir().join(format!("civil-policy-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("policy.toml");
    std::fs::write(&path, MIXED_POLICY).expect("policy file");
    let path = path.to_string_lossy().into_owned();
    fixture_with(move |c| {
        c.extra.insert("assistance_policy_file".into(), path);
    })
    .await
}

#[tokio::test]
async fn county_add_ons_are_a_share_of_each_members_own_standard_single_highest_and_assets_a_multiple_of_the_standard()
 {
    let f = mixed_policy_fixture().await;
    // A rural household: the applicant, and his mother (born 1940, severely disabled) whose own
    // register is urban.
    let son = id("19800101", 61);
    let mother = id("19400101", 62);
    let mut elder = member(&mother, pb::Relationship::Parent, 0);
    elder.disability_grade = 1;
    elder.disability_kind = pb::DisabilityKind::Physical as i32;
    elder.own_area = pb::AreaKind::Urban as i32;
    let app = through_notice(
        &f,
        "share",
        vec![member(&son, pb::Relationship::Applicant, 0), elder],
    )
    .await;
    let approved = approve(&f, "share", &app).await;
    let decision = approved.decision.expect("decision");
    assert_eq!(
        decision.policy_version, "share-2025",
        "the version in force today"
    );
    let addons: Vec<(&str, i64)> = decision
        .breakdown
        .iter()
        .filter(|l| l.item.starts_with("addon:"))
        .map(|l| (l.item.as_str(), l.amount_fen))
        .collect();
    // Elderly 10% and severely disabled 20% of her own urban standard (130,000): only the
    // highest, 26,000, is paid; never the rural standard's 22,000.
    assert_eq!(
        addons,
        [("addon:severely_disabled", 26_000)],
        "{decision:?}"
    );
    // The gap: 2 members x the rural standard (no income).
    assert_eq!(decision.monthly_amount_fen, 2 * 110_000 + 26_000);
    let benefit = f
        .client()
        .get_benefit(f.req(
            pb::GetBenefitRequest {
                benefit_id: approved.benefit_id,
            },
            &f.clerk,
        ))
        .await
        .expect("benefit")
        .into_inner();
    let household = benefit.household.expect("household");
    assert_eq!(
        household.members[1].own_area(),
        pb::AreaKind::Urban,
        "the member's own register type is kept"
    );

    // Assets: 24 months of the rural standard per member (1 member: 2,640,000 fen).
    let saver = id("19750101", 63);
    let mut rich = member(&saver, pb::Relationship::Applicant, 0);
    rich.properties = vec![pb::PropertyItem {
        kind: pb::PropertyKind::Financial as i32,
        value_fen: 24 * 110_000 + 1,
    }];
    let app = through_notice(&f, "assets", vec![rich]).await;
    let err = decide_err(&f, "assets", &app, &f.approver).await;
    assert_eq!(reason(&err), "ASSISTANCE_PROPERTY_NOT_ELIGIBLE", "{err:?}");
}

// ------------------------------------------- issue 14, 特困: a person of 18 or over in school

/// RULES.md: minors are "< 16, extended while at school until 18", and "support for minors
/// continues to 18 and beyond while in school" (特困人员认定办法 2021). Our reading: a first
/// application at 18 or over is not the minor category, in school or not (the statute
/// *continues* support of a recipient); a recipient who turns 18 while in school keeps it.
#[tokio::test]
async fn a_person_of_18_or_over_still_in_school_is_not_a_minor_on_a_first_application_but_a_pupil_recipient_keeps_support_past_18()
 {
    use assistance::domain::month::Month;
    let f = fixture().await;
    let ymd = |d: time::Date| format!("{:04}{:02}{:02}", d.year(), u8::from(d.month()), d.day());
    let pupil = |birth: time::Date, seq: u32| {
        let mut m = member(&id(&ymd(birth), seq), pb::Relationship::Applicant, 0);
        m.in_school = true;
        m.no_capable_supporter = true;
        m
    };
    // 18 today, in senior high school, applying for the first time: able to work in law.
    let eighteen = f.today.replace_year(f.today.year() - 18).expect("date");
    let app = submit_kind(
        &f,
        "tk18",
        pb::BenefitKind::ExtremePovertySupport,
        pupil(eighteen, 64),
    )
    .await;
    run_to_decision(&f, "tk18", &app).await;
    let err = decide_err(&f, "tk18", &app, &f.approver).await;
    assert_eq!(reason(&err), "ASSISTANCE_ABLE_TO_WORK", "{err:?}");

    // 17, in school, turning 18 next month: approved (paid from next month), and still paid
    // in the month after, when 18 and in school.
    let next = Month::of(f.today).next();
    let after = next.next();
    let birthday = after.first_day() - time::Duration::days(10);
    let birth = birthday.replace_year(birthday.year() - 18).expect("date");
    let app = submit_kind(
        &f,
        "tk17",
        pb::BenefitKind::ExtremePovertySupport,
        pupil(birth, 65),
    )
    .await;
    run_to_decision(&f, "tk17", &app).await;
    let approved = approve(&f, "tk17", &app).await;
    assert_eq!(approved.state(), pb::ApplicationState::Approved);
    let roll = f
        .client()
        .generate_payment_roll(f.req(
            pb::GeneratePaymentRollRequest {
                request_id: "tk17-roll".into(),
                month: after.to_string(),
            },
            &f.approver,
        ))
        .await
        .expect("roll")
        .into_inner();
    assert!(
        roll.lines
            .iter()
            .any(|l| l.benefit_id == approved.benefit_id && l.amount_fen > 0),
        "18 and in school: support continues: {roll:?}"
    );
}
