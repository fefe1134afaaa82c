//! gRPC tests of the eldercare service through `kit::testing`: what bureau staff, institution
//! operators and the after-death workflow would check. SQLite by default; PostgreSQL with
//! `CIVIL_TEST_PG`.

use contracts::civil::common::v1::{Date, PersonRef};
use contracts::civil::eldercare::v1 as pb;
use contracts::civil::eldercare::v1::eldercare_service_client::EldercareServiceClient;
use kit::error::{reason_of, to_proto_date, violated_fields};
use kit::testing::{Role, TestSuite};
use prost::Message;
use sqlx::Row;
use time::macros::date;
use tonic::Code;
use tonic::transport::Channel;

const COUNTY: &str = "330723";
const TOWNSHIP: &str = "330723001";
const TOWNSHIP2: &str = "330723002";

/// A valid identity number for someone born on `birth` (sequence `seq`).
fn id_born(birth: time::Date, seq: u32) -> String {
    let first17 = format!(
        "{COUNTY}{:04}{:02}{:02}{seq:03}",
        birth.year(),
        u8::from(birth.month()),
        birth.day()
    );
    format!("{first17}{}", civil_id::IdNumber::check_char(&first17))
}

fn d(x: time::Date) -> Option<Date> {
    Some(to_proto_date(x))
}

struct Env {
    suite: TestSuite,
    staff: String,
    service: String,
}

async fn start() -> Env {
    let suite = kit::testing::spawn_with(&[eldercare::SERVICE], |cfg| {
        cfg.extra.insert("eldercare_daily_job".into(), "off".into());
    })
    .await;
    // A fixed today, so the grant days below stay within the catch-up window.
    suite.clock.set_today(date!(2026 - 12 - 04));
    let staff = suite.token_for("staff-1", &[Role::EldercareStaff], COUNTY);
    let service = suite.token_for("svc-onematter", &[Role::Service], COUNTY);
    Env {
        suite,
        staff,
        service,
    }
}

fn record(
    birth: time::Date,
    seq: u32,
    region: &str,
    situations: &[pb::LivingSituation],
) -> pb::ElderRecord {
    pb::ElderRecord {
        person: Some(PersonRef {
            id_number: id_born(birth, seq),
            name: "李某".into(),
        }),
        birth_date: d(birth),
        region: region.into(),
        living_situations: situations.iter().map(|s| (*s).into()).collect(),
    }
}

impl Env {
    fn client(&self) -> EldercareServiceClient<Channel> {
        EldercareServiceClient::new(self.suite.channel.clone())
    }

    fn staff<T>(&self, m: T) -> tonic::Request<T> {
        self.suite.request(m, &self.staff)
    }

    async fn import(
        &self,
        request_id: &str,
        elders: Vec<pb::ElderRecord>,
    ) -> Result<pb::ImportEldersResponse, tonic::Status> {
        let m = pb::ImportEldersRequest {
            request_id: request_id.into(),
            elders,
        };
        self.client()
            .import_elders(self.staff(m))
            .await
            .map(|r| r.into_inner())
    }

    async fn elder(&self, id_number: &str) -> pb::Elder {
        let m = pb::GetElderRequest {
            name: String::new(),
            id_number: id_number.into(),
        };
        self.client()
            .get_elder(self.staff(m))
            .await
            .expect("elder")
            .into_inner()
    }

    async fn grants(&self, request_id: &str, on: time::Date) -> pb::RunDailyGrantsResponse {
        let m = pb::RunDailyGrantsRequest {
            request_id: request_id.into(),
            date: d(on),
        };
        self.client()
            .run_daily_grants(self.staff(m))
            .await
            .expect("grants")
            .into_inner()
    }

    async fn roll(
        &self,
        request_id: &str,
        year: i32,
        month: i32,
    ) -> Result<pb::AllowanceRoll, tonic::Status> {
        let m = pb::RunMonthlyRollRequest {
            request_id: request_id.into(),
            year,
            month,
        };
        self.client()
            .run_monthly_roll(self.staff(m))
            .await
            .map(|r| r.into_inner())
    }

    async fn stop(
        &self,
        request_id: &str,
        id_number: &str,
        death: time::Date,
    ) -> Result<pb::StopForDeathResponse, tonic::Status> {
        let m = pb::StopForDeathRequest {
            request_id: request_id.into(),
            id_number: id_number.into(),
            date_of_death: d(death),
        };
        self.client()
            .stop_for_death(self.suite.request(m, &self.service))
            .await
            .map(|r| r.into_inner())
    }
}

