//! gRPC tests of the defects found from outside (issue 12), each failing on the code before its
//! fix. SQLite by default; PostgreSQL + Redis with `CIVIL_TEST_PG` / `CIVIL_TEST_REDIS`.

mod common;

use common::*;
use contracts::civil::common::v1::{Date, PersonRef};
use contracts::civil::eldercare::v1 as pb;
use kit::error::{reason_of, violated_fields};
use kit::testing::Role;
use time::macros::date;
use tonic::Code;

/// Issue 12 item 10: a grant day is today or a past day in the catch-up window, from the policy
/// start (docs/rules/eldercare.md); 2099-01-01 moved elders into the 100+ bracket before.
#[tokio::test]
async fn run_daily_grants_refuses_future_days_days_before_the_policy_start_and_days_past_catch_up()
{
    let env = start().await;
    // Aged 80-89 today; 100 or more on 2099-01-01.
    env.import(
        "i1",
        vec![
            record(date!(1941 - 01 - 10), 1, TOWNSHIP, &[]),
            record(date!(1944 - 05 - 01), 2, TOWNSHIP, &[]),
        ],
    )
    .await
    .expect("imported");
    let today = TODAY;

    let err = env
        .try_grants("far", d(date!(2099 - 01 - 01)))
        .await
        .expect_err("2099");
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(
        reason_of(&err).as_deref(),
        Some("ELDERCARE_GRANT_DAY_NOT_REACHED")
    );
    let tomorrow = today.next_day().expect("tomorrow");
    let err = env
        .try_grants("tomorrow", d(tomorrow))
        .await
        .expect_err("tomorrow");
    assert_eq!(
        reason_of(&err).as_deref(),
        Some("ELDERCARE_GRANT_DAY_NOT_REACHED")
    );

    for (rid, year) in [("minus1", -1), ("y1900", 1900), ("y0", 0)] {
        let err = env
            .try_grants(
                rid,
                Some(Date {
                    year,
                    month: 6,
                    day: 1,
                }),
            )
            .await
            .expect_err("before the policy start");
        assert_eq!(err.code(), Code::InvalidArgument, "year {year}");
        assert_eq!(violated_fields(&err), vec!["date"], "year {year}");
    }
    let long_ago = today - time::Duration::days(367);
    let err = env
        .try_grants("old", d(long_ago))
        .await
        .expect_err("past the catch-up window");
    assert_eq!(
        reason_of(&err).as_deref(),
        Some("ELDERCARE_GRANT_DAY_PAST_CATCH_UP")
    );

    for n in [1, 2] {
        let elder = env
            .elder(&id_born(
                [date!(1941 - 01 - 10), date!(1944 - 05 - 01)][n - 1],
                n as u32,
            ))
            .await;
        let bracket = elder.allowance.map(|a| a.bracket());
        assert_ne!(
            bracket,
            Some(pb::AgeBracket::AgeBracket100Plus),
            "nobody is 100 yet"
        );
        assert_eq!(bracket, None, "no refused run granted anything");
    }
    assert_eq!(env.events(eldercare::TOPIC_ALLOWANCE_GRANTED).await, 0);

    let r = env.try_grants("today", d(today)).await.expect("today");
    assert_eq!((r.granted, r.upgraded), (2, 0));
    let week_ago = today - time::Duration::days(7);
    env.try_grants("catch-up", d(week_ago))
        .await
        .expect("a missed day within the window");
}

