//! The portal API through gRPC, with the aggregator running its workflows against test doubles
//! of every service it calls (real tonic servers on a free port). SQLite by default, PostgreSQL
//! when `CIVIL_TEST_PG` is set.

mod doubles;

use std::time::Duration;

use contracts::civil::assistance::v1 as assistance;
use contracts::civil::common::v1::{Date, PersonRef};
use contracts::civil::eldercare::v1 as eldercare;
use contracts::civil::external::v1 as ext;
use contracts::civil::funeral::v1 as funeral;
use contracts::civil::marriage::v1 as marriage;
use contracts::civil::onematter::v1 as pb;
use contracts::civil::socialorg::v1 as socialorg;
use doubles::Double;
use kit::testing::{Role, TestSuite};
use pb::one_matter_service_client::OneMatterServiceClient;
use tonic::Code;

const UPSTREAMS: [&str; 9] = [
    "funeral",
    "assistance",
    "eldercare",
    "marriage",
    "socialorg",
    "household_register",
    "social_insurance",
    "medical_insurance",
    "birth_service",
];

/// A valid 居民身份证号 from its first 17 characters.
fn id(body: &str) -> String {
    let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .chars()
        .zip(weights)
        .map(|(c, w)| c.to_digit(10).expect("digit") * w)
        .sum();
    format!(
        "{body}{}",
        "10X98765432"
            .chars()
            .nth((sum % 11) as usize)
            .expect("check")
    )
}

fn deceased() -> PersonRef {
    PersonRef {
        id_number: id("33072319400101001"),
        name: "王大明".into(),
    }
}

fn declarant() -> PersonRef {
    PersonRef {
        id_number: id("33072319700202002"),
        name: "王小明".into(),
    }
}

