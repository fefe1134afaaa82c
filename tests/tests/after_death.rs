//! 身后一件事 end to end: the whole suite (every service real), the outside systems doubled.
//!
//! A man of 86 with a marriage, a 低保 benefit, the advanced-age allowance and an association he
//! represents dies; the funeral home registers the death, which starts the after-death case
//! without any application, and the family's application joins that case. What the family, the
//! bureaus and an operator then see: the funeral fee waiver granted on the 低保 evidence, the
//! benefit ended, the allowance stopped after the month of death, the widow widowed, a
//! representative-change task open, and each outside system called exactly once.
//!
//! Then the same case with the suite stopped and started again on the same store: between two
//! steps, and while a step's call to an outside system is in flight.

mod common;

use std::time::Duration;

use auth::Role;
use common::*;
use contracts::civil::onematter::v1 as pb;

#[tokio::test]
async fn a_registered_death_runs_every_bureaus_part_once_and_the_family_joins_the_case() {
    let outside = Outside::start().await;
    let suite = spawn_suite(&outside, |_| {}).await;
    let staff = Staff::of(&suite);
    let people = People::new(1);
    let seeded = seed(&suite, &staff, &people).await;
    assert_eq!(
        outside
            .centre
            .calls
            .load(std::sync::atomic::Ordering::SeqCst),
        1
    );

    let death = register_death(&suite, &staff, &people).await;
    // 免申即享: the death registration alone starts the case.
    let cases = wait_for_cases(&suite, &staff, 1).await;
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].origin, "funeral.death_registered");
    assert_eq!(cases[0].applicant, "");

    // The son applies at the portal: he joins the same case and may follow it.
    let son = suite.token_for("citizen-wang-xiaoming", &[Role::Citizen], COUNTY);
    let joined = onematter(&suite)
        .start_case(suite.request(people.start_case("family-1"), &son))
        .await
        .expect("the family joins")
        .into_inner();
    assert_eq!(joined.name, cases[0].name, "one case per deceased person");
    assert_eq!(joined.applicant, "citizen-wang-xiaoming");

    let done = settle(&suite, &son, &joined.name).await;
    assert_eq!(done.state(), pb::CaseState::Completed, "{done:#?}");
    assert_eq!(done.steps.len(), 10);
    for s in &done.steps {
        assert_eq!(
            (s.state(), s.attempts),
            (pb::StepState::Succeeded, 1),
            "{}: {s:?}",
            s.name
        );
    }
    let summary = |name: &str| step(&done, name).summary.clone();
    assert_eq!(
        summary("funeral_death_case"),
        format!("death case found: {}", death.name)
    );
    assert!(
        summary("funeral_fee_waiver").contains("minimum_living_allowance"),
        "{}",
        summary("funeral_fee_waiver")
    );
    assert_eq!(
        summary("assistance_terminate"),
        "1 benefit(s) ended, 0 household(s) recalculated"
    );
    assert!(summary("eldercare_stop").starts_with("allowance stopped"));
    assert_eq!(
        summary("marriage_record_death"),
        "spouse recorded as widowed"
    );
    assert_eq!(
        summary("socialorg_representatives"),
        "1 representative-change task(s) opened"
    );
    // The portal masks identity numbers.
    let shown = format!("{done:?}");
    for number in people.id_numbers() {
        assert!(!shown.contains(&number));
    }

    assert_after_death_effects(&suite, &staff, &people, &seeded, &death.name).await;
    assert_effects_once(&suite, &outside).await;
    for method in OUTSIDE_AFTER_DEATH {
        assert_eq!(outside.calls(method), 1, "{method}");
    }
    assert_eq!(outside.calls("BirthService/RegisterCouple"), 0);

    // Nothing runs twice afterwards: a repeated family application returns the finished case.
    let again = onematter(&suite)
        .start_case(suite.request(people.start_case("family-2"), &son))
        .await
        .expect("same case")
        .into_inner();
    assert_eq!(again.name, joined.name);
    assert_eq!(again.state(), pb::CaseState::Completed);
    tokio::time::sleep(Duration::from_millis(200)).await;
    for method in OUTSIDE_AFTER_DEATH {
        assert_eq!(outside.calls(method), 1, "{method}");
    }
    for service in [
        "funeral",
        "assistance",
        "eldercare",
        "marriage",
        "socialorg",
        "onematter",
    ] {
        let db = suite.db(service).await;
        let rows = auth::audit::verify(&db.pool)
            .await
            .unwrap_or_else(|e| panic!("{service}: audit chain: {e}"));
        assert!(rows > 0, "{service} audited");
    }
}

