//! gRPC tests of the funeral service through `kit::testing`: what a funeral home, the
//! aggregator and an auditor would check. SQLite by default; PostgreSQL with `CIVIL_TEST_PG`.

#[path = "support/env.rs"]
mod env;

use contracts::civil::assistance::v1::{BenefitKind, BenefitState};
use contracts::civil::common::v1::PersonRef;
use contracts::civil::funeral::v1 as pb;
use env::*;
use kit::error::{reason_of, violated_fields};
use kit::testing::Role;
use prost::Message;
use sqlx::Row;
use tonic::Code;

#[tokio::test]
async fn a_death_is_registered_once_and_its_event_starts_the_after_death_matter() {
    let env = start(&[]).await;
    let person = id(P1);
    let case = env
        .register("r1", &person, pb::Ethnicity::Han)
        .await
        .expect("registered");
    assert!(case.name.starts_with("cases/"));
    assert_eq!(case.state(), pb::CaseState::Registered);
    assert_eq!(
        case.deceased.as_ref().map(|d| d.id_number.as_str()),
        Some(person.as_str()),
        "a funeral home sees the full number"
    );

    // The same request again: the first answer.
    let again = env
        .register("r1", &person, pb::Ethnicity::Han)
        .await
        .expect("retry");
    assert_eq!(again.name, case.name);
    // Another request for the same person: ALREADY_EXISTS naming the case.
    let dup = env
        .register("r2", &person, pb::Ethnicity::Han)
        .await
        .expect_err("one case per person");
    assert_eq!(dup.code(), Code::AlreadyExists);
    assert!(dup.message().contains(&case.name));
    // The same request id with another body.
    let reused = env
        .register("r1", &id(P2), pb::Ethnicity::Han)
        .await
        .expect_err("reused id");
    assert_eq!(reused.code(), Code::FailedPrecondition);
    assert_eq!(reason_of(&reused).as_deref(), Some("REQUEST_ID_REUSED"));

    let events = env.outbox(funeral::TOPIC_DEATH_REGISTERED).await;
    assert_eq!(events.len(), 1, "one event for one death, retries included");
    let event = pb::DeathRegistered::decode(events[0].as_slice()).expect("decodes");
    assert_eq!(event.death_case, case.name);
    assert_eq!(event.date_of_death, date(today()));
    assert_eq!(event.region, TOWNSHIP);
    assert!(!event.person_index.is_empty() && !event.person_index.contains(&person[..10]));

    // Nothing personal in clear at rest; the audit chain holds.
    let db = env.suite.db("funeral").await;
    let row = sqlx::query("SELECT id_sealed, name_sealed FROM death_cases")
        .fetch_one(&db.pool)
        .await
        .expect("row");
    assert!(!row.get::<String, _>("id_sealed").contains(&person[..10]));
    assert!(!row.get::<String, _>("name_sealed").contains("王"));
    assert!(auth::audit::verify(&db.pool).await.expect("chain verifies") >= 1);
}

async fn verify(
    env: &Env,
    token: &str,
    deceased: pb::verify_declarant_request::Deceased,
    person: pb::verify_declarant_request::Person,
) -> Result<pb::VerifyDeclarantResponse, tonic::Status> {
    env.client()
        .verify_declarant(env.suite.request(
            pb::VerifyDeclarantRequest {
                deceased: Some(deceased),
                person: Some(person),
            },
            token,
        ))
        .await
        .map(|r| r.into_inner())
}