/// Issue 12 item 3: a replayed request id is authorized like a first call. StopForDeath from a
/// service of another county stopped an allowance here and its replay answered the outcome.
#[tokio::test]
async fn a_replayed_request_id_is_authorized_like_a_first_call() {
    let env = start().await;
    let birth = date!(1940 - 01 - 10);
    let person = id_born(birth, 5);
    let rec = record(birth, 5, TOWNSHIP, &[pb::LivingSituation::LivingAlone]);
    let import = pb::ImportEldersRequest {
        request_id: "i1".into(),
        elders: vec![rec],
    };
    env.client()
        .import_elders(env.staff(import.clone()))
        .await
        .expect("imported");
    let grants = pb::RunDailyGrantsRequest {
        request_id: "g1".into(),
        date: d(TODAY),
    };
    env.client()
        .run_daily_grants(env.staff(grants.clone()))
        .await
        .expect("granted");
    let inst = env.institution("n1", 4, 2).await;
    let elder = env.elder(&person).await;
    let admit = pb::AdmitResidentRequest {
        request_id: "a1".into(),
        institution: inst.name.clone(),
        elder: elder.name.clone(),
        nursing_bed: false,
        admitted_on: d(date!(2026 - 06 - 01)),
        bed: String::new(),
    };
    env.client()
        .admit_resident(env.staff(admit.clone()))
        .await
        .expect("admitted");

    let other_staff = env.suite.token(&[Role::EldercareStaff], OTHER_COUNTY);
    let other_township = env.suite.token(&[Role::EldercareStaff], TOWNSHIP2);
    let other_service = env.suite.token(&[Role::Service], OTHER_COUNTY);
    let auditor = env.suite.token(&[Role::Auditor], COUNTY);
    for token in [&other_staff, &auditor] {
        let err = env
            .client()
            .import_elders(env.suite.request(import.clone(), token))
            .await
            .expect_err("import replay");
        assert_eq!(err.code(), Code::PermissionDenied);
        let err = env
            .client()
            .run_daily_grants(env.suite.request(grants.clone(), token))
            .await
            .expect_err("grants replay");
        assert_eq!(err.code(), Code::PermissionDenied);
    }
    for token in [&other_staff, &other_township, &auditor] {
        let err = env
            .client()
            .admit_resident(env.suite.request(admit.clone(), token))
            .await
            .expect_err("admit replay");
        assert_eq!(err.code(), Code::PermissionDenied);
    }

    let stop = pb::StopForDeathRequest {
        request_id: "s1".into(),
        id_number: person.clone(),
        date_of_death: d(date!(2026 - 05 - 20)),
    };
    let err = env
        .client()
        .stop_for_death(env.suite.request(stop.clone(), &other_service))
        .await
        .expect_err("a service of another county");
    assert_eq!(err.code(), Code::PermissionDenied);
    let still = env.elder(&person).await;
    assert_eq!(still.date_of_death, None, "nothing stopped");
    assert_eq!(still.institution, inst.name, "the bed is still taken");
    let out = env
        .client()
        .stop_for_death(env.suite.request(stop.clone(), &env.service))
        .await
        .expect("the county's own workflow")
        .into_inner();
    assert!(out.allowance_stopped && out.bed_released);
    let err = env
        .client()
        .stop_for_death(env.suite.request(stop, &other_service))
        .await
        .expect_err("replay by a service of another county");
    assert_eq!(err.code(), Code::PermissionDenied);
}

/// Issue 12 item 9: free text is bounded and free of control characters; every violation of a
/// request is reported at once.
#[tokio::test]
async fn text_fields_are_bounded_and_refuse_control_characters() {
    let env = start().await;
    let mut long = record(date!(1940 - 01 - 10), 1, TOWNSHIP, &[]);
    long.person = Some(PersonRef {
        id_number: id_born(date!(1940 - 01 - 10), 1),
        name: format!("李{}\u{0}", "某".repeat(199)),
    });
    let err = env.import("i1", vec![long]).await.expect_err("long name");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&err),
        vec!["elders[0].person.name", "elders[0].person.name"],
        "too long and a control character"
    );

    let err = env
        .client()
        .register_institution(env.staff(pb::RegisterInstitutionRequest {
            request_id: "n1".into(),
            display_name: "院".repeat(100_000),
            region: TOWNSHIP.into(),
            beds: 0,
            nursing_beds: 0,
        }))
        .await
        .expect_err("long name");
    assert_eq!(violated_fields(&err), vec!["display_name", "beds"]);

    env.import(
        "i2",
        vec![record(
            date!(1940 - 01 - 10),
            1,
            TOWNSHIP,
            &[pb::LivingSituation::LivingAlone],
        )],
    )
    .await
    .expect("imported");
    let elder = env.elder(&id_born(date!(1940 - 01 - 10), 1)).await;
    let err = env
        .client()
        .record_visit(env.staff(pb::RecordVisitRequest {
            request_id: "v1".into(),
            elder: elder.name,
            visited_on: d(date!(2026 - 06 - 12)),
            visitor: "张\u{1b}[31m三".into(),
            notes: "x".repeat(2_001),
        }))
        .await
        .expect_err("bad text");
    assert_eq!(violated_fields(&err), vec!["visitor", "notes"]);
}

/// Issue 12 item 9: region filters are validated: malformed codes and codes of an unknown
/// province are INVALID_ARGUMENT, a region outside the county this service serves too.
#[tokio::test]
async fn region_filters_are_validated() {
    let env = start().await;
    let report = |region: &str| pb::GetVisitReportRequest {
        year: 2026,
        month: 6,
        region: region.into(),
        as_of: None,
    };
    let province_staff = env.suite.token(&[Role::EldercareStaff], "33");
    for bad in ["33072", "3307230", "33072300100", "33", "3307", "330724"] {
        let err = env
            .client()
            .get_visit_report(env.suite.request(report(bad), &province_staff))
            .await
            .expect_err(bad);
        assert_eq!(err.code(), Code::InvalidArgument, "{bad}");
        assert_eq!(violated_fields(&err), vec!["region"], "{bad}");
        let err = env
            .client()
            .generate_visit_schedule(env.suite.request(
                pb::GenerateVisitScheduleRequest {
                    request_id: format!("g-{bad}"),
                    year: 2026,
                    month: 6,
                    region: bad.into(),
                },
                &province_staff,
            ))
            .await
            .expect_err(bad);
        assert_eq!(err.code(), Code::InvalidArgument, "{bad}");
    }
    let err = env
        .client()
        .get_visit_report(env.staff(report("990723")))
        .await
        .expect_err("unknown province");
    assert_eq!(violated_fields(&err), vec!["region"]);
    env.client()
        .get_visit_report(env.suite.request(report(COUNTY), &province_staff))
        .await
        .expect("the county itself");
}