/// Crash between two steps: the executor takes due steps every 2 s, so after the death case step
/// it waits with the other eight ready; the suite stops right then and starts on the same store.
#[tokio::test]
async fn a_restart_between_two_steps_resumes_the_case_and_nothing_happens_twice() {
    let outside = Outside::start().await;
    let mut suite = spawn_suite(&outside, |c| {
        c.extra.insert("onematter_poll_ms".into(), "2000".into());
    })
    .await;
    let staff = Staff::of(&suite);
    let people = People::new(2);
    let seeded = seed(&suite, &staff, &people).await;
    let death = register_death(&suite, &staff, &people).await;
    let name = wait_for_cases(&suite, &staff, 1).await[0].name.clone();
    let between = wait_case(
        &suite,
        &staff.operator,
        &name,
        Duration::from_secs(15),
        "the death case step done",
        |c| step(c, "funeral_death_case").state() == pb::StepState::Succeeded,
    )
    .await;
    assert_eq!(
        (
            count_steps(&between, pb::StepState::Succeeded),
            count_steps(&between, pb::StepState::Ready)
        ),
        (1, 8),
        "between steps: {between:#?}"
    );

    suite
        .config
        .extra
        .insert("onematter_poll_ms".into(), "20".into());
    let suite = suite.restart().await;
    let done = settle(&suite, &staff.operator, &name).await;
    assert_eq!(done.state(), pb::CaseState::Completed, "{done:#?}");
    for s in &done.steps {
        assert_eq!(s.attempts, 1, "{}: run once: {s:?}", s.name);
    }
    assert_after_death_effects(&suite, &staff, &people, &seeded, &death.name).await;
    assert_effects_once(&suite, &outside).await;
    for method in OUTSIDE_AFTER_DEATH {
        assert_eq!(outside.calls(method), 1, "{method}");
    }
}

/// Crash while a step's call is in flight: the household register applied the deregistration
/// but its answer is held; the suite stops, starts again on the same store, the step's lease
/// runs out and it runs again under the same idempotency key: the receiver answers with the first
/// receipt, and no effect anywhere happens twice.
#[tokio::test]
async fn a_restart_while_an_outside_call_is_in_flight_reruns_that_step_without_a_second_effect() {
    let outside = Outside::holding_household().await;
    let hold = outside.hold.clone().expect("holding double");
    let suite = spawn_suite(&outside, |c| {
        c.extra.insert("onematter_lease_ms".into(), "1500".into());
    })
    .await;
    let staff = Staff::of(&suite);
    let people = People::new(3);
    let seeded = seed(&suite, &staff, &people).await;
    let death = register_death(&suite, &staff, &people).await;
    let name = wait_for_cases(&suite, &staff, 1).await[0].name.clone();
    tokio::time::timeout(Duration::from_secs(20), hold.arrived.notified())
        .await
        .expect("the household deregistration reached the receiver");
    let in_flight = wait_case(
        &suite,
        &staff.operator,
        &name,
        Duration::from_secs(20),
        "every other step done",
        |c| count_steps(c, pb::StepState::Succeeded) == 9,
    )
    .await;
    assert_eq!(
        step(&in_flight, "household_deregistration").state(),
        pb::StepState::Running
    );
    assert_eq!(
        outside.household.len(),
        1,
        "the effect happened before the crash"
    );

    let suite = suite.restart().await;
    // The old call's answer arrives when nobody waits for it any more.
    hold.release.notify_one();
    let done = settle(&suite, &staff.operator, &name).await;
    assert_eq!(done.state(), pb::CaseState::Completed, "{done:#?}");
    for s in &done.steps {
        let expected = if s.name == "household_deregistration" {
            2
        } else {
            1
        };
        assert_eq!(s.attempts, expected, "{}: {s:?}", s.name);
    }
    assert_eq!(
        outside.calls(HOUSEHOLD),
        2,
        "called again after the crash, same request id"
    );
    assert_eq!(outside.household.len(), 1, "one deregistration");
    assert_eq!(outside.calls(PENSION), 1);
    assert_eq!(outside.calls(MEDICAL), 1);
    assert_after_death_effects(&suite, &staff, &people, &seeded, &death.name).await;
    assert_effects_once(&suite, &outside).await;
}