/// Defects #12 item 1: the declarant (申报人) is evidence the suite holds, so the aggregator can
/// decide who may start or join the after-death matter without trusting the caller's word.
#[tokio::test]
async fn the_declarant_is_recorded_with_the_death_and_the_aggregator_can_verify_it() {
    use pb::verify_declarant_request::{Deceased, Person};
    let env = start(&[]).await;
    let (deceased, child, stranger) = (id(P1), id(P2), id(P3));
    let case = env
        .client()
        .register_death(env.req(with_declarant(
            death("r1", &deceased, pb::Ethnicity::Han),
            &child,
            pb::DeclarantRelationship::Child,
        )))
        .await
        .expect("registered")
        .into_inner();
    let service = env.suite.token_for("onematter", &[Role::Service], COUNTY);

    // The aggregator reads the declarant on the case.
    let read = env
        .client()
        .get_death_case(env.suite.request(
            pb::GetDeathCaseRequest {
                name: case.name.clone(),
            },
            &service,
        ))
        .await
        .expect("service reads the case")
        .into_inner();
    let d = read.declarant.expect("declarant recorded");
    assert_eq!(d.relationship(), pb::DeclarantRelationship::Child);
    assert_eq!(
        d.person.as_ref().map(|p| p.id_number.as_str()),
        Some(child.as_str())
    );
    assert_eq!(d.person.as_ref().map(|p| p.name.as_str()), Some("王小某"));

    // By identity numbers: the child is the declarant, recorded at the funeral home's desk.
    let yes = verify(
        &env,
        &service,
        Deceased::DeceasedIdNumber(deceased.clone()),
        Person::PersonIdNumber(child.clone()),
    )
    .await
    .expect("verified");
    assert_eq!(yes.death_case, case.name);
    assert!(yes.declarant_recorded && yes.is_declarant && yes.recorded_at_desk);
    assert_eq!(yes.relationship(), pb::DeclarantRelationship::Child);

    // By blind indexes (as DeathRegistered carries them): a stranger is not the declarant.
    let sealer = kit::pii::Sealer::from_config(&env.suite.config).expect("sealer");
    let index = |n: &str| sealer.protect(&civil_id::IdNumber::parse(n).expect("id")).1;
    let no = verify(
        &env,
        &service,
        Deceased::DeceasedIndex(index(&deceased)),
        Person::PersonIndex(index(&stranger)),
    )
    .await
    .expect("answered");
    assert!(no.declarant_recorded && !no.is_declarant);
    assert_eq!(no.relationship(), pb::DeclarantRelationship::Unspecified);
    let by_case = verify(
        &env,
        &service,
        Deceased::DeathCase(case.name.clone()),
        Person::PersonIndex(index(&child)),
    )
    .await
    .expect("by case name");
    assert!(by_case.is_declarant);

    // Only the Service role, only within its region; an unknown deceased is NOT_FOUND.
    for token in [env.home.clone(), env.suite.token(&[Role::Citizen], COUNTY)] {
        let err = verify(
            &env,
            &token,
            Deceased::DeceasedIdNumber(deceased.clone()),
            Person::PersonIdNumber(child.clone()),
        )
        .await
        .expect_err("not the aggregator");
        assert_eq!(err.code(), Code::PermissionDenied);
    }
    let other_county = env.suite.token(&[Role::Service], "512021");
    let err = verify(
        &env,
        &other_county,
        Deceased::DeceasedIdNumber(deceased.clone()),
        Person::PersonIdNumber(child.clone()),
    )
    .await
    .expect_err("other county");
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = verify(
        &env,
        &service,
        Deceased::DeceasedIdNumber(id(P4)),
        Person::PersonIdNumber(child.clone()),
    )
    .await
    .expect_err("no case");
    assert_eq!(err.code(), Code::NotFound);
    let err = env
        .client()
        .verify_declarant(
            env.suite
                .request(pb::VerifyDeclarantRequest::default(), &service),
        )
        .await
        .expect_err("nothing named");
    assert_eq!(violated_fields(&err), vec!["deceased", "person"]);

    // A case registered without a declarant says so.
    env.register("r2", &id(P4), pb::Ethnicity::Han)
        .await
        .expect("registered without declarant");
    let none = verify(
        &env,
        &service,
        Deceased::DeceasedIdNumber(id(P4)),
        Person::PersonIdNumber(child),
    )
    .await
    .expect("answered");
    assert!(!none.declarant_recorded && !none.is_declarant);

    // The declarant is at rest sealed, found by blind index only.
    let db = env.suite.db("funeral").await;
    let row = sqlx::query("SELECT declarant_sealed, declarant_name_sealed FROM death_cases WHERE declarant_index <> ''")
        .fetch_one(&db.pool)
        .await
        .expect("row");
    assert!(
        !row.get::<String, _>("declarant_sealed")
            .contains(&id(P2)[..10])
    );
    assert!(!row.get::<String, _>("declarant_name_sealed").contains("王"));
}