fn after_death(request_id: &str, person: PersonRef) -> pb::StartCaseRequest {
    pb::StartCaseRequest {
        request_id: request_id.into(),
        kind: pb::MatterKind::AfterDeath as i32,
        declarant: Some(declarant()),
        declarant_relationship: "child".into(),
        region: "330723001".into(),
        after_death: Some(pb::AfterDeathMatter {
            deceased: Some(person),
            certificate: Some(funeral::DeathCertificate {
                issuer: funeral::CertificateIssuer::Medical as i32,
                number: "YX-2026-001".into(),
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
        }),
        ..Default::default()
    }
}

fn death_case(
    person: Option<PersonRef>,
    certificate: Option<funeral::DeathCertificate>,
) -> funeral::DeathCase {
    funeral::DeathCase {
        name: "cases/funeral-1".into(),
        deceased: person,
        certificate,
        region: "330723001".into(),
        state: funeral::CaseState::Registered as i32,
        ..Default::default()
    }
}

/// Scripts every call of the after-death matter with a normal answer.
fn script_after_death(d: &Double) {
    d.on(
        "FuneralService/RegisterDeath",
        |r: funeral::RegisterDeathRequest| Ok(death_case(r.deceased, r.certificate)),
    );
    d.on(
        "FuneralService/GetDeathCase",
        |_: funeral::GetDeathCaseRequest| {
            Ok(death_case(
                Some(deceased()),
                Some(funeral::DeathCertificate {
                    number: "YX-2026-001".into(),
                    date_of_death: Some(Date {
                        year: 2026,
                        month: 1,
                        day: 5,
                    }),
                    ..Default::default()
                }),
            ))
        },
    );
    d.on(
        "FuneralService/DecideFeeWaiver",
        |r: funeral::DecideFeeWaiverRequest| {
            Ok(funeral::FeeWaiver {
                death_case: r.death_case,
                waived: true,
                grounds: vec![funeral::WaiverGround::MinimumLivingAllowance as i32],
                ..Default::default()
            })
        },
    );
    d.on(
        "AssistanceService/TerminateForDeath",
        |_: assistance::TerminateForDeathRequest| {
            Ok(assistance::TerminateForDeathResponse {
                effects: vec![assistance::DeathEffect {
                    benefit_id: "b1".into(),
                    outcome: assistance::DeathOutcome::Terminated as i32,
                    effective_month: "2026-02".into(),
                    ..Default::default()
                }],
            })
        },
    );
    d.on(
        "EldercareService/StopForDeath",
        |_: eldercare::StopForDeathRequest| {
            Ok(eldercare::StopForDeathResponse {
                elder_known: true,
                allowance_stopped: true,
                bed_released: false,
                last_paid_month: None,
            })
        },
    );
    d.on(
        "MarriageService/RecordDeath",
        |r: marriage::RecordDeathRequest| {
            Ok(marriage::DeathRecord {
                person: r.person,
                date_of_death: r.date_of_death,
                widowed_spouse: Some(PersonRef {
                    id_number: "x".into(),
                    name: "spouse".into(),
                }),
                marriage_certificate_number: "J330723-1990-000001".into(),
            })
        },
    );
    d.on(
        "SocialOrgService/ListByLegalRepresentative",
        |_: socialorg::ListByLegalRepresentativeRequest| {
            let org = |id: &str, status: socialorg::OrganisationStatus| socialorg::Organisation {
                organisation_id: id.into(),
                status: status as i32,
                ..Default::default()
            };
            Ok(socialorg::ListByLegalRepresentativeResponse {
                organisations: vec![
                    org("org-active", socialorg::OrganisationStatus::Active),
                    org("org-gone", socialorg::OrganisationStatus::Deregistered),
                ],
            })
        },
    );
    d.on(
        "SocialOrgService/OpenRepresentativeChangeTask",
        |r: socialorg::OpenRepresentativeChangeTaskRequest| {
            Ok(socialorg::RepresentativeChangeTask {
                task_id: "t1".into(),
                organisation_id: r.organisation_id,
                reason: r.reason,
                status: socialorg::TaskStatus::Open as i32,
                opened_at_ms: 1,
            })
        },
    );
    d.on(
        "HouseholdRegisterService/DeregisterDeceased",
        |_: ext::DeregisterDeceasedRequest| {
            Ok(ext::HouseholdReceipt {
                receipt_id: "hr1".into(),
                state: ext::ReceiptState::Accepted as i32,
                accepted_at_ms: 1,
            })
        },
    );
    d.on(
        "SocialInsuranceService/StopPensionForDeath",
        |_: ext::StopPensionForDeathRequest| {
            Ok(ext::PensionStop {
                insured: true,
                stopped_from_month: "2026-02".into(),
                survivor_benefits_claimable: true,
            })
        },
    );
    d.on(
        "MedicalInsuranceService/EndEnrolmentForDeath",
        |_: ext::EndEnrolmentForDeathRequest| {
            Ok(ext::EnrolmentEnd {
                enrolled: true,
                covered_until: None,
            })
        },
    );
}

async fn suite_with(double: &Double) -> TestSuite {
    let url = double.serve().await;
    kit::testing::spawn_with(&[onematter::SERVICE], move |c| {
        for name in UPSTREAMS {
            c.upstreams.insert(name.to_owned(), url.clone());
        }
        c.extra.insert("onematter_poll_ms".into(), "20".into());
    })
    .await
}

fn client(suite: &TestSuite) -> OneMatterServiceClient<tonic::transport::Channel> {
    OneMatterServiceClient::new(suite.channel.clone())
}

/// Reads the case until it stops running (or 15 s pass).
async fn settle(suite: &TestSuite, token: &str, name: &str) -> pb::Case {
    for _ in 0..300 {
        let case = client(suite)
            .get_case(suite.request(pb::GetCaseRequest { name: name.into() }, token))
            .await
            .expect("get")
            .into_inner();
        if !matches!(
            case.state(),
            pb::CaseState::Running | pb::CaseState::Compensating
        ) {
            return case;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("case {name} did not settle");
}

/// Verifies the audit chain once the read-audit writer has flushed (auth::audit::verify reads
/// rows and head in two statements, so a batch committing in between looks truncated).
async fn verify_audit(suite: &TestSuite) {
    tokio::time::sleep(Duration::from_millis(300)).await;
    let db = suite.db("onematter").await;
    let rows = auth::audit::verify(&db.pool)
        .await
        .expect("audit chain verifies");
    assert!(rows > 0);
}

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

#[tokio::test]
async fn an_after_death_case_calls_every_bureau_and_outside_system_once_and_completes() {
    let double = Double::default();
    script_after_death(&double);
    let suite = suite_with(&double).await;
    let citizen = suite.token_for("citizen-wang", &[Role::Citizen], "330723");
    let mut start = suite.request(after_death("r-1", deceased()), &citizen);
    start.metadata_mut().insert(
        "traceparent",
        format!("00-{TRACE_ID}-00f067aa0ba902b7-01")
            .parse()
            .expect("ascii"),
    );
    let started = client(&suite)
        .start_case(start)
        .await
        .expect("start")
        .into_inner();
    assert_eq!(started.state(), pb::CaseState::Running);
    assert_eq!(started.applicant, "citizen-wang");

    let case = settle(&suite, &citizen, &started.name).await;
    assert_eq!(case.state(), pb::CaseState::Completed, "{case:?}");
    assert_eq!(case.steps.len(), 9);
    assert!(
        case.steps
            .iter()
            .all(|s| s.state() == pb::StepState::Succeeded && s.attempts == 1),
        "{:?}",
        case.steps
    );
    let socialorg = case
        .steps
        .iter()
        .find(|s| s.name == "socialorg_representatives")
        .expect("step");
    assert_eq!(
        socialorg.summary, "1 representative-change task(s) opened",
        "the deregistered organisation is left alone"
    );

    for method in [
        "FuneralService/RegisterDeath",
        "FuneralService/DecideFeeWaiver",
        "AssistanceService/TerminateForDeath",
        "EldercareService/StopForDeath",
        "MarriageService/RecordDeath",
        "SocialOrgService/ListByLegalRepresentative",
        "SocialOrgService/OpenRepresentativeChangeTask",
        "HouseholdRegisterService/DeregisterDeceased",
        "SocialInsuranceService/StopPensionForDeath",
        "MedicalInsuranceService/EndEnrolmentForDeath",
    ] {
        assert_eq!(double.calls(method), 1, "{method}");
    }
    for seen in double.seen() {
        assert!(
            seen.authorized,
            "{} carries the aggregator's credential",
            seen.method
        );
        assert_eq!(
            seen.on_behalf_of, "citizen-wang",
            "{} names the applicant",
            seen.method
        );
        assert!(
            seen.traceparent.starts_with(&format!("00-{TRACE_ID}-")),
            "{} continues the StartCase trace: {:?}",
            seen.method,
            seen.traceparent
        );
    }
    // Identity numbers are masked in the portal's view.
    let text = format!("{case:?}");
    assert!(!text.contains(&deceased().id_number) && !text.contains(&declarant().id_number));
    assert_eq!(case.subject.as_ref().map(|p| p.name.as_str()), Some("王**"));
    verify_audit(&suite).await;
}

#[tokio::test]
async fn start_case_is_idempotent_by_request_id_and_one_per_deceased_person() {
    let double = Double::default();
    let suite = suite_with(&double).await;
    let citizen = suite.token_for("citizen-wang", &[Role::Citizen], "330723");
    let other = suite.token_for("citizen-li", &[Role::Citizen], "330723");
    let first = client(&suite)
        .start_case(suite.request(after_death("r-1", deceased()), &citizen))
        .await
        .expect("start")
        .into_inner();
    let again = client(&suite)
        .start_case(suite.request(after_death("r-1", deceased()), &citizen))
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(first.name, again.name);

    let mut changed = after_death("r-1", deceased());
    changed.declarant_relationship = "spouse".into();
    let err = client(&suite)
        .start_case(suite.request(changed, &citizen))
        .await
        .expect_err("reused id");
    assert_eq!(
        kit::error::reason_of(&err).as_deref(),
        Some("REQUEST_ID_REUSED")
    );

    let same_person = client(&suite)
        .start_case(suite.request(after_death("r-2", deceased()), &citizen))
        .await
        .expect("own case")
        .into_inner();
    assert_eq!(
        same_person.name, first.name,
        "no second case for the same person"
    );
    let err = client(&suite)
        .start_case(suite.request(after_death("r-3", deceased()), &other))
        .await
        .expect_err("someone else's");
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(
        kit::error::reason_of(&err).as_deref(),
        Some("ONEMATTER_CASE_EXISTS")
    );

    let db = suite.db("onematter").await;
    let n: i64 = sqlx::Row::try_get(
        &sqlx::query("SELECT COUNT(*) AS n FROM cases")
            .fetch_one(&db.pool)
            .await
            .expect("count"),
        "n",
    )
    .expect("n");
    assert_eq!(n, 1);
}

#[tokio::test]
async fn bad_input_is_refused_with_every_field_named_and_never_echoed() {
    let double = Double::default();
    let suite = suite_with(&double).await;
    let citizen = suite.token(&[Role::Citizen], "330723");
    let mut req = after_death(
        "r-1",
        PersonRef {
            id_number: "330723194001010010".into(),
            name: String::new(),
        },
    );
    req.region = "110101".into();
    req.declarant_relationship = String::new();
    let err = client(&suite)
        .start_case(suite.request(req, &citizen))
        .await
        .expect_err("invalid");
    assert_eq!(err.code(), Code::InvalidArgument);
    let fields = kit::error::violated_fields(&err);
    for f in [
        "region",
        "declarant_relationship",
        "after_death.deceased.name",
        "after_death.deceased.id_number",
    ] {
        assert!(fields.contains(&f.to_owned()), "{f} in {fields:?}");
    }
    assert!(!err.message().contains("330723194001010010"));

    let no_kind = pb::StartCaseRequest {
        request_id: "r-2".into(),
        kind: 0,
        ..after_death("r-2", deceased())
    };
    let err = client(&suite)
        .start_case(suite.request(no_kind, &citizen))
        .await
        .expect_err("kind");
    assert!(kit::error::violated_fields(&err).contains(&"kind".to_owned()));
}

#[tokio::test]
async fn citizens_see_their_own_cases_and_operators_the_cases_of_their_region() {
    let double = Double::default();
    let suite = suite_with(&double).await;
    let wang = suite.token_for("citizen-wang", &[Role::Citizen], "330723");
    let li = suite.token_for("citizen-li", &[Role::Citizen], "330723");
    let operator = suite.token(&[Role::Operator], "330723001");
    let neighbour = suite.token(&[Role::Operator], "330724");
    let registrar = suite.token(&[Role::Registrar], "330723");

    let a = client(&suite)
        .start_case(suite.request(after_death("r-1", deceased()), &wang))
        .await
        .expect("a")
        .into_inner();
    let second = PersonRef {
        id_number: id("33072319410303003"),
        name: "王二".into(),
    };
    let b = client(&suite)
        .start_case(suite.request(after_death("r-2", second), &wang))
        .await
        .expect("b")
        .into_inner();
    let get = |token: &str| {
        suite.request(
            pb::GetCaseRequest {
                name: a.name.clone(),
            },
            token,
        )
    };

    assert!(client(&suite).get_case(get(&wang)).await.is_ok());
    assert!(client(&suite).get_case(get(&operator)).await.is_ok());
    for token in [&li, &neighbour, &registrar] {
        let err = client(&suite)
            .get_case(get(token))
            .await
            .expect_err("denied");
        assert_eq!(err.code(), Code::PermissionDenied);
    }
    let err = client(&suite)
        .get_case(suite.request(
            pb::GetCaseRequest {
                name: "cases/nope".into(),
            },
            &wang,
        ))
        .await
        .expect_err("missing");
    assert_eq!(err.code(), Code::NotFound);

    let page = |token: &str, page_token: &str| {
        suite.request(
            pb::ListCasesRequest {
                page_size: 1,
                page_token: page_token.into(),
                ..Default::default()
            },
            token,
        )
    };
    let first = client(&suite)
        .list_cases(page(&wang, ""))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(first.cases.len(), 1);
    assert_eq!(first.cases[0].name, b.name, "newest first");
    let rest = client(&suite)
        .list_cases(page(&wang, &first.next_page_token))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(
        rest.cases
            .iter()
            .map(|c| c.name.clone())
            .collect::<Vec<_>>(),
        vec![a.name.clone()]
    );
    assert!(rest.next_page_token.is_empty());
    assert!(
        client(&suite)
            .list_cases(page(&li, ""))
            .await
            .expect("list")
            .into_inner()
            .cases
            .is_empty()
    );
    let by_state = pb::ListCasesRequest {
        state: pb::CaseState::Completed as i32,
        ..Default::default()
    };
    assert!(
        client(&suite)
            .list_cases(suite.request(by_state, &operator))
            .await
            .expect("list")
            .into_inner()
            .cases
            .is_empty()
    );
    let outside = pb::ListCasesRequest {
        region: "330724".into(),
        ..Default::default()
    };
    assert_eq!(
        client(&suite)
            .list_cases(suite.request(outside, &operator))
            .await
            .expect_err("scope")
            .code(),
        Code::PermissionDenied
    );
}

#[tokio::test]
async fn watch_case_streams_every_update_until_the_case_finishes() {
    let double = Double::default();
    script_after_death(&double);
    let suite = suite_with(&double).await;
    let citizen = suite.token(&[Role::Citizen], "330723");
    let case = client(&suite)
        .start_case(suite.request(after_death("r-1", deceased()), &citizen))
        .await
        .expect("start")
        .into_inner();
    let mut stream = client(&suite)
        .watch_case(suite.request(
            pb::WatchCaseRequest {
                name: case.name.clone(),
                after_seq: 0,
            },
            &citizen,
        ))
        .await
        .expect("watch")
        .into_inner();
    let mut updates = Vec::new();
    while let Some(u) = tokio::time::timeout(Duration::from_secs(15), stream.message())
        .await
        .expect("in time")
        .expect("stream")
    {
        updates.push(u);
    }
    assert_eq!(
        updates.first().map(|u| u.kind.as_str()),
        Some("case_started")
    );
    assert_eq!(
        updates.last().map(|u| u.kind.as_str()),
        Some("case_completed")
    );
    assert_eq!(
        updates.last().map(|u| u.case_state()),
        Some(pb::CaseState::Completed)
    );
    assert!(
        updates.windows(2).all(|w| w[1].seq == w[0].seq + 1),
        "gapless"
    );
    assert_eq!(
        updates
            .iter()
            .filter(|u| u.kind == "step_succeeded")
            .count(),
        9
    );

    let stranger = suite.token(&[Role::Citizen], "330723");
    let err = client(&suite)
        .watch_case(suite.request(
            pb::WatchCaseRequest {
                name: case.name,
                after_seq: 0,
            },
            &stranger,
        ))
        .await
        .expect_err("denied");
    assert_eq!(err.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn a_refused_step_parks_the_case_until_an_operator_resumes_it() {
    let double = Double::default();
    script_after_death(&double);
    double.on(
        "SocialInsuranceService/StopPensionForDeath",
        |_: ext::StopPensionForDeathRequest| -> Result<ext::PensionStop, tonic::Status> {
            Err(kit::to_status(kit::ServiceError::refused(
                "SOCIAL_INSURANCE_OVERPAID",
                "pension for 2026-02 was paid",
            )))
        },
    );
    let suite = suite_with(&double).await;
    let citizen = suite.token(&[Role::Citizen], "330723");
    let operator = suite.token_for("operator-zhao", &[Role::Operator], "330723");
    let case = client(&suite)
        .start_case(suite.request(after_death("r-1", deceased()), &citizen))
        .await
        .expect("start")
        .into_inner();
    let mut parked = settle(&suite, &citizen, &case.name).await;
    assert_eq!(parked.state(), pb::CaseState::Parked);
    // Independent steps still finish while the case waits for the operator.
    for _ in 0..200 {
        if parked
            .steps
            .iter()
            .filter(|s| s.state() == pb::StepState::Succeeded)
            .count()
            == 8
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        parked = settle(&suite, &citizen, &case.name).await;
    }
    assert!(
        parked.reason.contains("pension_stop")
            && parked.reason.contains("SOCIAL_INSURANCE_OVERPAID"),
        "{}",
        parked.reason
    );
    let step = parked
        .steps
        .iter()
        .find(|s| s.name == "pension_stop")
        .expect("step");
    assert_eq!(
        (step.state(), step.attempts),
        (pb::StepState::Failed, 1),
        "a refusal is not retried"
    );
    assert_eq!(
        parked
            .steps
            .iter()
            .filter(|s| s.state() == pb::StepState::Succeeded)
            .count(),
        8,
        "the other steps finished"
    );

    let resume = |token: &str, request_id: &str| {
        suite.request(
            pb::ResumeCaseRequest {
                request_id: request_id.into(),
                name: case.name.clone(),
                note: "family repaid the pension".into(),
                completed_by_hand: vec![],
            },
            token,
        )
    };
    assert_eq!(
        client(&suite)
            .resume_case(resume(&citizen, "op-1"))
            .await
            .expect_err("role")
            .code(),
        Code::PermissionDenied
    );
    let empty_note = pb::ResumeCaseRequest {
        request_id: "op-0".into(),
        name: case.name.clone(),
        ..Default::default()
    };
    assert_eq!(
        client(&suite)
            .resume_case(suite.request(empty_note, &operator))
            .await
            .expect_err("note")
            .code(),
        Code::InvalidArgument
    );

    double.on(
        "SocialInsuranceService/StopPensionForDeath",
        |_: ext::StopPensionForDeathRequest| {
            Ok(ext::PensionStop {
                insured: true,
                stopped_from_month: "2026-02".into(),
                survivor_benefits_claimable: true,
            })
        },
    );
    let resumed = client(&suite)
        .resume_case(resume(&operator, "op-1"))
        .await
        .expect("resume")
        .into_inner();
    assert_eq!(resumed.state(), pb::CaseState::Running);
    let done = settle(&suite, &citizen, &case.name).await;
    assert_eq!(done.state(), pb::CaseState::Completed);
    assert_eq!(
        double.calls("SocialInsuranceService/StopPensionForDeath"),
        2
    );
    assert_eq!(
        double.calls("FuneralService/RegisterDeath"),
        1,
        "finished steps are not run again"
    );

    let again = client(&suite)
        .resume_case(resume(&operator, "op-2"))
        .await
        .expect_err("not parked");
    assert_eq!(
        kit::error::reason_of(&again).as_deref(),
        Some("ONEMATTER_CASE_NOT_PARKED")
    );
    let retry = pb::RetryStepRequest {
        request_id: "op-3".into(),
        name: case.name.clone(),
        step: "pension_stop".into(),
    };
    let err = client(&suite)
        .retry_step(suite.request(retry, &operator))
        .await
        .expect_err("finished");
    assert_eq!(
        kit::error::reason_of(&err).as_deref(),
        Some("ONEMATTER_CASE_FINISHED")
    );
    verify_audit(&suite).await;
}

#[tokio::test]
async fn operators_retry_a_failed_step_and_cancel_cases_of_their_region_only() {
    let double = Double::default();
    script_after_death(&double);
    double.on(
        "MarriageService/RecordDeath",
        |_: marriage::RecordDeathRequest| -> Result<marriage::DeathRecord, tonic::Status> {
            Err(tonic::Status::permission_denied("not yet allowed"))
        },
    );
    let suite = suite_with(&double).await;
    let citizen = suite.token(&[Role::Citizen], "330723");
    let operator = suite.token(&[Role::Operator], "330723");
    let neighbour = suite.token(&[Role::Operator], "330724");
    let case = client(&suite)
        .start_case(suite.request(after_death("r-1", deceased()), &citizen))
        .await
        .expect("start")
        .into_inner();
    assert_eq!(
        settle(&suite, &citizen, &case.name).await.state(),
        pb::CaseState::Parked
    );

    double.on(
        "MarriageService/RecordDeath",
        |r: marriage::RecordDeathRequest| {
            Ok(marriage::DeathRecord {
                person: r.person,
                date_of_death: r.date_of_death,
                widowed_spouse: None,
                marriage_certificate_number: String::new(),
            })
        },
    );
    let retry = |token: &str, step: &str| {
        suite.request(
            pb::RetryStepRequest {
                request_id: format!("retry-{step}"),
                name: case.name.clone(),
                step: step.into(),
            },
            token,
        )
    };
    assert_eq!(
        client(&suite)
            .retry_step(retry(&neighbour, "marriage_record_death"))
            .await
            .expect_err("region")
            .code(),
        Code::PermissionDenied
    );
    let err = client(&suite)
        .retry_step(retry(&operator, "pension_stop"))
        .await
        .expect_err("succeeded step");
    assert_eq!(
        kit::error::reason_of(&err).as_deref(),
        Some("ONEMATTER_STEP_NOT_RETRYABLE")
    );
    client(&suite)
        .retry_step(retry(&operator, "marriage_record_death"))
        .await
        .expect("retry");
    let done = settle(&suite, &citizen, &case.name).await;
    assert_eq!(done.state(), pb::CaseState::Completed);
    let step = done
        .steps
        .iter()
        .find(|s| s.name == "marriage_record_death")
        .expect("step");
    assert_eq!(step.summary, "no marriage in effect");

    // A second matter, cancelled while parked.
    double.on("EldercareService/StopForDeath", |_: eldercare::StopForDeathRequest| -> Result<eldercare::StopForDeathResponse, tonic::Status> {
        Err(kit::to_status(kit::ServiceError::refused("ELDERCARE_DEATH_DATE_CONFLICT", "another date is on record")))
    });
    let other = PersonRef {
        id_number: id("33072319410303003"),
        name: "王二".into(),
    };
    let second = client(&suite)
        .start_case(suite.request(after_death("r-2", other), &citizen))
        .await
        .expect("start")
        .into_inner();
    assert_eq!(
        settle(&suite, &citizen, &second.name).await.state(),
        pb::CaseState::Parked
    );
    let cancel = pb::CancelCaseRequest {
        request_id: "c-1".into(),
        name: second.name.clone(),
        reason: "duplicate declaration".into(),
    };
    assert_eq!(
        client(&suite)
            .cancel_case(suite.request(cancel.clone(), &citizen))
            .await
            .expect_err("role")
            .code(),
        Code::PermissionDenied
    );
    let cancelled = client(&suite)
        .cancel_case(suite.request(cancel.clone(), &operator))
        .await
        .expect("cancel")
        .into_inner();
    assert_eq!(cancelled.state(), pb::CaseState::Cancelled);
    assert!(cancelled.reason.contains("duplicate declaration"));
    let repeat = client(&suite)
        .cancel_case(suite.request(cancel, &operator))
        .await
        .expect("same request id")
        .into_inner();
    assert_eq!(repeat.state(), pb::CaseState::Cancelled);
}

fn marriage_matter(request_id: &str) -> pb::StartCaseRequest {
    let a = PersonRef {
        id_number: id("33072319950505005"),
        name: "张三".into(),
    };
    let b = PersonRef {
        id_number: id("33072319960606006"),
        name: "李四".into(),
    };
    pb::StartCaseRequest {
        request_id: request_id.into(),
        kind: pb::MatterKind::MarriageBirthHousehold as i32,
        declarant: Some(a.clone()),
        declarant_relationship: "self".into(),
        region: "330723001".into(),
        marriage_birth_household: Some(pb::MarriageBirthHouseholdMatter {
            marriage_certificate_number: "J330723-2026-000001".into(),
            party_a: Some(a),
            party_b: Some(b),
            register_birth_service: true,
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_marriage_matter_that_fails_outside_withdraws_what_it_changed() {
    let double = Double::default();
    double.on(
        "MarriageService/GetMarriage",
        |r: marriage::GetMarriageRequest| {
            let party = |p: PersonRef| {
                Some(marriage::CertificateParty {
                    person: Some(p),
                    ..Default::default()
                })
            };
            let m = marriage_matter("x")
                .marriage_birth_household
                .expect("matter");
            Ok(marriage::Marriage {
                certificate_number: r.certificate_number,
                party_a: party(m.party_a.expect("a")),
                party_b: party(m.party_b.expect("b")),
                state: marriage::MarriageState::InEffect as i32,
                registration_date: Some(Date {
                    year: 2026,
                    month: 5,
                    day: 20,
                }),
                ..Default::default()
            })
        },
    );
    double.on(
        "AssistanceService/GetRecipientStatus",
        |_: assistance::GetRecipientStatusRequest| Ok(assistance::RecipientStatus::default()),
    );
    double.on(
        "HouseholdRegisterService/UpdateMaritalStatus",
        |_: ext::UpdateMaritalStatusRequest| {
            Ok(ext::HouseholdReceipt {
                receipt_id: "hr-9".into(),
                state: ext::ReceiptState::Accepted as i32,
                accepted_at_ms: 1,
            })
        },
    );
    double.on(
        "HouseholdRegisterService/WithdrawChange",
        |r: ext::WithdrawChangeRequest| {
            assert_eq!(
                r.receipt_id, "hr-9",
                "the receipt of the change is withdrawn"
            );
            Ok(ext::HouseholdReceipt {
                receipt_id: r.receipt_id,
                state: ext::ReceiptState::Withdrawn as i32,
                accepted_at_ms: 1,
            })
        },
    );
    double.on(
        "BirthService/RegisterCouple",
        |_: ext::RegisterCoupleRequest| -> Result<ext::BirthServiceRegistration, tonic::Status> {
            Err(kit::to_status(kit::ServiceError::refused(
                "BIRTH_SERVICE_NOT_MARRIED",
                "certificate unknown to the health commission",
            )))
        },
    );
    let suite = suite_with(&double).await;
    let citizen = suite.token(&[Role::Citizen], "330723");
    let case = client(&suite)
        .start_case(suite.request(marriage_matter("m-1"), &citizen))
        .await
        .expect("start")
        .into_inner();
    let done = settle(&suite, &citizen, &case.name).await;
    assert_eq!(done.state(), pb::CaseState::Compensated, "{done:?}");
    assert!(
        done.reason.contains("BIRTH_SERVICE_NOT_MARRIED"),
        "{}",
        done.reason
    );
    let household = done
        .steps
        .iter()
        .find(|s| s.name == "household_register_update")
        .expect("step");
    assert_eq!(household.state(), pb::StepState::Compensated);
    assert_eq!(
        double.calls("HouseholdRegisterService/UpdateMaritalStatus"),
        1
    );
    assert_eq!(double.calls("HouseholdRegisterService/WithdrawChange"), 1);
    assert_eq!(
        double.calls("BirthService/CancelRegistration"),
        0,
        "nothing registered, nothing to cancel"
    );
}

/// Publishes a death registration as funeral would (through the outbox relay onto the bus).
async fn publish_death_registered(suite: &TestSuite, person: &PersonRef) {
    use base64::Engine as _;
    use prost::Message;
    let sealer = kit::pii::Sealer::from_config(&suite.config).expect("sealer");
    let index = sealer.index(&civil_id::IdNumber::parse(&person.id_number).expect("id"));
    let event = funeral::DeathRegistered {
        event_id: String::new(),
        death_case: "cases/funeral-1".into(),
        person_index: index,
        date_of_death: Some(Date {
            year: 2026,
            month: 1,
            day: 5,
        }),
        region: "330723001".into(),
    };
    let db = suite.db("onematter").await;
    sqlx::query(
        "INSERT INTO outbox (id, topic, event_type, event_key, payload, traceparent, created_at_ms, published_at_ms)
         VALUES ($1, 'funeral.death_registered', 'civil.funeral.v1.DeathRegistered', 'funeral-1', $2, '', $3, NULL)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(base64::engine::general_purpose::STANDARD.encode(event.encode_to_vec()))
    .bind(kit::now_ms())
    .execute(&db.pool)
    .await
    .expect("publish");
}

#[tokio::test]
async fn a_death_registered_in_funeral_starts_the_case_once_and_the_family_joins_it() {
    let double = Double::default();
    script_after_death(&double);
    let suite = suite_with(&double).await;
    let operator = suite.token(&[Role::Operator], "330723");
    let citizen = suite.token_for("citizen-wang", &[Role::Citizen], "330723");
    publish_death_registered(&suite, &deceased()).await;

    let mut cases = Vec::new();
    for _ in 0..200 {
        cases = client(&suite)
            .list_cases(suite.request(pb::ListCasesRequest::default(), &operator))
            .await
            .expect("list")
            .into_inner()
            .cases;
        if !cases.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(cases.len(), 1, "started without application");
    assert_eq!(cases[0].origin, "funeral.death_registered");
    assert_eq!(cases[0].applicant, "");
    let done = settle(&suite, &operator, &cases[0].name).await;
    assert_eq!(done.state(), pb::CaseState::Completed, "{done:?}");
    assert_eq!(
        double.calls("FuneralService/RegisterDeath"),
        0,
        "the death case exists: it is read, not registered again"
    );
    assert_eq!(double.calls("FuneralService/GetDeathCase"), 1);
    assert_eq!(double.calls("AssistanceService/TerminateForDeath"), 1);
    assert_eq!(
        done.subject.as_ref().map(|p| p.name.as_str()),
        Some("王**"),
        "the person learnt from funeral"
    );

    // The same death announced again (a second registration event) makes no second case.
    publish_death_registered(&suite, &deceased()).await;
    // The family applies: it joins the case and may now follow it.
    let joined = client(&suite)
        .start_case(suite.request(after_death("r-1", deceased()), &citizen))
        .await
        .expect("join")
        .into_inner();
    assert_eq!(joined.name, cases[0].name);
    assert_eq!(joined.applicant, "citizen-wang");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let all = client(&suite)
        .list_cases(suite.request(pb::ListCasesRequest::default(), &operator))
        .await
        .expect("list")
        .into_inner()
        .cases;
    assert_eq!(all.len(), 1);
    assert_eq!(
        double.calls("AssistanceService/TerminateForDeath"),
        1,
        "nothing twice"
    );
    client(&suite)
        .get_case(suite.request(pb::GetCaseRequest { name: joined.name }, &citizen))
        .await
        .expect("the family reads it");
}
