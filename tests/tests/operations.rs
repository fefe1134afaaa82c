//! What an operator of the one-matter aggregator sees and does, on the whole suite: outside
//! systems that stay down park the case with the reason; once they are back, RetryStep finishes
//! it. And two aggregator replicas on one PostgreSQL database share the work without running
//! any step twice.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use auth::Role;
use common::*;
use contracts::civil::external::v1 as ext;
use contracts::civil::onematter::v1 as pb;
use kit::testing::TestSuite;

/// The back-off of the outside steps is minutes to hours; a test cannot wait for it. This moves
/// the stored instant of the next attempt of every waiting step of the case to now, as if the
/// back-off had passed (the executor compares it with the store's clock).
async fn let_backoff_pass(suite: &TestSuite, case: &str) {
    let db = suite.db("onematter").await;
    sqlx::query("UPDATE case_steps SET next_run_at_ms = 0 WHERE case_id = $1 AND state = 'ready'")
        .bind(case_id(case))
        .execute(&db.pool)
        .await
        .expect("move the back-off");
    db.pool.close().await;
}

#[tokio::test]
async fn outside_systems_that_stay_down_park_the_case_and_the_operator_retries_once_they_are_back()
{
    let outside = Outside::start().await;
    // The household register is unreachable, the pension system fails inside.
    outside.double.on(
        HOUSEHOLD,
        |_: ext::DeregisterDeceasedRequest| -> Result<ext::HouseholdReceipt, tonic::Status> {
            Err(tonic::Status::unavailable("public security gateway down"))
        },
    );
    outside.double.on(
        PENSION,
        |_: ext::StopPensionForDeathRequest| -> Result<ext::PensionStop, tonic::Status> {
            Err(tonic::Status::internal("pension system error"))
        },
    );
    let suite = spawn_suite(&outside, |_| {}).await;
    let staff = Staff::of(&suite);
    let people = People::new(4);
    let seeded = seed(&suite, &staff, &people).await;
    let death = register_death(&suite, &staff, &people).await;
    let name = wait_for_cases(&suite, &staff, 1).await[0].name.clone();

    // Let every back-off pass until both steps have used up their attempts.
    let deadline = Instant::now() + Duration::from_secs(60);
    let parked = loop {
        let case = get_case(&suite, &staff.operator, &name).await;
        if count_steps(&case, pb::StepState::Failed) == 2 {
            break case;
        }
        assert!(Instant::now() < deadline, "not parked: {case:#?}");
        let_backoff_pass(&suite, &name).await;
        tokio::time::sleep(Duration::from_millis(30)).await;
    };
    assert_eq!(parked.state(), pb::CaseState::Parked, "{parked:#?}");
    assert!(
        parked.reason.contains("household_deregistration")
            || parked.reason.contains("pension_stop"),
        "the reason names the step: {}",
        parked.reason
    );
    for (name, code) in [
        ("household_deregistration", "Unavailable"),
        ("pension_stop", "Internal"),
    ] {
        let s = step(&parked, name);
        assert_eq!(s.attempts, s.max_attempts, "{name}: {s:?}");
        assert_eq!(s.max_attempts, 10, "outside systems get 10 attempts");
        assert!(
            s.last_error.contains(code) && s.last_error.contains("after 10 attempts"),
            "{name}: {}",
            s.last_error
        );
    }
    assert!(
        parked.reason.contains("after 10 attempts"),
        "{}",
        parked.reason
    );
    assert_eq!(
        count_steps(&parked, pb::StepState::Succeeded),
        8,
        "the rest finished"
    );
    assert_eq!(outside.calls(HOUSEHOLD), 10);
    assert_eq!(outside.calls(PENSION), 10);
    assert_eq!(outside.calls(MEDICAL), 1);

    // The systems are back; the operator (and only an operator) retries both steps.
    outside.script_household_ok();
    outside.script_pension_ok();
    let retry = |step: &str, request_id: &str| {
        suite.request(
            pb::RetryStepRequest {
                request_id: request_id.into(),
                name: name.clone(),
                step: step.into(),
            },
            &staff.operator,
        )
    };
    let citizen = suite.token(&[Role::Citizen], COUNTY);
    assert_eq!(
        onematter(&suite)
            .retry_step(suite.request(
                pb::RetryStepRequest {
                    request_id: "op-0".into(),
                    name: name.clone(),
                    step: "pension_stop".into(),
                },
                &citizen,
            ))
            .await
            .expect_err("only operators")
            .code(),
        tonic::Code::PermissionDenied
    );
    let after_first = onematter(&suite)
        .retry_step(retry("household_deregistration", "op-1"))
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(
        after_first.state(),
        pb::CaseState::Parked,
        "still parked while another step has failed"
    );
    let after_second = onematter(&suite)
        .retry_step(retry("pension_stop", "op-2"))
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(after_second.state(), pb::CaseState::Running);

    let done = settle(&suite, &staff.operator, &name).await;
    assert_eq!(done.state(), pb::CaseState::Completed, "{done:#?}");
    assert_eq!(done.reason, "");
    for name in ["household_deregistration", "pension_stop"] {
        let s = step(&done, name);
        assert_eq!(
            (s.state(), s.attempts),
            (pb::StepState::Succeeded, 1),
            "fresh attempts: {s:?}"
        );
    }
    assert_eq!(outside.calls(HOUSEHOLD), 11);
    assert_eq!(outside.calls(PENSION), 11);
    assert_after_death_effects(&suite, &staff, &people, &seeded, &death.name).await;
    assert_effects_once(&suite, &outside).await;

    let err = onematter(&suite)
        .retry_step(retry("pension_stop", "op-3"))
        .await
        .expect_err("finished");
    assert_eq!(
        kit::error::reason_of(&err).as_deref(),
        Some("ONEMATTER_CASE_FINISHED")
    );
}