#[tokio::test]
async fn a_declarant_is_validated_like_every_person_field() {
    let env = start(&[]).await;
    let m = with_declarant(
        death("r1", &id(P1), pb::Ethnicity::Han),
        "330723194005010010",
        pb::DeclarantRelationship::Unspecified,
    );
    let mut m = m;
    if let Some(d) = m.declarant.as_mut().and_then(|d| d.person.as_mut()) {
        d.name = " ".into();
    }
    let err = env
        .client()
        .register_death(env.req(m))
        .await
        .expect_err("invalid declarant");
    assert_eq!(
        violated_fields(&err),
        vec![
            "declarant.person.id_number",
            "declarant.person.name",
            "declarant.relationship"
        ]
    );
    let err = env
        .client()
        .register_death(env.req(with_declarant(
            death("r2", &id(P1), pb::Ethnicity::Han),
            &id(P1),
            pb::DeclarantRelationship::Child,
        )))
        .await
        .expect_err("the deceased cannot declare");
    assert_eq!(violated_fields(&err), vec!["declarant.person.id_number"]);
}

/// Pipeline #13 item 3: the existing case travels in the error details, not only in the text.
#[tokio::test]
async fn a_second_registration_names_the_existing_case_in_its_error_details() {
    use tonic_types::StatusExt;
    let env = start(&[]).await;
    let case = env
        .register("r1", &id(P1), pb::Ethnicity::Han)
        .await
        .expect("registered");
    let dup = env
        .register("r2", &id(P1), pb::Ethnicity::Han)
        .await
        .expect_err("one case per person");
    assert_eq!(dup.code(), Code::AlreadyExists);
    let info = dup.get_details_error_info().expect("error info");
    assert_eq!(info.reason, "FUNERAL_DEATH_CASE_EXISTS");
    assert_eq!(info.metadata.get("death_case"), Some(&case.name));
}

#[tokio::test]
async fn malformed_certificates_are_invalid_arguments_naming_each_field() {
    let env = start(&[]).await;
    let mut m = death("r1", "330723194005010010", pb::Ethnicity::Unspecified);
    if let Some(c) = m.certificate.as_mut() {
        c.issuer = 0;
        c.date_of_death = date(today().next_day().expect("tomorrow"));
    }
    m.region = "330724001".into();
    let err = env
        .client()
        .register_death(env.req(m))
        .await
        .expect_err("invalid");
    assert_eq!(err.code(), Code::InvalidArgument);
    let fields = violated_fields(&err);
    for f in [
        "deceased.id_number",
        "certificate.issuer",
        "region",
        "ethnicity",
    ] {
        assert!(fields.contains(&f.to_owned()), "{f} in {fields:?}");
    }
    let mut m = death("r2", &id(P1), pb::Ethnicity::Han);
    if let Some(c) = m.certificate.as_mut() {
        c.date_of_death = date(today().next_day().expect("tomorrow"));
    }
    let err = env
        .client()
        .register_death(env.req(m))
        .await
        .expect_err("future death");
    assert_eq!(violated_fields(&err), vec!["certificate.date_of_death"]);
}

#[tokio::test]
async fn wrong_role_or_region_is_permission_denied() {
    let env = start(&[]).await;
    let staff = env.suite.token(&[Role::EldercareStaff], COUNTY);
    let err = env
        .client()
        .register_death(
            env.suite
                .request(death("r1", &id(P1), pb::Ethnicity::Han), &staff),
        )
        .await
        .expect_err("role");
    assert_eq!(err.code(), Code::PermissionDenied);
    let elsewhere = env.suite.token(&[Role::FuneralHome], "330723002");
    let err = env
        .client()
        .register_death(
            env.suite
                .request(death("r2", &id(P1), pb::Ethnicity::Han), &elsewhere),
        )
        .await
        .expect_err("region");
    assert_eq!(err.code(), Code::PermissionDenied);

    let case = env
        .register("r3", &id(P1), pb::Ethnicity::Han)
        .await
        .expect("registered");
    let err = env
        .client()
        .get_death_case(env.suite.request(
            pb::GetDeathCaseRequest {
                name: case.name.clone(),
            },
            &elsewhere,
        ))
        .await
        .expect_err("other township");
    assert_eq!(err.code(), Code::PermissionDenied);
    let unauthenticated = env
        .client()
        .get_death_case(pb::GetDeathCaseRequest { name: case.name })
        .await
        .expect_err("no token");
    assert_eq!(unauthenticated.code(), Code::Unauthenticated);
}

