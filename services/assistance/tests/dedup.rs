//! Deduplication (RULES.md "Second round" §5) through gRPC: one person in at most one live
//! assistance household and in at most one open application per program, by blind index, on
//! every application and every decision; the refusal names the existing record only to a
//! caller allowed to read it. SQLite by default, PostgreSQL when CIVIL_TEST_PG is set.

#[path = "support/checking_centre.rs"]
mod checking_centre;
#[path = "support/fixture.rs"]
mod fixture;

use contracts::civil::assistance::v1 as pb;
use kit::testing::Role;
use tonic::Code;

use fixture::*;

async fn submit(
    f: &Fixture,
    req: pb::SubmitApplicationRequest,
    token: &str,
) -> Result<pb::Application, tonic::Status> {
    f.client()
        .submit_application(f.req(req, token))
        .await
        .map(tonic::Response::into_inner)
}

fn refused(result: Result<pb::Application, tonic::Status>) -> tonic::Status {
    let err = result.expect_err("refused");
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    err
}

#[tokio::test]
async fn a_second_open_application_of_the_program_is_refused_naming_the_first_only_to_a_reader() {
    let f = fixture().await;
    let (p1, p2, p3) = (id("19700101", 41), id("19720202", 42), id("19750303", 43));
    let first = submit(
        &f,
        application(
            "d1",
            vec![
                member(&p1, pb::Relationship::Applicant, 0),
                member(&p2, pb::Relationship::Spouse, 0),
            ],
        ),
        &f.clerk,
    )
    .await
    .expect("first application");

    // p2 again, in another household's 低保 application, at the clerk's counter.
    let second = application(
        "d2",
        vec![
            member(&p3, pb::Relationship::Applicant, 0),
            member(&p2, pb::Relationship::Spouse, 0),
        ],
    );
    let err = refused(submit(&f, second.clone(), &f.clerk).await);
    assert_eq!(reason(&err), "ASSISTANCE_APPLICATION_ALREADY_OPEN");
    assert!(err.message().contains("household.members[1]"), "{err:?}");
    assert!(
        err.message().contains(&first.id),
        "the clerk sees which: {err:?}"
    );

    // A citizen online: the same refusal, without the other household's application id.
    let citizen = f.suite.token_for("citizen-3", &[Role::Citizen], TOWNSHIP);
    let online = pb::SubmitApplicationRequest {
        request_id: "d3".into(),
        channel: pb::Channel::Online as i32,
        ..second.clone()
    };
    let err = refused(submit(&f, online, &citizen).await);
    assert_eq!(reason(&err), "ASSISTANCE_APPLICATION_ALREADY_OPEN");
    assert!(!err.message().contains(&first.id), "{err:?}");

    // A clerk of another township, for a household there: refused, the id not shown.
    let far = f
        .suite
        .token_for("clerk-2", &[Role::TownshipClerk], OTHER_TOWNSHIP);
    let mut there = application("d4", second.household.clone().unwrap().members);
    there.household.as_mut().unwrap().region = format!("{OTHER_TOWNSHIP}001");
    let err = refused(submit(&f, there, &far).await);
    assert_eq!(reason(&err), "ASSISTANCE_APPLICATION_ALREADY_OPEN");
    assert!(!err.message().contains(&first.id), "{err:?}");

    // Nothing was stored by the refusals: p3 alone may still apply; and p2 may apply for
    // another program (低保边缘).
    submit(
        &f,
        application("d5", vec![member(&p3, pb::Relationship::Applicant, 0)]),
        &f.clerk,
    )
    .await
    .expect("p3 was not registered by the refused application");
    let near = pb::SubmitApplicationRequest {
        kind: pb::BenefitKind::NearThreshold as i32,
        ..application("d6", vec![member(&p2, pb::Relationship::Applicant, 0)])
    };
    submit(&f, near, &f.clerk)
        .await
        .expect("another program is another application");
}

