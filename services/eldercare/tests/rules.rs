//! gRPC tests of the eldercare rules found missing from outside (issue 14), each named after its
//! rule. SQLite by default; PostgreSQL + Redis with `CIVIL_TEST_PG` / `CIVIL_TEST_REDIS`.

mod common;

use common::*;
use contracts::civil::eldercare::v1 as pb;
use kit::error::{reason_of, violated_fields};
use kit::testing::Role;
use time::macros::date;

/// Two versions: the 80-89 amount rises from 100 to 120 yuan from July 2026.
const TWO_VERSIONS: &str = r#"
county = "330723"
[[version]]
id = "2024"
effective_from = "2024-01-01"
allowance_80_fen = 10_000
allowance_90_fen = 20_000
allowance_100_fen = 50_000
care_subsidy_level_fen = [0, 0, 10_000, 20_000, 30_000]
[[version]]
id = "2026-07"
effective_from = "2026-07-15"
allowance_80_fen = 12_000
allowance_90_fen = 24_000
allowance_100_fen = 60_000
care_subsidy_level_fen = [0, 0, 12_000, 24_000, 36_000]
"#;

pub async fn start_two_versions() -> Env {
    let path = std::env::temp_dir().join(format!("eldercare-policy-{}.toml", uuid::Uuid::now_v7()));
    std::fs::write(&path, TWO_VERSIONS).expect("policy file");
    start_with(|cfg| {
        cfg.extra.insert(
            "eldercare_policy_file".into(),
            path.to_string_lossy().into_owned(),
        );
    })
    .await
}

/// RULES.md: amounts are county policy versioned by effective date; a roll for a past month pays
/// that month's amount whenever it is generated, and a new amount applies from its effective
/// month.
#[tokio::test]
async fn a_roll_for_a_past_month_pays_that_months_amount_whenever_it_is_generated() {
    let env = start_two_versions().await;
    env.import(
        "i1",
        vec![
            record(date!(1940 - 01 - 10), 1, TOWNSHIP, &[]),
            record(date!(1935 - 03 - 01), 2, TOWNSHIP, &[]),
        ],
    )
    .await
    .expect("imported");
    env.try_grants("g1", d(TODAY)).await.expect("granted");
    // Both rolls are built today, after the July version took effect.
    let june = env.roll("r6", 2026, 6).await.expect("june");
    assert_eq!(
        (june.recipients, june.total_fen),
        (2, 10_000 + 20_000),
        "June pays June's amounts"
    );
    let july = env.roll("r7", 2026, 7).await.expect("july");
    assert_eq!(
        july.total_fen,
        12_000 + 24_000,
        "July pays the new amounts from the version's effective month"
    );
    let elder = env.elder(&id_born(date!(1940 - 01 - 10), 1)).await;
    assert_eq!(
        elder.allowance.expect("granted").monthly_amount_fen,
        12_000,
        "the amount in force now"
    );
}

fn admit(
    inst: &str,
    elder: &str,
    rid: &str,
    bed: &str,
    on: time::Date,
) -> pb::AdmitResidentRequest {
    pb::AdmitResidentRequest {
        request_id: rid.into(),
        institution: inst.into(),
        elder: elder.into(),
        nursing_bed: false,
        admitted_on: d(on),
        bed: bed.into(),
    }
}