/// Defects #12 item 3: a replayed request id is authorized exactly like a first call; only a
/// caller the RPC allows for that record gets the stored answer.
#[tokio::test]
async fn a_replayed_request_id_is_authorized_like_a_first_call() {
    let env = start(&[]).await;
    let first = death("r1", &id(P1), pb::Ethnicity::Han);
    let case = env
        .client()
        .register_death(env.req(first.clone()))
        .await
        .expect("registered")
        .into_inner();
    let custody = pb::RecordBodyCustodyRequest {
        request_id: "c1".into(),
        death_case: case.name.clone(),
        event: Some(pb::CustodyEvent {
            kind: pb::CustodyKind::Transport.into(),
            location: "县殡仪馆".into(),
            date: date(today()),
        }),
    };
    env.client()
        .record_body_custody(env.req(custody.clone()))
        .await
        .expect("recorded");
    for token in [
        env.suite.token(&[Role::FuneralHome], "330723002"),
        env.suite.token(&[Role::FuneralHome], "512021"),
        env.suite.token(&[Role::Service], "512021"),
        env.suite.token(&[Role::Citizen], COUNTY),
        env.suite.token(&[Role::Auditor], COUNTY),
        env.suite.token(&[Role::PlaceNameOfficer], COUNTY),
    ] {
        let err = env
            .client()
            .register_death(env.suite.request(first.clone(), &token))
            .await
            .expect_err("a replay by another caller is authorized first");
        assert_eq!(err.code(), Code::PermissionDenied);
        let err = env
            .client()
            .record_body_custody(env.suite.request(custody.clone(), &token))
            .await
            .expect_err("a replay by another caller is authorized first");
        assert_eq!(err.code(), Code::PermissionDenied);
    }
    // The original caller still gets the first answer.
    let again = env
        .client()
        .register_death(env.req(first))
        .await
        .expect("replay by the first caller")
        .into_inner();
    assert_eq!(again.name, case.name);
}

/// Brief decision 1: region scope runs before domain validation where the request names the
/// region, so a funeral home of another township learns nothing from field violations.
#[tokio::test]
async fn the_region_scope_is_checked_before_the_request_is_validated() {
    let env = start(&[]).await;
    let elsewhere = env.suite.token(&[Role::FuneralHome], "330723002");
    let mut m = death("r1", "not-a-number", pb::Ethnicity::Unspecified);
    m.certificate = None;
    let err = env
        .client()
        .register_death(env.suite.request(m, &elsewhere))
        .await
        .expect_err("outside the caller's region");
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(violated_fields(&err).is_empty());
    let cemetery = pb::RegisterCemeteryRequest {
        request_id: "c1".into(),
        display_name: String::new(),
        region: TOWNSHIP.into(),
        kind: 0,
        land_use: 0,
    };
    let err = env
        .client()
        .register_cemetery(env.suite.request(cemetery, &elsewhere))
        .await
        .expect_err("outside the caller's region");
    assert_eq!(err.code(), Code::PermissionDenied);
}

/// Defects #12 item 9: names and places are bounded and free of control characters.
#[tokio::test]
async fn names_and_places_are_bounded_and_free_of_control_characters() {
    let env = start(&[]).await;
    let mut m = with_declarant(
        death("r1", &id(P1), pb::Ethnicity::Han),
        &id(P2),
        pb::DeclarantRelationship::Child,
    );
    if let Some(d) = m.deceased.as_mut() {
        d.name = format!("王{}某", "\u{7}".repeat(3));
    }
    if let Some(c) = m.certificate.as_mut() {
        c.place_of_death = "院".repeat(100_000);
        c.number = "N".repeat(41);
    }
    if let Some(p) = m.declarant.as_mut().and_then(|d| d.person.as_mut()) {
        p.name = "李".repeat(200);
    }
    let err = env
        .client()
        .register_death(env.req(m))
        .await
        .expect_err("unbounded text");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&err),
        vec![
            "deceased.name",
            "certificate.number",
            "certificate.place_of_death",
            "declarant.person.name"
        ]
    );
    let cemetery = pb::RegisterCemeteryRequest {
        request_id: "c1".into(),
        display_name: "园".repeat(100_000),
        region: TOWNSHIP.into(),
        kind: pb::CemeteryKind::PublicWelfare.into(),
        land_use: pb::SiteLandUse::Designated.into(),
    };
    let err = env
        .client()
        .register_cemetery(env.req(cemetery))
        .await
        .expect_err("unbounded display name");
    assert_eq!(violated_fields(&err), vec!["display_name"]);
    // A long minority name within the bound is accepted.
    let mut m = death("r2", &id(P1), pb::Ethnicity::Uyghur);
    if let Some(d) = m.deceased.as_mut() {
        d.name = "阿依古丽·买买提·艾力".into();
    }
    env.client()
        .register_death(env.req(m))
        .await
        .expect("a real name fits");
}