#[tokio::test]
async fn a_member_of_a_live_household_is_refused_elsewhere_until_the_benefit_ends() {
    let f = fixture().await;
    let (p1, p2, p3) = (id("19600101", 51), id("19620202", 52), id("19650303", 53));
    let app_id = through_notice(
        &f,
        "h1",
        vec![
            member(&p1, pb::Relationship::Applicant, 0),
            member(&p2, pb::Relationship::Spouse, 0),
        ],
    )
    .await;
    let approved = approve(&f, "h1", &app_id).await;
    let benefit_id = approved.benefit_id.clone();

    // The decision freed the application: p1 and p2 are now in the household instead.
    let elsewhere = application(
        "h2",
        vec![
            member(&p3, pb::Relationship::Applicant, 0),
            member(&p2, pb::Relationship::Spouse, 0),
        ],
    );
    let err = refused(submit(&f, elsewhere.clone(), &f.clerk).await);
    assert_eq!(reason(&err), "ASSISTANCE_ALREADY_IN_HOUSEHOLD");
    assert!(err.message().contains("household.members[1]"), "{err:?}");
    assert!(err.message().contains(&benefit_id), "{err:?}");
    let citizen = f.suite.token_for("citizen-4", &[Role::Citizen], TOWNSHIP);
    let online = pb::SubmitApplicationRequest {
        request_id: "h3".into(),
        channel: pb::Channel::Online as i32,
        ..elsewhere.clone()
    };
    let err = refused(submit(&f, online, &citizen).await);
    assert_eq!(reason(&err), "ASSISTANCE_ALREADY_IN_HOUSEHOLD");
    assert!(!err.message().contains(&benefit_id), "{err:?}");

    // The household moves away: the benefit ends and p2 may be in another household.
    f.client()
        .terminate_benefit(f.req(
            pb::TerminateBenefitRequest {
                request_id: "h-end".into(),
                benefit_id: benefit_id.clone(),
                reason: pb::TerminationReason::MovedAway as i32,
                event_date: Some(f.days_ago(1)),
                note: "moved".into(),
            },
            &f.approver,
        ))
        .await
        .expect("terminate");
    let again = pb::SubmitApplicationRequest {
        request_id: "h4".into(),
        ..elsewhere
    };
    submit(&f, again, &f.clerk)
        .await
        .expect("free after the benefit ended");
}

#[tokio::test]
async fn a_decision_that_would_put_a_person_in_a_second_household_is_refused() {
    let f = fixture().await;
    let (p1, p2, p3) = (id("19580101", 61), id("19590202", 62), id("19610303", 63));
    // Two households name p2, in applications of two programs (allowed while both are open).
    let low = through_notice(
        &f,
        "x1",
        vec![
            member(&p1, pb::Relationship::Applicant, 0),
            member(&p2, pb::Relationship::Spouse, 0),
        ],
    )
    .await;
    let near = pb::SubmitApplicationRequest {
        kind: pb::BenefitKind::NearThreshold as i32,
        ..application(
            "x2-submit",
            vec![
                member(&p3, pb::Relationship::Applicant, 280_000),
                member(&p2, pb::Relationship::Spouse, 0),
            ],
        )
    };
    let near = through_notice_of(&f, "x2", near).await;
    let first = approve(&f, "x1", &low).await;

    let decide = pb::DecideApplicationRequest {
        request_id: "x2-decide".into(),
        application_id: near.clone(),
        approve: true,
        reasons: vec![],
    };
    let err = f
        .client()
        .decide_application(f.req(decide, &f.approver))
        .await
        .expect_err("p2 is in the first household now");
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "ASSISTANCE_ALREADY_IN_HOUSEHOLD");
    assert!(err.message().contains("household.members[1]"), "{err:?}");
    assert!(err.message().contains(&first.benefit_id), "{err:?}");
    // Nothing changed: the application is still undecided and has no benefit.
    let still = f
        .client()
        .get_application(f.req(
            pb::GetApplicationRequest {
                application_id: near,
            },
            &f.clerk,
        ))
        .await
        .expect("get")
        .into_inner();
    assert!(still.decision.is_none() && still.benefit_id.is_empty());
}

#[tokio::test]
async fn a_near_threshold_household_applying_for_dibao_leaves_its_near_threshold_benefit_on_approval()
 {
    let f = fixture().await;
    let (p1, p2) = (id("19650101", 71), id("19660202", 72));
    // 低保边缘 first: the household earns between the standard and 1.5 times it.
    let near = pb::SubmitApplicationRequest {
        kind: pb::BenefitKind::NearThreshold as i32,
        ..application(
            "y1-submit",
            vec![
                member(&p1, pb::Relationship::Applicant, 150_000),
                member(&p2, pb::Relationship::Spouse, 150_000),
            ],
        )
    };
    let near = through_notice_of(&f, "y1", near).await;
    let near_benefit = approve(&f, "y1", &near).await.benefit_id;
    // The wages are gone: the same household applies for 低保 while 低保边缘 is live.
    let low = through_notice(
        &f,
        "y2",
        vec![
            member(&p1, pb::Relationship::Applicant, 0),
            member(&p2, pb::Relationship::Spouse, 0),
        ],
    )
    .await;
    let low_benefit = approve(&f, "y2", &low).await.benefit_id;
    assert!(!low_benefit.is_empty());
    let old = f
        .client()
        .get_benefit(f.req(
            pb::GetBenefitRequest {
                benefit_id: near_benefit,
            },
            &f.clerk,
        ))
        .await
        .expect("get")
        .into_inner();
    assert_eq!(old.state, pb::BenefitState::Terminated as i32);
}