/// Two aggregator replicas (each a whole suite process) on one PostgreSQL database: 200 family
/// applications, split between them, all complete; every step ran exactly once (attempts are
/// counted at claim), both replicas did work, and every receiver saw each effect once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_one_postgres_database_complete_200_cases_without_running_a_step_twice() {
    if std::env::var("CIVIL_TEST_PG").map_or(true, |v| v.is_empty()) {
        eprintln!("skipped: two replicas need PostgreSQL (set CIVIL_TEST_PG)");
        return;
    }
    const CASES: u32 = 200;
    let outside = Outside::start().await;
    let first = spawn_suite(&outside, |_| {}).await;
    // The second replica: same database schemas and keys, its own process state.
    let (prefix, data_dir) = (
        first.config.db_schema_prefix.clone(),
        first.config.data_dir.clone(),
    );
    let second = spawn_suite(&outside, move |c| {
        c.db_schema_prefix = prefix;
        c.data_dir = data_dir;
    })
    .await;
    let started = Instant::now();
    let names: Vec<String> = {
        use futures::StreamExt;
        let replicas = [&first, &second];
        let calls = (0..CASES).map(|n| {
            let suite = replicas[n as usize % 2];
            async move {
                let family = suite.token_for(&format!("family-{n}"), &[Role::Citizen], COUNTY);
                let people = People::new(n + 10);
                // The funeral home registers the death and cremates (the certificate household
                // deregistration waits for); the family's application joins the case.
                register_death(suite, &Staff::of(suite), &people).await;
                onematter(suite)
                    .start_case(suite.request(people.start_case(&format!("apply-{n}")), &family))
                    .await
                    .expect("application")
                    .into_inner()
                    .name
            }
        });
        futures::stream::iter(calls)
            .buffer_unordered(16)
            .collect()
            .await
    };
    assert_eq!(names.len(), CASES as usize);

    // Who holds the leases of running steps (settling a step clears its holder).
    let db = first.db("onematter").await;
    let mut holders = std::collections::HashSet::new();
    // Not a speed check (that is the after-death bench): the cases must keep completing, so the
    // test fails on a stall, not on a slow shared machine.
    let (mut seen, mut progressed) = (-1_i64, Instant::now());
    loop {
        let running: Vec<String> =
            sqlx::query_scalar("SELECT leased_by FROM case_steps WHERE state = 'running'")
                .fetch_all(&db.pool)
                .await
                .expect("lease holders");
        holders.extend(running);
        let completed = count(
            &first,
            "onematter",
            "SELECT COUNT(*) FROM cases WHERE state = 'completed'",
        )
        .await;
        if completed == i64::from(CASES) {
            break;
        }
        let stuck = count(
            &first,
            "onematter",
            "SELECT COUNT(*) FROM cases WHERE state NOT IN ('running', 'completed')",
        )
        .await;
        assert_eq!(stuck, 0, "a case parked or failed");
        if completed > seen {
            (seen, progressed) = (completed, Instant::now());
        }
        assert!(
            progressed.elapsed() < Duration::from_secs(60),
            "no case completed for 60 s: {completed} of {CASES} cases completed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "{CASES} cases completed by two replicas in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let steps = i64::from(CASES) * 10;
    let q = |sql: &'static str| count(&first, "onematter", sql);
    assert_eq!(
        q("SELECT COUNT(*) FROM case_steps WHERE state = 'succeeded'").await,
        steps
    );
    assert_eq!(
        q("SELECT COALESCE(MAX(attempts), 0) FROM case_steps").await,
        1,
        "no step was claimed twice"
    );
    assert_eq!(
        q("SELECT CAST(COALESCE(SUM(attempts), 0) AS BIGINT) FROM case_steps").await,
        steps
    );
    // The funeral step may look twice (it waits, without spending an attempt, when it runs
    // before the funeral home's cremation is committed); every other step started once.
    assert_eq!(
        q("SELECT COUNT(*) FROM case_events WHERE kind = 'step_started' AND step <> 'funeral_disposal'").await,
        steps - i64::from(CASES)
    );
    db.pool.close().await;
    assert_eq!(holders.len(), 2, "both replicas ran steps: {holders:?}");
    let cases = i64::from(CASES);
    assert_eq!(
        count(&first, "funeral", "SELECT COUNT(*) FROM death_cases").await,
        cases
    );
    assert_eq!(
        count(&first, "funeral", "SELECT COUNT(*) FROM fee_waivers").await,
        cases
    );
    assert_eq!(
        count(&first, "assistance", "SELECT COUNT(*) FROM deaths").await,
        cases
    );
    let per_method: HashMap<&str, usize> = OUTSIDE_AFTER_DEATH
        .iter()
        .map(|m| (*m, outside.calls(m)))
        .collect();
    for method in OUTSIDE_AFTER_DEATH {
        assert_eq!(
            per_method[method], CASES as usize,
            "{method} once per case: {per_method:?}"
        );
    }
    assert_eq!(outside.household.len(), CASES as usize);
    assert_eq!(outside.pension.len(), CASES as usize);
    assert_eq!(outside.medical.len(), CASES as usize);
    // The death events of the cases the families started joined them: no second case.
    assert_eq!(
        q("SELECT COUNT(*) FROM cases").await,
        cases,
        "one case per deceased person"
    );
    second.stop().await;
    first.stop().await;
}