/// RULES.md (institutions: beds, nursing-type beds, admissions and discharges): beds have ids
/// and types, a bed's type can change, and discharges are records that can be read.
#[tokio::test]
async fn beds_have_ids_and_types_a_bed_type_can_change_and_discharges_are_records_that_can_be_read()
{
    let env = start().await;
    let inst = env.institution("n1", 3, 1).await;
    let list = |size: i32, token: &str| pb::ListBedsRequest {
        institution: inst.name.clone(),
        page_size: size,
        page_token: token.into(),
    };
    let first = env
        .client()
        .list_beds(env.staff(list(2, "")))
        .await
        .expect("beds")
        .into_inner();
    assert_eq!(first.beds.len(), 2);
    assert_eq!(
        (first.beds[0].label.as_str(), first.beds[0].r#type()),
        ("001", pb::BedType::Nursing)
    );
    assert_eq!(first.beds[1].r#type(), pb::BedType::General);
    assert!(
        first.beds[0]
            .name
            .starts_with(&format!("{}/beds/", inst.name))
    );
    let second = env
        .client()
        .list_beds(env.staff(list(2, &first.next_page_token)))
        .await
        .expect("page 2")
        .into_inner();
    assert_eq!(second.beds.len(), 1);
    assert!(second.next_page_token.is_empty());
    let other = env.institution("n2", 1, 0).await;
    let err = env
        .client()
        .list_beds(env.staff(pb::ListBedsRequest {
            institution: other.name.clone(),
            page_size: 2,
            page_token: first.next_page_token.clone(),
        }))
        .await
        .expect_err("token of another list");
    assert_eq!(violated_fields(&err), vec!["page_token"]);
    let all = env
        .client()
        .list_beds(env.staff(list(100_000, "")))
        .await
        .expect("capped, not refused (AIP-158)")
        .into_inner();
    assert_eq!(all.beds.len(), 3);

    let bed3 = second.beds[0].name.clone();
    let change = |rid: &str| pb::ChangeBedTypeRequest {
        request_id: rid.into(),
        bed: bed3.clone(),
        r#type: pb::BedType::Nursing.into(),
        changed_on: d(date!(2026 - 06 - 01)),
        reason: "护理型床位验收合格".into(),
    };
    let changed = env
        .client()
        .change_bed_type(env.staff(change("c1")))
        .await
        .expect("changed")
        .into_inner();
    assert_eq!(changed.r#type(), pb::BedType::Nursing);
    let err = env
        .client()
        .change_bed_type(env.staff(change("c2")))
        .await
        .expect_err("same type");
    assert_eq!(
        reason_of(&err).as_deref(),
        Some("ELDERCARE_BED_TYPE_UNCHANGED")
    );

    env.import(
        "i1",
        vec![
            record(date!(1940 - 01 - 10), 1, TOWNSHIP, &[]),
            record(date!(1941 - 01 - 10), 2, TOWNSHIP, &[]),
        ],
    )
    .await
    .expect("imported");
    let e1 = env.elder(&id_born(date!(1940 - 01 - 10), 1)).await.name;
    let e2 = env.elder(&id_born(date!(1941 - 01 - 10), 2)).await.name;
    let after = env
        .client()
        .admit_resident(env.staff(admit(&inst.name, &e1, "a1", &bed3, date!(2026 - 06 - 10))))
        .await
        .expect("admitted to the named bed")
        .into_inner();
    assert_eq!(
        (after.nursing_beds, after.occupied_nursing_beds),
        (2, 1),
        "the changed bed counts as nursing"
    );
    assert_eq!(
        env.elder(&id_born(date!(1940 - 01 - 10), 1)).await.bed,
        bed3
    );
    let err = env
        .client()
        .admit_resident(env.staff(admit(&inst.name, &e2, "a2", &bed3, date!(2026 - 06 - 10))))
        .await
        .expect_err("taken");
    assert_eq!(reason_of(&err).as_deref(), Some("ELDERCARE_BED_TAKEN"));

    let discharge = |rid: &str, on: time::Date| pb::DischargeResidentRequest {
        request_id: rid.into(),
        institution: inst.name.clone(),
        elder: e1.clone(),
        discharged_on: d(on),
        reason: pb::DischargeReason::Transferred.into(),
        note: "转入县医院".into(),
    };
    let err = env
        .client()
        .discharge_resident(env.staff(discharge("d0", date!(2026 - 06 - 09))))
        .await
        .expect_err("before admission");
    assert_eq!(
        reason_of(&err).as_deref(),
        Some("ELDERCARE_DISCHARGE_BEFORE_ADMISSION")
    );
    env.client()
        .discharge_resident(env.staff(discharge("d1", date!(2026 - 08 - 01))))
        .await
        .expect("discharged");

    // A resident who dies: the bed is released with a discharge record too.
    let person2 = id_born(date!(1941 - 01 - 10), 2);
    env.client()
        .admit_resident(env.staff(admit(&inst.name, &e2, "a3", "", date!(2026 - 09 - 01))))
        .await
        .expect("admitted to a free general bed");
    env.client()
        .stop_for_death(env.suite.request(
            pb::StopForDeathRequest {
                request_id: "s1".into(),
                id_number: person2,
                date_of_death: d(date!(2026 - 10 - 03)),
            },
            &env.service,
        ))
        .await
        .expect("stopped");

    let records = env
        .client()
        .list_discharges(env.staff(pb::ListDischargesRequest {
            institution: inst.name.clone(),
            page_size: 1,
            page_token: String::new(),
        }))
        .await
        .expect("discharges")
        .into_inner();
    let death = &records.discharges[0];
    assert_eq!(
        (death.elder.as_str(), death.reason(), death.discharged_on),
        (
            e2.as_str(),
            pb::DischargeReason::Death,
            d(date!(2026 - 10 - 03))
        ),
        "newest first"
    );
    let older = env
        .client()
        .list_discharges(env.staff(pb::ListDischargesRequest {
            institution: inst.name.clone(),
            page_size: 1,
            page_token: records.next_page_token.clone(),
        }))
        .await
        .expect("page 2")
        .into_inner();
    let moved = &older.discharges[0];
    assert_eq!(moved.elder, e1);
    assert_eq!(moved.bed, bed3);
    assert_eq!(moved.bed_type(), pb::BedType::Nursing);
    assert_eq!(moved.admitted_on, d(date!(2026 - 06 - 10)));
    assert_eq!(moved.discharged_on, d(date!(2026 - 08 - 01)));
    assert_eq!(moved.reason(), pb::DischargeReason::Transferred);
    assert_eq!(moved.note, "转入县医院");
    assert!(older.next_page_token.is_empty());
}

/// RULES.md (monthly visits): a visit to an elder who is not on the month's schedule is recorded
/// and not counted toward the schedule's rate, rather than refused.
#[tokio::test]
async fn a_visit_to_an_elder_not_on_the_schedule_is_recorded_and_not_counted_toward_the_rate() {
    let env = start().await;
    env.import(
        "i1",
        vec![
            record(
                date!(1940 - 01 - 01),
                1,
                TOWNSHIP,
                &[pb::LivingSituation::LivingAlone],
            ),
            record(
                date!(1941 - 01 - 01),
                2,
                TOWNSHIP,
                &[pb::LivingSituation::AdvancedAge],
            ),
        ],
    )
    .await
    .expect("imported");
    env.client()
        .generate_visit_schedule(env.staff(pb::GenerateVisitScheduleRequest {
            request_id: "g1".into(),
            year: 2026,
            month: 6,
            region: COUNTY.into(),
        }))
        .await
        .expect("scheduled");
    let off_schedule = env.elder(&id_born(date!(1941 - 01 - 01), 2)).await.name;
    let visit = env
        .client()
        .record_visit(env.staff(pb::RecordVisitRequest {
            request_id: "v1".into(),
            elder: off_schedule,
            visited_on: d(date!(2026 - 06 - 05)),
            visitor: "王五".into(),
            notes: "邻居反映独自在家".into(),
        }))
        .await
        .expect("recorded")
        .into_inner();
    assert!(!visit.scheduled);
    let report = env
        .client()
        .get_visit_report(env.staff(pb::GetVisitReportRequest {
            year: 2026,
            month: 6,
            region: COUNTY.into(),
            as_of: d(date!(2026 - 07 - 01)),
        }))
        .await
        .expect("report")
        .into_inner();
    let t = &report.townships[0];
    assert_eq!(
        (t.scheduled, t.visited, t.rate_bp, t.unscheduled_visits),
        (1, 0, 0, 1),
        "the unscheduled visit does not raise the rate"
    );
    assert_eq!(
        report.overdue.len(),
        1,
        "the scheduled elder is still overdue"
    );
}

/// RULES.md (社会救助一件事): on a 特困 approval linked entitlements such as the elderly care
/// subsidy are granted without a new application; the subsidy links to the approval.
#[tokio::test]
async fn a_tekun_approval_that_makes_an_elder_eligible_for_a_care_subsidy_links_to_it() {
    let env = start().await;
    let person = id_born(date!(1940 - 01 - 10), 1);
    env.import("i1", vec![record(date!(1940 - 01 - 10), 1, TOWNSHIP, &[])])
        .await
        .expect("imported");
    let elder = env.elder(&person).await;
    assert!(elder.care_subsidy.is_none());
    env.client()
        .record_assessment(env.staff(pb::RecordAssessmentRequest {
            request_id: "a1".into(),
            elder: elder.name.clone(),
            total_score: 50,
            coma: false,
            dementia_or_psychiatric: false,
            care_risk_events_30d: 0,
            assessed_on: d(date!(2026 - 06 - 01)),
        }))
        .await
        .expect("level 2");
    let link = pb::LinkExtremePovertyRequest {
        request_id: "l1".into(),
        id_number: person.clone(),
        benefit: "benefits/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".into(),
        approved_on: d(date!(2026 - 06 - 20)),
    };
    let linked = env
        .client()
        .link_extreme_poverty(env.suite.request(link.clone(), &env.service))
        .await
        .expect("linked")
        .into_inner();
    assert!(linked.elder_known);
    let subsidy = linked.care_subsidy.expect("eligible");
    assert_eq!(subsidy.basis_benefit, link.benefit);
    assert_eq!(
        subsidy.eligible_from,
        d(date!(2026 - 07 - 01)),
        "from the month after approval"
    );
    assert_eq!(subsidy.monthly_amount_fen, 10_000, "level 2");
    let elder = env.elder(&person).await;
    assert_eq!(elder.care_subsidy, Some(subsidy));
    assert!(
        elder
            .living_situations
            .contains(&i32::from(pb::LivingSituation::ExtremePoverty))
    );
    let other_county = env.suite.token(&[Role::Service], OTHER_COUNTY);
    let err = env
        .client()
        .link_extreme_poverty(env.suite.request(link, &other_county))
        .await
        .expect_err("another county's service");
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    let unknown = env
        .client()
        .link_extreme_poverty(env.suite.request(
            pb::LinkExtremePovertyRequest {
                request_id: "l2".into(),
                id_number: id_born(date!(1950 - 01 - 01), 9),
                benefit: "benefits/x1".into(),
                approved_on: d(date!(2026 - 06 - 20)),
            },
            &env.service,
        ))
        .await
        .expect("not an elder")
        .into_inner();
    assert!(!unknown.elder_known);
}
