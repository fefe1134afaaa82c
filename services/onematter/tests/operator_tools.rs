//! The operator's tools over gRPC against the real after-death workflow (every other service a
//! test double): versioned plans (a case keeps the version it started with) and forks (a case
//! rerun from a step reuses what came before it). SQLite by default, PostgreSQL when
//! `CIVIL_TEST_PG` is set.

mod after_death_script;
mod doubles;

use contracts::civil::onematter::v1 as pb;
use doubles::Double;
use kit::testing::Role;
use tonic::Code;

use after_death_script::*;

const V1_STEPS: [&str; 10] = [
    "funeral_death_case",
    "funeral_disposal",
    "funeral_fee_waiver",
    "assistance_terminate",
    "eldercare_stop",
    "marriage_record_death",
    "socialorg_representatives",
    "household_deregistration",
    "pension_stop",
    "medical_insurance_end",
];

fn publish(version: i32) -> pb::PublishPlanVersionRequest {
    pb::PublishPlanVersionRequest {
        request_id: format!("publish-v{version}"),
        kind: pb::MatterKind::AfterDeath as i32,
        version,
    }
}

fn current(r: &pb::ListPlanVersionsResponse) -> Vec<i32> {
    r.versions
        .iter()
        .filter(|v| v.current)
        .map(|v| v.version)
        .collect()
}

#[tokio::test]
async fn a_case_started_on_plan_v1_finishes_on_v1_after_v2_is_published() {
    let double = Double::default();
    let funeral_home = Funeral::default();
    script_after_death(&double, &funeral_home);
    let suite = suite(&double, |_| {}).await;
    let citizen = suite.token_for("citizen-wang", &[Role::Citizen], COUNTY);
    let county_operator = suite.token(&[Role::Operator], COUNTY);
    let township_operator = suite.token(&[Role::Operator], TOWNSHIP);

    // Started on v1 (nothing published yet); it waits for the funeral home to cremate.
    let first = client(&suite)
        .start_case(suite.request(after_death("r-1", deceased(1)), &citizen))
        .await
        .expect("start")
        .into_inner();
    assert_eq!(first.plan_version, 1);
    wait_until(&suite, &citizen, &first.name, |c| {
        c.steps
            .iter()
            .any(|s| s.name == "funeral_disposal" && s.summary.contains("waiting"))
    })
    .await;

    // v2 is published by an operator of the whole county (a township operator may not).
    let versions = client(&suite)
        .list_plan_versions(suite.request(
            pb::ListPlanVersionsRequest {
                kind: pb::MatterKind::AfterDeath as i32,
            },
            &county_operator,
        ))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(current(&versions), [1]);
    assert_eq!(versions.versions.len(), 2);
    let denied = client(&suite)
        .publish_plan_version(suite.request(publish(2), &township_operator))
        .await
        .expect_err("a township operator does not publish");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let published = client(&suite)
        .publish_plan_version(suite.request(publish(2), &county_operator))
        .await
        .expect("publish")
        .into_inner();
    assert_eq!(current(&published), [2]);
    let v2 = &published.versions[1];
    assert!(v2.published_at_ms > 0 && v2.steps.contains(&"family_id_card".to_owned()));
    let unknown = client(&suite)
        .publish_plan_version(suite.request(publish(9), &county_operator))
        .await
        .expect_err("no version 9");
    assert_eq!(
        reason(&unknown).as_deref(),
        Some("ONEMATTER_UNKNOWN_PLAN_VERSION")
    );

    // A new case takes v2, with its 补件 step.
    let second = client(&suite)
        .start_case(suite.request(after_death("r-2", deceased(2)), &citizen))
        .await
        .expect("start")
        .into_inner();
    assert_eq!(second.plan_version, 2);
    assert!(step_names(&second).contains(&"family_id_card"));

    // The first case finishes on v1: its steps, no 补件.
    funeral_home.cremate();
    publish_cremation_completed(&suite, &deceased(1)).await;
    let done = wait_until(&suite, &citizen, &first.name, |c| {
        c.state() != pb::CaseState::Running
    })
    .await;
    assert_eq!(done.state(), pb::CaseState::Completed, "{done:?}");
    assert_eq!(done.plan_version, 1);
    assert_eq!(step_names(&done), V1_STEPS);
}

#[tokio::test]
async fn a_fork_reruns_only_the_steps_after_the_fork_point() {
    let double = Double::default();
    script_after_death(&double, &Funeral::cremated());
    let suite = suite(&double, |_| {}).await;
    let citizen = suite.token_for("citizen-wang", &[Role::Citizen], COUNTY);
    let operator = suite.token(&[Role::Operator], COUNTY);
    let original = client(&suite)
        .start_case(suite.request(after_death("r-1", deceased(1)), &citizen))
        .await
        .expect("start")
        .into_inner();
    let original = wait_until(&suite, &citizen, &original.name, |c| {
        c.state() == pb::CaseState::Completed
    })
    .await;

    let fork = |step: &str, request_id: &str| {
        suite.request(
            pb::ForkCaseRequest {
                request_id: request_id.into(),
                name: original.name.clone(),
                step: step.into(),
            },
            &operator,
        )
    };
    let refused = client(&suite)
        .fork_case(fork("no_such_step", "f-0"))
        .await
        .expect_err("unknown step");
    assert_eq!(reason(&refused).as_deref(), Some("ONEMATTER_UNKNOWN_STEP"));
    let denied = client(&suite)
        .fork_case(suite.request(
            pb::ForkCaseRequest {
                request_id: "f-c".into(),
                name: original.name.clone(),
                step: "household_deregistration".into(),
            },
            &citizen,
        ))
        .await
        .expect_err("citizens do not fork");
    assert_eq!(denied.code(), Code::PermissionDenied);

    let forked = client(&suite)
        .fork_case(fork("household_deregistration", "f-1"))
        .await
        .expect("fork")
        .into_inner();
    assert_ne!(forked.name, original.name);
    assert_eq!(forked.forked_from, original.name);
    assert_eq!(forked.fork_step, "household_deregistration");
    assert_eq!(forked.plan_version, original.plan_version);
    // The same request again answers the same fork (no second one).
    let again = client(&suite)
        .fork_case(fork("household_deregistration", "f-1"))
        .await
        .expect("again")
        .into_inner();
    assert_eq!(again.name, forked.name);

    let done = wait_until(&suite, &citizen, &forked.name, |c| {
        c.state() == pb::CaseState::Completed
    })
    .await;
    for s in &done.steps {
        let reused = s.summary.starts_with("reused: ");
        assert_eq!(
            reused,
            s.name != "household_deregistration",
            "{}: {}",
            s.name,
            s.summary
        );
    }
    // Only the fork point ran again (with its own idempotency key); nothing before it.
    assert_eq!(
        double.calls("HouseholdRegisterService/DeregisterDeceased"),
        2
    );
    for method in [
        "FuneralService/RegisterDeath",
        "FuneralService/DecideFeeWaiver",
        "AssistanceService/TerminateForDeath",
        "EldercareService/StopForDeath",
        "MarriageService/RecordDeath",
        "SocialOrgService/OpenRepresentativeChangeTask",
        "SocialInsuranceService/StopPensionForDeath",
        "MedicalInsuranceService/EndEnrolmentForDeath",
    ] {
        assert_eq!(double.calls(method), 1, "{method}");
    }
    // Both directions of the link are on the cases.
    let original = get(&suite, &operator, &original.name).await;
    assert_eq!(original.forks, std::slice::from_ref(&forked.name));
    assert_eq!(original.state(), pb::CaseState::Completed);
}