#[tokio::test]
async fn the_fee_waiver_is_decided_from_assistance_records_per_benefit_kind_with_evidence() {
    let env = start(&[]).await;
    let (dibao, tekun, near, none) = (id(P1), id(P2), id(P3), id(P4));
    env.assistance.give(
        &dibao,
        BenefitKind::MinimumLivingAllowance,
        BenefitState::Active,
    );
    env.assistance.give(
        &tekun,
        BenefitKind::ExtremePovertySupport,
        BenefitState::PhaseOut,
    );
    env.assistance
        .give(&near, BenefitKind::NearThreshold, BenefitState::Active);
    env.assistance.give(
        &near,
        BenefitKind::MinimumLivingAllowance,
        BenefitState::Terminated,
    );

    let c1 = env
        .register("d1", &dibao, pb::Ethnicity::Han)
        .await
        .expect("case")
        .name;
    let w = waiver(&env, "w1", &c1).await.expect("decided");
    assert!(w.waived);
    assert_eq!(
        w.grounds().collect::<Vec<_>>(),
        vec![pb::WaiverGround::MinimumLivingAllowance]
    );
    let evidence = w.evidence.clone().expect("evidence");
    assert_eq!(evidence.source, "assistance");
    assert_eq!(
        evidence.benefit_kinds_seen,
        vec!["BENEFIT_KIND_MINIMUM_LIVING_ALLOWANCE"]
    );
    assert!(evidence.checked_at_ms > 0);
    assert_eq!(w.services.len(), 4);

    let c2 = env
        .register("d2", &tekun, pb::Ethnicity::Han)
        .await
        .expect("case")
        .name;
    let w = waiver(&env, "w2", &c2).await.expect("decided");
    assert_eq!(
        (w.waived, w.grounds().collect::<Vec<_>>()),
        (true, vec![pb::WaiverGround::ExtremePovertySupport])
    );

    let c3 = env
        .register("d3", &near, pb::Ethnicity::Han)
        .await
        .expect("case")
        .name;
    let w = waiver(&env, "w3", &c3).await.expect("decided");
    assert!(
        !w.waived,
        "near-threshold and a terminated allowance do not waive"
    );
    assert_eq!(
        w.evidence.expect("evidence").benefit_kinds_seen,
        vec!["BENEFIT_KIND_NEAR_THRESHOLD"]
    );

    let c4 = env
        .register("d4", &none, pb::Ethnicity::Han)
        .await
        .expect("case")
        .name;
    assert!(!waiver(&env, "w4", &c4).await.expect("decided").waived);

    // Assistance ended the allowance for the death before the waiver was asked: still waived.
    let ended = id("33072319440901005");
    env.assistance
        .ended_at_death(&ended, BenefitKind::MinimumLivingAllowance);
    let c5 = env
        .register("d5", &ended, pb::Ethnicity::Han)
        .await
        .expect("case")
        .name;
    let w = waiver(&env, "w6", &c5).await.expect("decided");
    assert_eq!(
        w.grounds().collect::<Vec<_>>(),
        vec![pb::WaiverGround::MinimumLivingAllowance]
    );

    // Assistance was asked with the service credential, on behalf of the funeral home's clerk.
    let calls = env.assistance.calls();
    assert_eq!(calls.len(), 5);
    assert!(calls.iter().all(|c| c.bearer
        && c.on_behalf_of == "funeral-home-1"
        && c.purpose == "funeral fee waiver"));

    // The decision stands: asking again does not call assistance again.
    let again = waiver(&env, "w5", &c1).await.expect("recorded");
    assert!(again.waived);
    assert_eq!(env.assistance.calls().len(), 5);
}