/// Defects issue item 1, end to end: a citizen of another province who knows only the deceased's
/// identity number cannot take the case the death registration started, and learns nothing of
/// it; the son, recorded as declarant at the funeral desk, joins and follows it.
#[tokio::test]
async fn a_stranger_cannot_take_over_the_case_and_the_declarant_recorded_at_the_desk_joins() {
    let outside = Outside::start().await;
    let suite = spawn_suite(&outside, |_| {}).await;
    let staff = Staff::of(&suite);
    let people = People::new(2);
    register_death_declared(&suite, &staff, &people).await;
    let cases = wait_for_cases(&suite, &staff, 1).await;

    let stranger = suite.token_for("citizen-far-away", &[Role::Citizen], "110105");
    let mut invented = people.start_case("stranger-1");
    invented.declarant = Some(contracts::civil::common::v1::PersonRef {
        id_number: id("11010519800505003"),
        name: "张三".into(),
    });
    if let Some(m) = invented.after_death.as_mut()
        && let Some(c) = m.certificate.as_mut()
    {
        c.number = "INVENTED-0001".into();
    }
    let err = onematter(&suite)
        .start_case(suite.request(invented, &stranger))
        .await
        .expect_err("not family");
    assert_eq!(err.code(), tonic::Code::FailedPrecondition);
    assert_eq!(
        kit::error::reason_of(&err).as_deref(),
        Some("ONEMATTER_FAMILY_NOT_VERIFIED")
    );
    assert!(!err.message().contains("cases/"));
    let read = onematter(&suite)
        .get_case(suite.request(
            pb::GetCaseRequest {
                name: cases[0].name.clone(),
            },
            &stranger,
        ))
        .await
        .expect_err("sees nothing");
    assert_eq!(read.code(), tonic::Code::PermissionDenied);
    assert!(kit::error::reason_of(&read).is_none());

    // The register does not know the family here: the funeral desk's record is the evidence.
    outside.double.on(
        "HouseholdRegisterService/VerifyKinship",
        |_: contracts::civil::external::v1::VerifyKinshipRequest| -> Result<contracts::civil::external::v1::KinshipAnswer, tonic::Status> {
            Err(tonic::Status::not_found("no household registration in the province"))
        },
    );
    let son = suite.token_for("citizen-wang-xiaoming", &[Role::Citizen], COUNTY);
    let joined = onematter(&suite)
        .start_case(suite.request(people.start_case("family-1"), &son))
        .await
        .expect("the declarant joins")
        .into_inner();
    assert_eq!(joined.name, cases[0].name);
    assert_eq!(joined.applicant, "citizen-wang-xiaoming");
    assert_eq!(
        joined.applicant_evidence(),
        pb::ApplicantEvidence::DeathRegistration
    );
    let done = settle(&suite, &son, &joined.name).await;
    assert_eq!(done.steps.len(), 10);
}