#[tokio::test]
async fn elders_are_imported_from_the_register_with_checked_birth_dates() {
    let env = start().await;
    let a = record(
        date!(1946 - 03 - 15),
        11,
        TOWNSHIP,
        &[pb::LivingSituation::LivingAlone],
    );
    let b = record(date!(1940 - 07 - 01), 12, TOWNSHIP2, &[]);
    let r = env
        .import("i1", vec![a.clone(), b.clone()])
        .await
        .expect("imported");
    assert_eq!((r.created, r.updated), (2, 0));
    assert_eq!(
        env.import("i1", vec![a.clone(), b.clone()])
            .await
            .expect("retry"),
        r,
        "the first answer"
    );
    let r = env.import("i2", vec![a.clone()]).await.expect("refresh");
    assert_eq!((r.created, r.updated), (0, 1));
    let err = env
        .import("i1", vec![b.clone()])
        .await
        .expect_err("reused id");
    assert_eq!(reason_of(&err).as_deref(), Some("REQUEST_ID_REUSED"));

    let mut wrong = record(date!(1946 - 03 - 15), 13, TOWNSHIP, &[]);
    wrong.birth_date = d(date!(1946 - 03 - 16));
    let mut bad_id = record(date!(1946 - 03 - 15), 14, TOWNSHIP, &[]);
    bad_id.person = Some(PersonRef {
        id_number: "330723194603150140".into(),
        name: "x".into(),
    });
    let err = env
        .import("i3", vec![a.clone(), wrong, bad_id])
        .await
        .expect_err("invalid");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&err),
        vec!["elders[1].birth_date", "elders[2].person.id_number"]
    );

    let elder = env.elder(&id_born(date!(1946 - 03 - 15), 11)).await;
    assert_eq!(elder.birth_date, d(date!(1946 - 03 - 15)));
    let shown = elder.person.expect("person").id_number;
    assert_eq!(
        shown,
        civil_id::mask_id_number(&id_born(date!(1946 - 03 - 15), 11)),
        "staff see it masked"
    );
    assert!(shown.contains('*'));

    let township_staff = env.suite.token(&[Role::EldercareStaff], TOWNSHIP);
    let m = pb::ImportEldersRequest {
        request_id: "i4".into(),
        elders: vec![b],
    };
    let err = env
        .client()
        .import_elders(env.suite.request(m, &township_staff))
        .await
        .expect_err("other township");
    assert_eq!(err.code(), Code::PermissionDenied);
    let operator = env.suite.token(&[Role::InstitutionOperator], COUNTY);
    let m = pb::ImportEldersRequest {
        request_id: "i5".into(),
        elders: vec![a],
    };
    let err = env
        .client()
        .import_elders(env.suite.request(m, &operator))
        .await
        .expect_err("wrong role");
    assert_eq!(err.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn the_allowance_is_granted_on_the_birthday_itself_and_upgraded_at_90_and_on_28_february() {
    let env = start().await;
    let turns80 = record(date!(1946 - 03 - 15), 1, TOWNSHIP, &[]);
    let tomorrow80 = record(date!(1946 - 03 - 16), 2, TOWNSHIP, &[]);
    let turns90 = record(date!(1936 - 03 - 15), 3, TOWNSHIP, &[]);
    let leap = record(date!(1936 - 02 - 29), 4, TOWNSHIP, &[]);
    env.import(
        "i1",
        vec![
            turns80.clone(),
            tomorrow80.clone(),
            turns90.clone(),
            leap.clone(),
        ],
    )
    .await
    .expect("imported");

    let r = env.grants("g1", date!(2026 - 02 - 27)).await;
    assert_eq!(
        (r.granted, r.upgraded),
        (2, 0),
        "the two aged 89 get the 80-89 bracket"
    );
    let r = env.grants("g2", date!(2026 - 02 - 28)).await;
    assert_eq!(
        (r.granted, r.upgraded),
        (0, 1),
        "29 February birthday reached on 28 February 2026"
    );
    let leap_elder = env.elder(&id_born(date!(1936 - 02 - 29), 4)).await;
    let allowance = leap_elder.allowance.expect("allowance");
    assert_eq!(allowance.bracket(), pb::AgeBracket::AgeBracket9099);
    assert_eq!(allowance.payable_from, d(date!(2026 - 03 - 01)));

    let r = env.grants("g3", date!(2026 - 03 - 14)).await;
    assert_eq!(
        (r.granted, r.upgraded),
        (0, 0),
        "nobody reaches a bracket the day before the birthday"
    );
    let r = env.grants("g4", date!(2026 - 03 - 15)).await;
    assert_eq!((r.granted, r.upgraded), (1, 1));
    let r = env.grants("g5", date!(2026 - 03 - 15)).await;
    assert_eq!(
        (r.granted, r.upgraded),
        (0, 0),
        "repeating the day grants nothing twice"
    );
    let a = env
        .elder(&id_born(date!(1946 - 03 - 15), 1))
        .await
        .allowance
        .expect("granted at 80");
    assert_eq!(
        (a.bracket(), a.payable_from, a.monthly_amount_fen),
        (
            pb::AgeBracket::AgeBracket8089,
            d(date!(2026 - 04 - 01)),
            10_000
        )
    );
    assert!(
        env.elder(&id_born(date!(1946 - 03 - 16), 2))
            .await
            .allowance
            .is_none()
    );
    let a = env
        .elder(&id_born(date!(1936 - 03 - 15), 3))
        .await
        .allowance
        .expect("upgraded");
    assert_eq!(
        (a.bracket(), a.payable_from),
        (pb::AgeBracket::AgeBracket9099, d(date!(2026 - 04 - 01)))
    );

    // Events: three grants and two upgrades.
    let db = env.suite.db("eldercare").await;
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM outbox WHERE topic = $1")
        .bind(eldercare::TOPIC_ALLOWANCE_GRANTED)
        .fetch_one(&db.pool)
        .await
        .expect("count")
        .get("n");
    assert_eq!(n, 5);
    assert!(auth::audit::verify(&db.pool).await.expect("chain verifies") >= 5);

    // Monthly rolls: March pays the upgraded amounts from March only.
    let march = env.roll("r1", 2026, 3).await.expect("roll");
    assert_eq!(
        (march.recipients, march.total_fen),
        (2, 10_000 + 20_000),
        "turns90 at 80-89, leap at 90-99"
    );
    let april = env.roll("r2", 2026, 4).await.expect("roll");
    assert_eq!(
        (april.recipients, april.total_fen),
        (3, 10_000 + 20_000 + 20_000)
    );
    assert_eq!(
        env.roll("r3", 2026, 4).await.expect("again").total_fen,
        april.total_fen,
        "one roll per month"
    );
    let future = env.suite.clock.today().year() + 1;
    let err = env.roll("r4", future, 1).await.expect_err("not started");
    assert_eq!(
        reason_of(&err).as_deref(),
        Some("ELDERCARE_ROLL_MONTH_OPEN")
    );
}

#[tokio::test]
async fn stop_for_death_pays_the_month_of_death_stops_after_and_releases_the_bed_once() {
    let env = start().await;
    let person = id_born(date!(1940 - 01 - 10), 5);
    env.import(
        "i1",
        vec![record(
            date!(1940 - 01 - 10),
            5,
            TOWNSHIP,
            &[pb::LivingSituation::Disabled],
        )],
    )
    .await
    .expect("imported");
    env.grants("g1", date!(2026 - 01 - 10)).await;
    let inst = env
        .client()
        .register_institution(env.staff(pb::RegisterInstitutionRequest {
            request_id: "n1".into(),
            display_name: "县福利院".into(),
            region: TOWNSHIP.into(),
            beds: 10,
            nursing_beds: 6,
        }))
        .await
        .expect("institution")
        .into_inner();
    let elder = env.elder(&person).await;
    let admit = pb::AdmitResidentRequest {
        request_id: "a1".into(),
        institution: inst.name.clone(),
        elder: elder.name.clone(),
        nursing_bed: true,
        admitted_on: d(date!(2026 - 02 - 01)),
        bed: String::new(),
    };
    let after = env
        .client()
        .admit_resident(env.staff(admit))
        .await
        .expect("admitted")
        .into_inner();
    assert_eq!(after.occupied_nursing_beds, 1);

    let staff_try = pb::StopForDeathRequest {
        request_id: "x".into(),
        id_number: person.clone(),
        date_of_death: d(date!(2026 - 05 - 20)),
    };
    let err = env
        .client()
        .stop_for_death(env.staff(staff_try))
        .await
        .expect_err("service only");
    assert_eq!(err.code(), Code::PermissionDenied);

    let out = env
        .stop("s1", &person, date!(2026 - 05 - 20))
        .await
        .expect("stopped");
    assert!(out.elder_known && out.allowance_stopped && out.bed_released);
    assert_eq!(out.last_paid_month, d(date!(2026 - 05 - 01)));
    assert_eq!(
        env.stop("s1", &person, date!(2026 - 05 - 20))
            .await
            .expect("retry"),
        out
    );
    assert_eq!(
        env.stop("s2", &person, date!(2026 - 05 - 20))
            .await
            .expect("repeat, new id"),
        out,
        "idempotent per person"
    );
    let err = env
        .stop("s3", &person, date!(2026 - 05 - 21))
        .await
        .expect_err("conflicting date");
    assert_eq!(
        reason_of(&err).as_deref(),
        Some("ELDERCARE_DEATH_DATE_CONFLICT")
    );
    let unknown = env
        .stop(
            "s4",
            &id_born(date!(1950 - 01 - 01), 9),
            date!(2026 - 05 - 20),
        )
        .await
        .expect("unknown person");
    assert!(!unknown.elder_known);

    let inst_now = env
        .client()
        .discharge_resident(env.staff(pb::DischargeResidentRequest {
            request_id: "d1".into(),
            institution: inst.name.clone(),
            elder: elder.name.clone(),
            discharged_on: d(date!(2026 - 05 - 21)),
            ..Default::default()
        }))
        .await
        .expect_err("bed already released at death");
    assert_eq!(
        reason_of(&inst_now).as_deref(),
        Some("ELDERCARE_NOT_ADMITTED")
    );

    let may = env.roll("r1", 2026, 5).await.expect("may");
    assert_eq!(
        (may.recipients, may.total_fen),
        (1, 10_000),
        "the month of death is paid in full"
    );
    let june = env.roll("r2", 2026, 6).await.expect("june");
    assert_eq!(
        (june.recipients, june.total_fen),
        (0, 0),
        "nothing after the month of death"
    );

    let db = env.suite.db("eldercare").await;
    let rows = sqlx::query("SELECT payload FROM outbox WHERE topic = $1")
        .bind(eldercare::TOPIC_ALLOWANCE_STOPPED)
        .fetch_all(&db.pool)
        .await
        .expect("rows");
    assert_eq!(rows.len(), 1, "one stop event for repeated calls");
    use base64::Engine as _;
    let payload = base64::engine::general_purpose::STANDARD
        .decode(rows[0].get::<String, _>("payload"))
        .expect("b64");
    let event = pb::AllowanceStopped::decode(payload.as_slice()).expect("decodes");
    assert_eq!(event.last_paid_month, d(date!(2026 - 05 - 01)));
    assert!(auth::audit::verify(&db.pool).await.expect("chain verifies") > 0);
}

#[tokio::test]
async fn assessments_give_the_adjusted_level_and_its_care_subsidy() {
    let env = start().await;
    env.import("i1", vec![record(date!(1938 - 06 - 01), 6, TOWNSHIP, &[])])
        .await
        .expect("imported");
    let elder = env.elder(&id_born(date!(1938 - 06 - 01), 6)).await;
    let assess = |rid: &str, score: i32, dementia: bool, events: i32| pb::RecordAssessmentRequest {
        request_id: rid.into(),
        elder: elder.name.clone(),
        total_score: score,
        coma: false,
        dementia_or_psychiatric: dementia,
        care_risk_events_30d: events,
        assessed_on: d(date!(2026 - 06 - 01)),
    };
    let a = env
        .client()
        .record_assessment(env.staff(assess("a1", 70, true, 0)))
        .await
        .expect("assessed")
        .into_inner();
    assert_eq!((a.base_level, a.level, a.care_subsidy_fen), (1, 2, 10_000));
    let a = env
        .client()
        .record_assessment(env.staff(assess("a2", 45, false, 2)))
        .await
        .expect("assessed")
        .into_inner();
    assert_eq!((a.base_level, a.level), (3, 4));
    assert_eq!(
        env.elder(&id_born(date!(1938 - 06 - 01), 6))
            .await
            .ability_level,
        4
    );
    let err = env
        .client()
        .record_assessment(env.staff(assess("a3", 91, false, 0)))
        .await
        .expect_err("score");
    assert_eq!(violated_fields(&err), vec!["total_score"]);
    let elsewhere = env.suite.token(&[Role::InstitutionOperator], TOWNSHIP2);
    let err = env
        .client()
        .record_assessment(env.suite.request(assess("a4", 60, false, 0), &elsewhere))
        .await
        .expect_err("region");
    assert_eq!(err.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn institutions_are_graded_and_beds_are_never_over_filled() {
    let env = start().await;
    let inst = env
        .client()
        .register_institution(env.staff(pb::RegisterInstitutionRequest {
            request_id: "n1".into(),
            display_name: "敬老院".into(),
            region: TOWNSHIP.into(),
            beds: 2,
            nursing_beds: 1,
        }))
        .await
        .expect("registered")
        .into_inner();
    assert_eq!(inst.nursing_share_bp, 5_000);
    let sections = |scores: [i32; 4]| {
        scores
            .iter()
            .enumerate()
            .map(|(i, s)| pb::SectionScore {
                section: format!("s{i}"),
                score: *s,
                max_score: 250,
            })
            .collect::<Vec<_>>()
    };
    let grade = |rid: &str, scores: [i32; 4]| pb::GradeInstitutionRequest {
        request_id: rid.into(),
        institution: inst.name.clone(),
        sections: sections(scores),
    };
    let g = env
        .client()
        .grade_institution(env.staff(grade("g1", [200, 200, 200, 200])))
        .await
        .expect("graded")
        .into_inner();
    assert_eq!(g.grade, 4);
    let err = env
        .client()
        .grade_institution(env.staff(grade("g2", [99, 250, 250, 250])))
        .await
        .expect_err("below 1");
    assert_eq!(
        reason_of(&err).as_deref(),
        Some("ELDERCARE_BELOW_GRADE_ONE")
    );
    let err = env
        .client()
        .grade_institution(env.staff(grade("g3", [300, 200, 200, 200])))
        .await
        .expect_err("bad score");
    assert_eq!(err.code(), Code::InvalidArgument);

    env.import(
        "i1",
        vec![
            record(date!(1940 - 01 - 01), 7, TOWNSHIP, &[]),
            record(date!(1941 - 01 - 01), 8, TOWNSHIP, &[]),
        ],
    )
    .await
    .expect("imported");
    let e1 = env.elder(&id_born(date!(1940 - 01 - 01), 7)).await.name;
    let e2 = env.elder(&id_born(date!(1941 - 01 - 01), 8)).await.name;
    let operator = env.suite.token(&[Role::InstitutionOperator], TOWNSHIP);
    let admit = |rid: &str, elder: &str, nursing: bool| pb::AdmitResidentRequest {
        request_id: rid.into(),
        institution: inst.name.clone(),
        elder: elder.into(),
        nursing_bed: nursing,
        admitted_on: d(date!(2026 - 06 - 01)),
        bed: String::new(),
    };
    env.client()
        .admit_resident(env.suite.request(admit("a1", &e1, true), &operator))
        .await
        .expect("admitted");
    let err = env
        .client()
        .admit_resident(env.suite.request(admit("a2", &e2, true), &operator))
        .await
        .expect_err("no nursing bed");
    assert_eq!(reason_of(&err).as_deref(), Some("ELDERCARE_NO_FREE_BED"));
    let err = env
        .client()
        .admit_resident(env.suite.request(admit("a3", &e1, false), &operator))
        .await
        .expect_err("twice");
    assert_eq!(
        reason_of(&err).as_deref(),
        Some("ELDERCARE_ALREADY_ADMITTED")
    );
    let full = env
        .client()
        .admit_resident(env.suite.request(admit("a4", &e2, false), &operator))
        .await
        .expect("other bed")
        .into_inner();
    assert_eq!((full.occupied_beds, full.occupancy_bp), (2, 10_000));
    let freed = env
        .client()
        .discharge_resident(env.suite.request(
            pb::DischargeResidentRequest {
                request_id: "d1".into(),
                institution: inst.name.clone(),
                elder: e1,
                discharged_on: d(date!(2026 - 07 - 01)),
                ..Default::default()
            },
            &operator,
        ))
        .await
        .expect("discharged")
        .into_inner();
    assert_eq!((freed.occupied_beds, freed.occupied_nursing_beds), (1, 0));
    let citizen = env.suite.token(&[Role::Citizen], TOWNSHIP);
    let err = env
        .client()
        .admit_resident(env.suite.request(admit("a5", &e2, true), &citizen))
        .await
        .expect_err("citizen");
    assert_eq!(err.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn monthly_visits_are_scheduled_for_special_difficulties_and_reported_per_township() {
    let env = start().await;
    env.import(
        "i1",
        vec![
            record(
                date!(1940 - 01 - 01),
                21,
                "330723001001",
                &[pb::LivingSituation::LivingAlone],
            ),
            record(
                date!(1941 - 01 - 01),
                22,
                "330723001002",
                &[pb::LivingSituation::EmptyNest],
            ),
            record(
                date!(1942 - 01 - 01),
                23,
                TOWNSHIP2,
                &[pb::LivingSituation::ExtremePoverty],
            ),
            record(
                date!(1943 - 01 - 01),
                24,
                TOWNSHIP2,
                &[pb::LivingSituation::AdvancedAge],
            ),
        ],
    )
    .await
    .expect("imported");
    let m = pb::GenerateVisitScheduleRequest {
        request_id: "v1".into(),
        year: 2026,
        month: 6,
        region: COUNTY.into(),
    };
    let schedule = env
        .client()
        .generate_visit_schedule(env.staff(m.clone()))
        .await
        .expect("scheduled")
        .into_inner();
    let scheduled: i32 = schedule.townships.iter().map(|t| t.scheduled).sum();
    assert_eq!(
        scheduled, 3,
        "advanced age alone is not a special difficulty"
    );
    let again = env
        .client()
        .generate_visit_schedule(env.staff(pb::GenerateVisitScheduleRequest {
            request_id: "v2".into(),
            ..m
        }))
        .await
        .expect("again");
    assert_eq!(
        again
            .into_inner()
            .townships
            .iter()
            .map(|t| t.scheduled)
            .sum::<i32>(),
        3,
        "one visit per elder and month"
    );

    let visited = env.elder(&id_born(date!(1940 - 01 - 01), 21)).await.name;
    let visit = pb::RecordVisitRequest {
        request_id: "r1".into(),
        elder: visited,
        visited_on: d(date!(2026 - 06 - 12)),
        visitor: "张三".into(),
        notes: String::new(),
    };
    env.client()
        .record_visit(env.staff(visit))
        .await
        .expect("visited");
    let not_scheduled = env.elder(&id_born(date!(1943 - 01 - 01), 24)).await.name;
    let visit = pb::RecordVisitRequest {
        request_id: "r2".into(),
        elder: not_scheduled,
        visited_on: d(date!(2026 - 06 - 12)),
        visitor: "张三".into(),
        notes: String::new(),
    };
    // Issue 14 reverses the former NOT_FOUND: the visit is recorded, outside the schedule.
    let unscheduled = env
        .client()
        .record_visit(env.staff(visit))
        .await
        .expect("recorded although not scheduled")
        .into_inner();
    assert!(!unscheduled.scheduled);

    let report = |as_of: time::Date| pb::GetVisitReportRequest {
        year: 2026,
        month: 6,
        region: COUNTY.into(),
        as_of: d(as_of),
    };
    let r = env
        .client()
        .get_visit_report(env.staff(report(date!(2026 - 06 - 30))))
        .await
        .expect("report")
        .into_inner();
    let t1 = r
        .townships
        .iter()
        .find(|t| t.township == TOWNSHIP)
        .expect("township 1");
    assert_eq!((t1.scheduled, t1.visited, t1.rate_bp), (2, 1, 5_000));
    assert!(r.overdue.is_empty(), "not overdue while the month runs");
    let r = env
        .client()
        .get_visit_report(env.staff(report(date!(2026 - 07 - 01))))
        .await
        .expect("report")
        .into_inner();
    assert_eq!(r.overdue.len(), 2);
    let other = env.suite.token(&[Role::EldercareStaff], TOWNSHIP2);
    let err = env
        .client()
        .get_visit_report(env.suite.request(
            pb::GetVisitReportRequest {
                year: 2026,
                month: 6,
                region: COUNTY.into(),
                as_of: None,
            },
            &other,
        ))
        .await
        .expect_err("county report from a township");
    assert_eq!(err.code(), Code::PermissionDenied);
}