#[tokio::test]
async fn without_assistance_the_waiver_is_not_guessed_and_the_county_extension_applies() {
    let env = start(&[]).await;
    let case = env
        .register("d1", &id(P1), pb::Ethnicity::Han)
        .await
        .expect("case")
        .name;
    env.assistance.fail(true);
    let err = waiver(&env, "w1", &case)
        .await
        .expect_err("assistance down");
    assert_eq!(err.code(), Code::Unavailable);
    env.assistance.fail(false);
    env.assistance.give(
        &id(P1),
        BenefitKind::MinimumLivingAllowance,
        BenefitState::Active,
    );
    assert!(
        waiver(&env, "w1", &case)
            .await
            .expect("retry after recovery")
            .waived
    );

    let env = start(&[("waiver_extensions", "all_residents")]).await;
    let case = env
        .register("d1", &id(P2), pb::Ethnicity::Han)
        .await
        .expect("case")
        .name;
    let w = waiver(&env, "w1", &case).await.expect("decided");
    assert_eq!(
        w.grounds().collect::<Vec<_>>(),
        vec![pb::WaiverGround::AllResidents]
    );
    assert_eq!(w.evidence.expect("evidence").source, "county_policy");
    assert!(env.assistance.calls().is_empty());
}

#[tokio::test]
async fn a_furnace_slot_is_never_over_booked_and_cremation_issues_a_unique_certificate() {
    let env = start(&[("furnaces", "2"), ("slots_per_day", "4")]).await;
    let day = today().next_day().expect("tomorrow");
    let mut cases = Vec::new();
    for (i, p) in [P1, P2, P3, P4].iter().enumerate() {
        cases.push(
            env.register(&format!("d{i}"), &id(p), pb::Ethnicity::Han)
                .await
                .expect("case")
                .name,
        );
    }
    // Four concurrent bookings of one slot with two furnaces: exactly two succeed.
    let attempts = cases.iter().enumerate().map(|(i, c)| {
        let env = &env;
        async move { env.book(&format!("b{i}"), c, day, 1).await }
    });
    let results = futures::future::join_all(attempts).await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 2, "{results:?}");
    for r in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(reason_of(r).as_deref(), Some("FUNERAL_SLOT_FULL"));
    }
    let booked: Vec<_> = results
        .iter()
        .zip(&cases)
        .filter(|(r, _)| r.is_ok())
        .map(|(_, c)| c.clone())
        .collect();
    let unbooked: Vec<_> = results
        .iter()
        .zip(&cases)
        .filter(|(r, _)| r.is_err())
        .map(|(_, c)| c.clone())
        .collect();

    // Refusals with reasons.
    let err = env
        .book("x1", &booked[0], day, 2)
        .await
        .expect_err("booked twice");
    assert_eq!(reason_of(&err).as_deref(), Some("FUNERAL_ALREADY_BOOKED"));
    let err = env
        .book("x2", &unbooked[0], day, 5)
        .await
        .expect_err("slot 5 of 4");
    assert_eq!(reason_of(&err).as_deref(), Some("FUNERAL_SLOT_UNKNOWN"));
    let err = env
        .book(
            "x3",
            &unbooked[0],
            today().previous_day().expect("yesterday"),
            1,
        )
        .await
        .expect_err("past");
    assert_eq!(reason_of(&err).as_deref(), Some("FUNERAL_BOOKING_IN_PAST"));
    let err = env
        .cremate("x4", &unbooked[0])
        .await
        .expect_err("no booking");
    assert_eq!(reason_of(&err).as_deref(), Some("FUNERAL_NOT_BOOKED"));
    env.book("b9", &unbooked[0], day, 2)
        .await
        .expect("another slot has room");

    let first = env.cremate("c1", &booked[0]).await.expect("cremated");
    let second = env.cremate("c2", &booked[1]).await.expect("cremated");
    assert_eq!(
        first.number,
        format!("HZ{COUNTY}-{}-000001", today().year())
    );
    assert_ne!(first.number, second.number);
    assert_eq!(
        env.cremate("c1", &booked[0]).await.expect("retry").number,
        first.number
    );
    let err = env
        .cremate("c3", &booked[0])
        .await
        .expect_err("cremated already");
    assert_eq!(reason_of(&err).as_deref(), Some("FUNERAL_BODY_DISPOSED"));

    let events = env.outbox(funeral::TOPIC_CREMATION_COMPLETED).await;
    assert_eq!(events.len(), 2);
    let event = pb::CremationCompleted::decode(events[0].as_slice()).expect("decodes");
    assert_eq!(event.certificate_number, first.number);
    let case = env
        .client()
        .get_death_case(env.req(pb::GetDeathCaseRequest {
            name: booked[0].clone(),
        }))
        .await
        .expect("get")
        .into_inner();
    assert_eq!(case.cremation_certificate_number, first.number);
    assert_eq!(case.state(), pb::CaseState::Cremated);
}

