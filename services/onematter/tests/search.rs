//! SearchCases over gRPC: an operator's console search by matter, state, step, township,
//! creation dates and overdue, paged; every bad field at once; only the operator's region.
//!
//! The outside world here registers the death and answers nothing else (UNIMPLEMENTED, a
//! terminal failure), so every case parks at once with its death-case step done and the other
//! steps failed: cases an operator has to find.

mod doubles;

use std::time::Duration;

use contracts::civil::common::v1::{Date, PersonRef};
use contracts::civil::funeral::v1 as funeral;
use contracts::civil::onematter::v1 as pb;
use doubles::Double;
use kit::testing::{Role, TestSuite};
use pb::one_matter_service_client::OneMatterServiceClient;
use tonic::Code;

const COUNTY: &str = "330723";
const TOWNSHIP_A: &str = "330723001";
const TOWNSHIP_B: &str = "330723002";

fn id(body: &str) -> String {
    format!("{body}{}", civil_id::IdNumber::check_char(body))
}

fn person(n: u32) -> PersonRef {
    PersonRef {
        id_number: id(&format!("{COUNTY}19400101{:03}", 2 * n + 1)),
        name: "王大明".into(),
    }
}

fn after_death(n: u32, region: &str) -> pb::StartCaseRequest {
    pb::StartCaseRequest {
        request_id: format!("search-{n}"),
        kind: pb::MatterKind::AfterDeath as i32,
        declarant: Some(PersonRef {
            id_number: id(&format!("{COUNTY}19700202{:03}", 2 * n + 1)),
            name: "王小明".into(),
        }),
        declarant_relationship: "child".into(),
        region: region.into(),
        after_death: Some(pb::AfterDeathMatter {
            deceased: Some(person(n)),
            certificate: Some(funeral::DeathCertificate {
                issuer: funeral::CertificateIssuer::Medical as i32,
                number: format!("YX-SEARCH-{n}"),
                date_of_death: Some(Date {
                    year: 2026,
                    month: 1,
                    day: 5,
                }),
                place_of_death: "county hospital".into(),
                cause_class: funeral::CauseClass::Disease as i32,
            }),
            ethnicity: funeral::Ethnicity::Han as i32,
            death_case: String::new(),
            arrangement: None,
        }),
        ..Default::default()
    }
}

async fn suite() -> TestSuite {
    let double = Double::default();
    double.on(
        "FuneralService/RegisterDeath",
        |r: funeral::RegisterDeathRequest| {
            Ok(funeral::DeathCase {
                name: format!("cases/funeral-{}", r.request_id.len()),
                deceased: r.deceased,
                certificate: r.certificate,
                region: r.region,
                state: funeral::CaseState::Registered as i32,
                ..Default::default()
            })
        },
    );
    let url = double.serve().await;
    kit::testing::spawn_with(&[onematter::SERVICE], move |c| {
        for name in [
            "funeral",
            "assistance",
            "eldercare",
            "marriage",
            "socialorg",
            "household_register",
            "social_insurance",
            "medical_insurance",
            "birth_service",
        ] {
            c.upstreams.insert(name.to_owned(), url.clone());
        }
        c.extra.insert("onematter_poll_ms".into(), "20".into());
    })
    .await
}

fn client(suite: &TestSuite) -> OneMatterServiceClient<tonic::transport::Channel> {
    OneMatterServiceClient::new(suite.channel.clone())
}