async fn bury(
    env: &Env,
    request_id: &str,
    case: &str,
    region: &str,
) -> Result<pb::DeathCase, tonic::Status> {
    let m = pb::RecordBurialRequest {
        request_id: request_id.into(),
        death_case: case.into(),
        burial_region: region.into(),
        place: "山地".into(),
    };
    env.client()
        .record_burial(env.req(m))
        .await
        .map(|r| r.into_inner())
}

#[tokio::test]
async fn burial_in_a_cremation_zone_is_refused_unless_the_custom_exemption_applies() {
    let env = start(&[("zones", "330723105:burial_reform")]).await;
    let han = env
        .register("d1", &id(P1), pb::Ethnicity::Han)
        .await
        .expect("case")
        .name;
    let err = bury(&env, "b1", &han, TOWNSHIP)
        .await
        .expect_err("cremation zone");
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason_of(&err).as_deref(), Some("FUNERAL_CREMATION_ZONE"));
    let buried = bury(&env, "b2", &han, "330723105001")
        .await
        .expect("burial-reform zone");
    assert_eq!(buried.state(), pb::CaseState::Buried);

    let hui = env
        .register("d2", &id(P2), pb::Ethnicity::Hui)
        .await
        .expect("case")
        .name;
    env.book("k1", &hui, today(), 1)
        .await
        .expect("booked first");
    let buried = bury(&env, "b3", &hui, TOWNSHIP)
        .await
        .expect("exempt custom");
    assert_eq!(buried.state(), pb::CaseState::Buried);
    let err = bury(&env, "b4", &hui, TOWNSHIP)
        .await
        .expect_err("buried already");
    assert_eq!(reason_of(&err).as_deref(), Some("FUNERAL_BODY_DISPOSED"));

    let m = pb::RecordBodyCustodyRequest {
        request_id: "t1".into(),
        death_case: hui.clone(),
        event: Some(pb::CustodyEvent {
            kind: pb::CustodyKind::Transport.into(),
            location: "殡仪馆".into(),
            date: date(today()),
        }),
    };
    let err = env
        .client()
        .record_body_custody(env.req(m))
        .await
        .expect_err("no custody after burial");
    assert_eq!(reason_of(&err).as_deref(), Some("FUNERAL_BODY_DISPOSED"));
}

#[tokio::test]
async fn ashes_reach_an_eco_burial_or_a_plot_under_the_plot_rules() {
    let env = start(&[("eco_reward_sea_fen", "200000")]).await;
    let sea = env
        .register("d1", &id(P1), pb::Ethnicity::Han)
        .await
        .expect("case")
        .name;
    let eco = |rid: &str, case: &str| pb::RegisterEcoBurialRequest {
        request_id: rid.into(),
        death_case: case.into(),
        kind: pb::EcoBurialKind::Sea.into(),
        place: "东海".into(),
        date: date(today()),
    };
    let err = env
        .client()
        .register_eco_burial(env.req(eco("e1", &sea)))
        .await
        .expect_err("no ashes yet");
    assert_eq!(reason_of(&err).as_deref(), Some("FUNERAL_NOT_CREMATED"));
    env.book("k1", &sea, today(), 1).await.expect("booked");
    env.cremate("c1", &sea).await.expect("cremated");
    let e = env
        .client()
        .register_eco_burial(env.req(eco("e2", &sea)))
        .await
        .expect("eco")
        .into_inner();
    assert_eq!(e.reward_fen, 200_000);
    let err = env
        .client()
        .register_eco_burial(env.req(eco("e3", &sea)))
        .await
        .expect_err("placed");
    assert_eq!(reason_of(&err).as_deref(), Some("FUNERAL_ASHES_PLACED"));

    let cemetery = |rid: &str, land: pb::SiteLandUse| pb::RegisterCemeteryRequest {
        request_id: rid.into(),
        display_name: "青山公墓".into(),
        region: TOWNSHIP.into(),
        kind: pb::CemeteryKind::PublicWelfare.into(),
        land_use: land.into(),
    };
    let err = env
        .client()
        .register_cemetery(env.req(cemetery("g1", pb::SiteLandUse::Farmland)))
        .await
        .expect_err("farmland");
    assert_eq!(reason_of(&err).as_deref(), Some("FUNERAL_SITE_FORBIDDEN"));
    let cem = env
        .client()
        .register_cemetery(env.req(cemetery("g2", pb::SiteLandUse::Designated)))
        .await
        .expect("cemetery")
        .into_inner()
        .name;

    let lease = |rid: &str, plot: &str, area: i32, who: &str| pb::LeasePlotRequest {
        request_id: rid.into(),
        cemetery: cem.clone(),
        plot_number: plot.into(),
        area_dm2: area,
        occupant_id_number: who.into(),
        start_date: date(time::macros::date!(2028 - 02 - 29)),
        ..Default::default()
    };
    let (husband, wife, stranger) = (id(P2), id(P3), id(P4));
    let err = env
        .client()
        .lease_plot(env.req(lease("l1", "A-1", 80, &wife)))
        .await
        .expect_err("living");
    assert_eq!(reason_of(&err).as_deref(), Some("FUNERAL_PLOT_FOR_LIVING"));
    let h = env
        .register("d2", &husband, pb::Ethnicity::Han)
        .await
        .expect("case")
        .name;
    env.book("k2", &h, today(), 2).await.expect("booked");
    env.cremate("c2", &h).await.expect("cremated");
    let err = env
        .client()
        .lease_plot(env.req(lease("l2", "A-1", 101, &husband)))
        .await
        .expect_err("too large");
    assert_eq!(reason_of(&err).as_deref(), Some("FUNERAL_PLOT_TOO_LARGE"));
    let leased = env
        .client()
        .lease_plot(env.req(lease("l3", "A-1", 100, &husband)))
        .await
        .expect("leased")
        .into_inner();
    // Rules #14: the start day is the term's first day (自…起至…止), so the term ends the day
    // before the anniversary (was 2048-02-29 before the rule was fixed).
    assert_eq!(leased.end_date, date(time::macros::date!(2048 - 02 - 28)));
    assert_eq!(leased.state(), pb::PlotState::Leased);

    let reserve = |rid: &str, plot: &str, who: &str| pb::ReserveSpousePlotRequest {
        request_id: rid.into(),
        cemetery: cem.clone(),
        beside_plot_number: "A-1".into(),
        plot_number: plot.into(),
        area_dm2: 80,
        spouse: Some(PersonRef {
            id_number: who.into(),
            name: String::new(),
        }),
    };
    let r = env
        .client()
        .reserve_spouse_plot(env.req(reserve("s1", "A-2", &wife)))
        .await
        .expect("reserved")
        .into_inner();
    assert_eq!(r.state(), pb::PlotState::ReservedForSpouse);
    let err = env
        .client()
        .reserve_spouse_plot(env.req(reserve("s2", "A-3", &stranger)))
        .await
        .expect_err("one reservation");
    assert_eq!(
        reason_of(&err).as_deref(),
        Some("FUNERAL_RESERVATION_EXISTS")
    );

    // The stranger dies: the reserved plot is not for sale, nor is the leased one.
    let s = env
        .register("d3", &stranger, pb::Ethnicity::Han)
        .await
        .expect("case")
        .name;
    env.book("k3", &s, today(), 3).await.expect("booked");
    env.cremate("c3", &s).await.expect("cremated");
    let err = env
        .client()
        .lease_plot(env.req(lease("l4", "A-2", 80, &stranger)))
        .await
        .expect_err("resale");
    assert_eq!(reason_of(&err).as_deref(), Some("FUNERAL_PLOT_RESALE"));
    let err = env
        .client()
        .lease_plot(env.req(lease("l5", "A-1", 80, &stranger)))
        .await
        .expect_err("taken");
    assert_eq!(reason_of(&err).as_deref(), Some("FUNERAL_PLOT_TAKEN"));

    let case = env
        .client()
        .get_death_case(env.req(pb::GetDeathCaseRequest { name: h }))
        .await
        .expect("get")
        .into_inner();
    assert_eq!(case.state(), pb::CaseState::AshesPlaced);
    assert!(case.final_place.ends_with("/plots/A-1"));
    let db = env.suite.db("funeral").await;
    assert!(auth::audit::verify(&db.pool).await.expect("chain verifies") > 10);
}