/// Starts a case at the counter and waits until it parks.
async fn parked_case(suite: &TestSuite, operator: &str, n: u32, region: &str) -> pb::Case {
    let case = client(suite)
        .start_case(suite.request(after_death(n, region), operator))
        .await
        .expect("start")
        .into_inner();
    for _ in 0..300 {
        let now = client(suite)
            .get_case(suite.request(
                pb::GetCaseRequest {
                    name: case.name.clone(),
                },
                operator,
            ))
            .await
            .expect("get")
            .into_inner();
        if now.state() == pb::CaseState::Parked
            && now
                .steps
                .iter()
                .all(|s| !matches!(s.state(), pb::StepState::Ready | pb::StepState::Running))
        {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("case {} did not park", case.name);
}

async fn search(
    suite: &TestSuite,
    token: &str,
    req: pb::SearchCasesRequest,
) -> Result<pb::SearchCasesResponse, tonic::Status> {
    client(suite)
        .search_cases(suite.request(req, token))
        .await
        .map(|r| r.into_inner())
}

fn names(r: &pb::SearchCasesResponse) -> Vec<&str> {
    r.cases.iter().map(|c| c.name.as_str()).collect()
}

#[tokio::test]
async fn an_operator_finds_cases_by_matter_state_step_township_dates_and_overdue_page_by_page() {
    let suite = suite().await;
    let operator = suite.token(&[Role::Operator], COUNTY);
    let a = parked_case(&suite, &operator, 1, TOWNSHIP_A).await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let b = parked_case(&suite, &operator, 2, TOWNSHIP_B).await;
    let all = |r: pb::SearchCasesRequest| search(&suite, &operator, r);

    // Everything in the operator's county, newest first, without steps, masked.
    let found = all(pb::SearchCasesRequest::default())
        .await
        .expect("search");
    assert_eq!(names(&found), [b.name.as_str(), a.name.as_str()]);
    assert!(found.cases.iter().all(|c| c.steps.is_empty()));
    let shown = format!("{found:?}");
    for n in [1, 2] {
        assert!(
            !shown.contains(&person(n).id_number),
            "identity numbers masked"
        );
    }

    // By township; by matter; by case state.
    let r = all(pb::SearchCasesRequest {
        region: TOWNSHIP_A.into(),
        ..Default::default()
    })
    .await
    .expect("by township");
    assert_eq!(names(&r), [a.name.as_str()]);
    let r = all(pb::SearchCasesRequest {
        kind: pb::MatterKind::MarriageBirthHousehold as i32,
        ..Default::default()
    })
    .await
    .expect("by matter");
    assert!(r.cases.is_empty());
    let r = all(pb::SearchCasesRequest {
        kind: pb::MatterKind::AfterDeath as i32,
        state: pb::CaseState::Parked as i32,
        ..Default::default()
    })
    .await
    .expect("by state");
    assert_eq!(r.cases.len(), 2);
    let r = all(pb::SearchCasesRequest {
        state: pb::CaseState::Running as i32,
        ..Default::default()
    })
    .await
    .expect("by state");
    assert!(r.cases.is_empty());

    // By a step and its state.
    let by_step = |step: &str, state: pb::StepState| pb::SearchCasesRequest {
        step: step.into(),
        step_state: state as i32,
        ..Default::default()
    };
    let r = all(by_step("pension_stop", pb::StepState::Failed))
        .await
        .expect("by step");
    assert_eq!(r.cases.len(), 2);
    let r = all(by_step("funeral_death_case", pb::StepState::Succeeded))
        .await
        .expect("by step");
    assert_eq!(r.cases.len(), 2);
    let r = all(by_step("pension_stop", pb::StepState::Succeeded))
        .await
        .expect("by step");
    assert!(r.cases.is_empty());

    // By creation time: from B on is B; before B is A.
    let r = all(pb::SearchCasesRequest {
        created_from_ms: b.created_at_ms,
        ..Default::default()
    })
    .await
    .expect("from");
    assert_eq!(names(&r), [b.name.as_str()]);
    let r = all(pb::SearchCasesRequest {
        created_before_ms: b.created_at_ms,
        ..Default::default()
    })
    .await
    .expect("before");
    assert_eq!(names(&r), [a.name.as_str()]);

    // Page by page; a token is bound to its search.
    let first = all(pb::SearchCasesRequest {
        page_size: 1,
        ..Default::default()
    })
    .await
    .expect("page 1");
    assert_eq!(names(&first), [b.name.as_str()]);
    assert!(!first.next_page_token.is_empty());
    let second = all(pb::SearchCasesRequest {
        page_size: 1,
        page_token: first.next_page_token.clone(),
        ..Default::default()
    })
    .await
    .expect("page 2");
    assert_eq!(names(&second), [a.name.as_str()]);
    assert!(second.next_page_token.is_empty());
    let err = all(pb::SearchCasesRequest {
        page_size: 1,
        page_token: first.next_page_token,
        state: pb::CaseState::Parked as i32,
        ..Default::default()
    })
    .await
    .expect_err("token of another search");
    assert_eq!(err.code(), Code::InvalidArgument);

    // Overdue: nothing yet; eight days later the failed steps are past their deadlines
    // (three days for the bureaus' steps, seven for the outside systems').
    let overdue = pb::SearchCasesRequest {
        overdue: true,
        ..Default::default()
    };
    assert!(
        all(overdue.clone())
            .await
            .expect("overdue")
            .cases
            .is_empty()
    );
    suite.clock.advance(time::Duration::days(8));
    let r = all(overdue).await.expect("overdue");
    assert_eq!(names(&r), [b.name.as_str(), a.name.as_str()]);
}

#[tokio::test]
async fn every_bad_field_is_named_at_once() {
    let suite = suite().await;
    let operator = suite.token(&[Role::Operator], COUNTY);
    let err = search(
        &suite,
        &operator,
        pb::SearchCasesRequest {
            page_size: -1,
            step: "no_such_step".into(),
            step_state: pb::StepState::Compensating as i32,
            created_from_ms: 10,
            created_before_ms: 5,
            ..Default::default()
        },
    )
    .await
    .expect_err("invalid");
    assert_eq!(err.code(), Code::InvalidArgument);
    let details = tonic_types::StatusExt::get_details_bad_request(&err).expect("BadRequest");
    let mut fields: Vec<&str> = details
        .field_violations
        .iter()
        .map(|f| f.field.as_str())
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        ["created_before_ms", "page_size", "step", "step_state"]
    );
    let err = search(
        &suite,
        &operator,
        pb::SearchCasesRequest {
            step_state: pb::StepState::Failed as i32,
            ..Default::default()
        },
    )
    .await
    .expect_err("a step state needs its step");
    assert_eq!(err.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn only_operators_search_and_only_within_their_region() {
    let suite = suite().await;
    let county = suite.token(&[Role::Operator], COUNTY);
    let a = parked_case(&suite, &county, 1, TOWNSHIP_A).await;
    let b = parked_case(&suite, &county, 2, TOWNSHIP_B).await;

    let township = suite.token(&[Role::Operator], TOWNSHIP_B);
    let r = search(&suite, &township, pb::SearchCasesRequest::default())
        .await
        .expect("own township");
    assert_eq!(names(&r), [b.name.as_str()]);
    assert!(!names(&r).contains(&a.name.as_str()));
    let err = search(
        &suite,
        &township,
        pb::SearchCasesRequest {
            region: TOWNSHIP_A.into(),
            ..Default::default()
        },
    )
    .await
    .expect_err("another township");
    assert_eq!(err.code(), Code::PermissionDenied);

    let citizen = suite.token(&[Role::Citizen], COUNTY);
    let err = search(&suite, &citizen, pb::SearchCasesRequest::default())
        .await
        .expect_err("citizens do not search");
    assert_eq!(err.code(), Code::PermissionDenied);
}

async fn batch(
    suite: &TestSuite,
    token: &str,
    req: pb::BatchOperateCasesRequest,
) -> Result<pb::BatchOperateCasesResponse, tonic::Status> {
    client(suite)
        .batch_operate_cases(suite.request(req, token))
        .await
        .map(|r| r.into_inner())
}

/// Audit rows of the batch action naming `case`.
async fn batch_audits(suite: &TestSuite, case: &str) -> i64 {
    let db = suite.db("onematter").await;
    sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM audit_log WHERE object = $1 AND action LIKE '%BatchOperateCases%'",
    )
    .bind(case)
    .fetch_one(&db.pool)
    .await
    .expect("count")
}

async fn events(suite: &TestSuite, case: &str, kind: &str) -> i64 {
    let db = suite.db("onematter").await;
    sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM case_events WHERE case_id = $1 AND kind = $2",
    )
    .bind(case.trim_start_matches("cases/"))
    .bind(kind)
    .fetch_one(&db.pool)
    .await
    .expect("count")
}

#[tokio::test]
async fn a_batch_retries_then_cancels_the_cases_a_search_selects_each_audited_once() {
    let suite = suite().await;
    let operator = suite.token_for("operator-zhao", &[Role::Operator], COUNTY);
    let a = parked_case(&suite, &operator, 1, TOWNSHIP_A).await;
    let b = parked_case(&suite, &operator, 2, TOWNSHIP_A).await;
    let c = parked_case(&suite, &operator, 3, TOWNSHIP_B).await;
    let in_a = pb::SearchCasesRequest {
        region: TOWNSHIP_A.into(),
        state: pb::CaseState::Parked as i32,
        ..Default::default()
    };

    // Retry the failed steps of the parked cases of township A: both, not C.
    let retry = pb::BatchOperateCasesRequest {
        request_id: "batch-retry-1".into(),
        search: Some(in_a.clone()),
        action: pb::BatchAction::RetryFailedSteps as i32,
        note: String::new(),
    };
    let first = batch(&suite, &operator, retry.clone())
        .await
        .expect("batch retry");
    let outcome = |r: &pb::BatchOperateCasesResponse| -> Vec<(String, bool)> {
        r.outcomes
            .iter()
            .map(|o| (o.case.clone(), o.applied))
            .collect()
    };
    assert_eq!(
        outcome(&first),
        [(b.name.clone(), true), (a.name.clone(), true)]
    );
    assert_eq!(first.applied_count, 2);
    let failed_steps = a
        .steps
        .iter()
        .filter(|s| s.state() == pb::StepState::Failed)
        .count() as i64;
    assert!(failed_steps > 0);
    assert_eq!(
        events(&suite, &a.name, "step_retry_requested").await,
        failed_steps,
        "every failed step of the case asked again"
    );
    assert_eq!(events(&suite, &c.name, "step_retry_requested").await, 0);
    assert_eq!(batch_audits(&suite, &a.name).await, 1);
    assert_eq!(batch_audits(&suite, &b.name).await, 1);
    assert_eq!(batch_audits(&suite, &c.name).await, 0);

    // The same request again: the first answer, nothing done twice.
    let again = batch(&suite, &operator, retry).await.expect("replayed");
    assert_eq!(again, first);
    assert_eq!(
        events(&suite, &a.name, "step_retry_requested").await,
        failed_steps
    );
    assert_eq!(batch_audits(&suite, &a.name).await, 1);

    // Cancel everything in the county: C (parked) and A, B (parked again or running) are
    // cancelled; a second cancel finds them finished and leaves them.
    for case in [&a, &b] {
        parked_case_again(&suite, &operator, &case.name).await;
    }
    let cancel = |id: &str| pb::BatchOperateCasesRequest {
        request_id: id.into(),
        search: Some(pb::SearchCasesRequest::default()),
        action: pb::BatchAction::Cancel as i32,
        note: "家属撤回申请".into(),
    };
    let cancelled = batch(&suite, &operator, cancel("batch-cancel-1"))
        .await
        .expect("cancel");
    assert_eq!(cancelled.applied_count, 3, "{cancelled:?}");
    let twice = batch(&suite, &operator, cancel("batch-cancel-2"))
        .await
        .expect("cancel again");
    assert_eq!(twice.applied_count, 0);
    assert!(
        twice
            .outcomes
            .iter()
            .all(|o| o.reason == "ONEMATTER_CASE_FINISHED"),
        "{twice:?}"
    );
    assert_eq!(
        batch_audits(&suite, &c.name).await,
        1,
        "refusals change nothing"
    );

    // Resume needs a parked case: none is left.
    let resume = batch(
        &suite,
        &operator,
        pb::BatchOperateCasesRequest {
            request_id: "batch-resume-1".into(),
            search: Some(pb::SearchCasesRequest::default()),
            action: pb::BatchAction::Resume as i32,
            note: "补齐材料".into(),
        },
    )
    .await
    .expect("resume");
    assert_eq!(resume.applied_count, 0);
}

/// Waits until the case parks again after a retry (the outside world still refuses).
async fn parked_case_again(suite: &TestSuite, operator: &str, name: &str) {
    for _ in 0..300 {
        let now = client(suite)
            .get_case(suite.request(pb::GetCaseRequest { name: name.into() }, operator))
            .await
            .expect("get")
            .into_inner();
        if now.state() == pb::CaseState::Parked {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("case {name} did not park again");
}

#[tokio::test]
async fn a_batch_names_every_bad_field_and_stays_in_the_operators_region() {
    let suite = suite().await;
    let operator = suite.token(&[Role::Operator], TOWNSHIP_B);
    let err = batch(
        &suite,
        &operator,
        pb::BatchOperateCasesRequest {
            request_id: "bad-1".into(),
            search: Some(pb::SearchCasesRequest {
                step: "no_such_step".into(),
                ..Default::default()
            }),
            action: pb::BatchAction::Unspecified as i32,
            note: String::new(),
        },
    )
    .await
    .expect_err("invalid");
    assert_eq!(err.code(), Code::InvalidArgument);
    let details = tonic_types::StatusExt::get_details_bad_request(&err).expect("BadRequest");
    let mut fields: Vec<&str> = details
        .field_violations
        .iter()
        .map(|f| f.field.as_str())
        .collect();
    fields.sort_unstable();
    assert_eq!(fields, ["action", "search.step"]);
    let err = batch(
        &suite,
        &operator,
        pb::BatchOperateCasesRequest {
            request_id: "bad-2".into(),
            search: Some(pb::SearchCasesRequest::default()),
            action: pb::BatchAction::Cancel as i32,
            note: String::new(),
        },
    )
    .await
    .expect_err("a cancellation needs its reason");
    assert_eq!(err.code(), Code::InvalidArgument);
    let err = batch(
        &suite,
        &operator,
        pb::BatchOperateCasesRequest {
            request_id: "far-1".into(),
            search: Some(pb::SearchCasesRequest {
                region: TOWNSHIP_A.into(),
                ..Default::default()
            }),
            action: pb::BatchAction::Cancel as i32,
            note: "x".into(),
        },
    )
    .await
    .expect_err("another township");
    assert_eq!(err.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn an_operator_finds_a_persons_cases_by_the_blind_index_with_a_stated_purpose_only() {
    let suite = suite().await;
    let operator = suite.token(&[Role::Operator], COUNTY);
    let a = parked_case(&suite, &operator, 1, TOWNSHIP_A).await;
    let _b = parked_case(&suite, &operator, 2, TOWNSHIP_B).await;
    let lookup = |number: &str, purpose: &str| pb::SearchCasesRequest {
        person_id_number: number.into(),
        lookup_purpose: purpose.into(),
        ..Default::default()
    };
    let purpose = "家属持户口簿到窗口查询";

    // The deceased (the subject) finds their case; so does the declarant of that case.
    let found = search(&suite, &operator, lookup(&person(1).id_number, purpose))
        .await
        .expect("by the deceased");
    assert_eq!(names(&found), [a.name.as_str()]);
    let declarant = after_death(1, TOWNSHIP_A).declarant.expect("declarant");
    let found = search(&suite, &operator, lookup(&declarant.id_number, purpose))
        .await
        .expect("by the declarant");
    assert_eq!(names(&found), [a.name.as_str()]);
    let nobody = PersonRef {
        id_number: id(&format!("{COUNTY}19500505{:03}", 9)),
        name: String::new(),
    };
    let found = search(&suite, &operator, lookup(&nobody.id_number, purpose))
        .await
        .expect("a person without cases");
    assert!(found.cases.is_empty());

    // No purpose, or a number that is not one: refused, naming the fields, never echoing it.
    let err = search(&suite, &operator, lookup(&person(1).id_number, ""))
        .await
        .expect_err("no purpose");
    assert_eq!(err.code(), Code::InvalidArgument);
    let details = format!("{err:?}");
    assert!(details.contains("lookup_purpose"));
    assert!(!details.contains(&person(1).id_number));
    let good = person(1).id_number;
    let wrong_check = if good.ends_with('1') { '2' } else { '1' };
    let wrong = format!("{}{wrong_check}", &good[..17]);
    let err = search(&suite, &operator, lookup(&wrong, purpose))
        .await
        .expect_err("bad number");
    assert!(format!("{err:?}").contains("person_id_number"));
    assert!(!format!("{err:?}").contains(&wrong));

    // The audit names the blind index and the purpose, never the number.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sealer = kit::pii::Sealer::from_config(&suite.config).expect("sealer");
    let index = sealer.index(&civil_id::IdNumber::parse(&person(1).id_number).expect("id"));
    let db = suite.db("onematter").await;
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT object, purpose FROM audit_log WHERE action LIKE '%SearchCases%' AND object = $1",
    )
    .bind(format!("person:{index}"))
    .fetch_all(&db.pool)
    .await
    .expect("audit");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].1.contains(purpose));
    let leaked: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE object LIKE $1 OR purpose LIKE $1",
    )
    .bind(format!("%{}%", person(1).id_number))
    .fetch_one(&db.pool)
    .await
    .expect("count");
    assert_eq!(leaked, 0);
}
