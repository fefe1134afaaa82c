//! gRPC tests of the funeral rules of the second round (Rules issue #14, "Funeral"), each named
//! after the rule it checks. SQLite by default; PostgreSQL with `CIVIL_TEST_PG`.

#[path = "support/env.rs"]
mod env;

use contracts::civil::assistance::v1::{BenefitKind, BenefitState};
use contracts::civil::common::v1::PersonRef;
use contracts::civil::funeral::v1 as pb;
use env::*;
use kit::error::{reason_of, violated_fields};
use kit::testing::Role;
use sqlx::Row;
use tonic::Code;

/// Chengdu 锦江区: a household outside the county.
const ELSEWHERE: &str = "510104";
const VISITOR: &str = "51010419500301001";

async fn register_non_resident(env: &Env, request_id: &str, first17: &str) -> pb::DeathCase {
    let mut m = death(request_id, &id(first17), pb::Ethnicity::Han);
    m.household_region = ELSEWHERE.into();
    env.client()
        .register_death(env.req(m))
        .await
        .expect("a non-resident's death is registered")
        .into_inner()
}

async fn get_fee_waiver(
    env: &Env,
    token: &str,
    case: &str,
) -> Result<pb::FeeWaiver, tonic::Status> {
    env.client()
        .get_fee_waiver(env.suite.request(
            pb::GetFeeWaiverRequest {
                death_case: case.into(),
            },
            token,
        ))
        .await
        .map(|r| r.into_inner())
}

#[tokio::test]
async fn a_non_resident_who_died_in_the_county_is_registered_with_his_own_household_region() {
    let env = start(&[]).await;
    let case = register_non_resident(&env, "r1", VISITOR).await;
    assert_eq!(case.household_region, ELSEWHERE);
    assert!(!case.resident);
    assert_eq!(case.region, TOWNSHIP, "handled where he died");
    let read = env
        .client()
        .get_death_case(env.req(pb::GetDeathCaseRequest {
            name: case.name.clone(),
        }))
        .await
        .expect("read")
        .into_inner();
    assert_eq!(
        (read.household_region.as_str(), read.resident),
        (ELSEWHERE, false)
    );

    // A resident's household region is the case's region.
    let resident = env
        .register("r2", &id(P1), pb::Ethnicity::Han)
        .await
        .expect("resident");
    assert_eq!(
        (resident.household_region.as_str(), resident.resident),
        (TOWNSHIP, true)
    );

    let mut bad = death("r3", &id(P2), pb::Ethnicity::Han);
    bad.household_region = "5101".into();
    let err = env
        .client()
        .register_death(env.req(bad))
        .await
        .expect_err("malformed household region");
    assert_eq!(violated_fields(&err), vec!["household_region"]);
}

#[tokio::test]
async fn the_residents_fee_waiver_does_not_cover_a_non_resident_unless_the_county_says_so() {
    let env = start(&[("waiver_extensions", "all_residents")]).await;
    let resident = env
        .register("r1", &id(P1), pb::Ethnicity::Han)
        .await
        .expect("resident");
    let w = waiver(&env, "w1", &resident.name).await.expect("decided");
    assert_eq!(
        (w.waived, w.grounds().collect::<Vec<_>>()),
        (true, vec![pb::WaiverGround::AllResidents])
    );
    let visitor = register_non_resident(&env, "r2", VISITOR).await;
    let w = waiver(&env, "w2", &visitor.name).await.expect("decided");
    assert!(!w.waived, "the residents' waiver is for residents");
    assert_eq!(w.payable_fen, w.total_price_fen);

    let env = start(&[("waiver_extensions", "all_residents,non_residents")]).await;
    let visitor = register_non_resident(&env, "r1", VISITOR).await;
    let w = waiver(&env, "w1", &visitor.name).await.expect("decided");
    assert_eq!(
        (w.waived, w.grounds().collect::<Vec<_>>()),
        (true, vec![pb::WaiverGround::DiedInCounty])
    );
    assert_eq!(w.evidence.expect("evidence").source, "county_policy");
}

#[tokio::test]
async fn fees_record_the_prices_the_payable_amount_and_the_benefit_that_grounded_the_waiver() {
    let env = start(&[("price_cremation_fen", "60000")]).await;
    let (dibao, none) = (id(P1), id(P2));
    env.assistance.give(
        &dibao,
        BenefitKind::MinimumLivingAllowance,
        BenefitState::Active,
    );
    let c1 = env
        .register("r1", &dibao, pb::Ethnicity::Han)
        .await
        .expect("case")
        .name;
    let err = get_fee_waiver(&env, &env.home, &c1)
        .await
        .expect_err("no decision yet");
    assert_eq!(err.code(), Code::NotFound);

    let w = waiver(&env, "w1", &c1).await.expect("decided");
    let fees: Vec<(&str, i64, i64, i64)> = w
        .fees
        .iter()
        .map(|f| (f.service.as_str(), f.price_fen, f.waived_fen, f.payable_fen))
        .collect();
    assert_eq!(
        fees,
        vec![
            ("transport", 20_000, 20_000, 0),
            ("storage", 15_000, 15_000, 0),
            ("cremation", 60_000, 60_000, 0),
            ("ash_keeping", 10_000, 10_000, 0),
        ]
    );
    assert_eq!(
        (w.total_price_fen, w.waived_fen, w.payable_fen),
        (105_000, 105_000, 0)
    );
    assert_eq!(w.grounded_on.len(), 1);
    let b = &w.grounded_on[0];
    assert_eq!(b.benefit_id, "b0");
    assert_eq!(b.kind, "BENEFIT_KIND_MINIMUM_LIVING_ALLOWANCE");
    assert_eq!(b.ground(), pb::WaiverGround::MinimumLivingAllowance);

    // Readable afterwards, by the funeral home and the aggregator, as decided.
    let service = env.suite.token(&[Role::Service], COUNTY);
    assert_eq!(get_fee_waiver(&env, &env.home, &c1).await.expect("read"), w);
    assert_eq!(get_fee_waiver(&env, &service, &c1).await.expect("read"), w);
    let elsewhere = env.suite.token(&[Role::FuneralHome], "330723002");
    let err = get_fee_waiver(&env, &elsewhere, &c1)
        .await
        .expect_err("other township");
    assert_eq!(err.code(), Code::PermissionDenied);

    let c2 = env
        .register("r2", &none, pb::Ethnicity::Han)
        .await
        .expect("case")
        .name;
    let w = waiver(&env, "w2", &c2).await.expect("decided");
    assert!(!w.waived && w.grounded_on.is_empty());
    assert_eq!(
        (w.total_price_fen, w.waived_fen, w.payable_fen),
        (105_000, 0, 105_000)
    );
}

async fn cremated_case(env: &Env, first17: &str) -> String {
    let case = env
        .register(&format!("d-{first17}"), &id(first17), pb::Ethnicity::Han)
        .await
        .expect("case")
        .name;
    // One slot per person (two furnaces a slot by default).
    let slot = i32::from(first17.as_bytes()[16] - b'0');
    env.book(&format!("k-{first17}"), &case, today(), slot)
        .await
        .expect("booked");
    env.cremate(&format!("c-{first17}"), &case)
        .await
        .expect("cremated");
    case
}

async fn cemetery(env: &Env) -> String {
    env.client()
        .register_cemetery(env.req(pb::RegisterCemeteryRequest {
            request_id: "g1".into(),
            display_name: "青山公墓".into(),
            region: TOWNSHIP.into(),
            kind: pb::CemeteryKind::PublicWelfare.into(),
            land_use: pb::SiteLandUse::Designated.into(),
        }))
        .await
        .expect("cemetery")
        .into_inner()
        .name
}

#[tokio::test]
async fn a_plot_lease_counts_its_start_day_as_the_first_of_its_twenty_years() {
    let env = start(&[]).await;
    cremated_case(&env, P1).await;
    let cem = cemetery(&env).await;
    let lease = env
        .client()
        .lease_plot(env.req(pb::LeasePlotRequest {
            request_id: "l1".into(),
            cemetery: cem,
            plot_number: "A-1".into(),
            area_dm2: 80,
            occupant_id_number: id(P1),
            start_date: date(time::macros::date!(2026 - 10 - 01)),
            ..Default::default()
        }))
        .await
        .expect("leased")
        .into_inner();
    assert_eq!(lease.start_date, date(time::macros::date!(2026 - 10 - 01)));
    assert_eq!(lease.end_date, date(time::macros::date!(2046 - 09 - 30)));
}

async fn hand_over(
    env: &Env,
    request_id: &str,
    case: &str,
    kind: pb::AshesHolderKind,
    since: time::Date,
) -> Result<pb::DeathCase, tonic::Status> {
    env.client()
        .record_ashes_custody(env.req(pb::RecordAshesCustodyRequest {
            request_id: request_id.into(),
            death_case: case.into(),
            holder_kind: kind.into(),
            holder: "王小某".into(),
            place: "城关镇家中".into(),
            since: date(since),
        }))
        .await
        .map(|r| r.into_inner())
}

#[tokio::test]
async fn the_ashes_trail_records_who_held_the_ashes_where_and_from_when() {
    let env = start(&[]).await;
    let early = env
        .register("d0", &id(P2), pb::Ethnicity::Han)
        .await
        .expect("case")
        .name;
    let err = hand_over(&env, "a0", &early, pb::AshesHolderKind::Family, today())
        .await
        .expect_err("no ashes yet");
    assert_eq!(reason_of(&err).as_deref(), Some("FUNERAL_NOT_CREMATED"));

    let case = cremated_case(&env, P1).await;
    let family = hand_over(&env, "a1", &case, pb::AshesHolderKind::Family, today())
        .await
        .expect("handed to the family");
    let kinds: Vec<pb::AshesHolderKind> =
        family.ashes_trail.iter().map(|a| a.holder_kind()).collect();
    assert_eq!(
        kinds,
        vec![
            pb::AshesHolderKind::FuneralHome,
            pb::AshesHolderKind::Family
        ]
    );
    assert_eq!(family.ashes_trail[0].since, date(today()));
    assert_eq!(family.ashes_trail[1].holder, "王小某");
    assert_eq!(family.ashes_trail[1].place, "城关镇家中");

    let yesterday = today().previous_day().expect("yesterday");
    let err = hand_over(
        &env,
        "a2",
        &case,
        pb::AshesHolderKind::Columbarium,
        yesterday,
    )
    .await
    .expect_err("before the last holder");
    assert_eq!(
        reason_of(&err).as_deref(),
        Some("FUNERAL_ASHES_TRAIL_ORDER")
    );
    let err = hand_over(&env, "a3", &case, pb::AshesHolderKind::Cemetery, today())
        .await
        .expect_err("a final place has its own RPC");
    assert_eq!(violated_fields(&err), vec!["holder_kind"]);

    // The lease places the ashes: the trail ends in the plot, never before the family's day.
    let cem = cemetery(&env).await;
    env.client()
        .lease_plot(env.req(pb::LeasePlotRequest {
            request_id: "l1".into(),
            cemetery: cem.clone(),
            plot_number: "A-1".into(),
            area_dm2: 80,
            occupant_id_number: id(P1),
            start_date: date(time::macros::date!(2026 - 01 - 01)),
            ..Default::default()
        }))
        .await
        .expect("leased");
    let read = env
        .client()
        .get_death_case(env.req(pb::GetDeathCaseRequest { name: case.clone() }))
        .await
        .expect("read")
        .into_inner();
    let last = read.ashes_trail.last().expect("trail");
    assert_eq!(last.holder_kind(), pb::AshesHolderKind::Cemetery);
    assert_eq!(last.holder, "青山公墓");
    assert_eq!(last.place, format!("{cem}/plots/A-1"));
    assert_eq!(
        last.since,
        date(today().max(time::macros::date!(2026 - 01 - 01)))
    );
    let err = hand_over(&env, "a4", &case, pb::AshesHolderKind::Family, today())
        .await
        .expect_err("placed");
    assert_eq!(reason_of(&err).as_deref(), Some("FUNERAL_ASHES_PLACED"));

    // Holders are personal data: sealed at rest.
    let db = env.suite.db("funeral").await;
    let rows = sqlx::query("SELECT holder_sealed FROM ashes_trail")
        .fetch_all(&db.pool)
        .await
        .expect("rows");
    assert!(
        rows.iter()
            .all(|r| !r.get::<String, _>("holder_sealed").contains("王"))
    );
}

fn lease_request(cem: &str, plot: &str, occupant: &str) -> pb::LeasePlotRequest {
    pb::LeasePlotRequest {
        request_id: format!("l-{plot}-{occupant}"),
        cemetery: cem.into(),
        plot_number: plot.into(),
        area_dm2: 80,
        occupant_id_number: occupant.into(),
        start_date: date(today()),
        holder: Some(PersonRef {
            id_number: id(P3),
            name: "王长子".into(),
        }),
        join_clan_plot: false,
    }
}

fn transfer(
    cem: &str,
    request_id: &str,
    to: &str,
    relationship: pb::DeclarantRelationship,
) -> pb::TransferPlotLeaseRequest {
    pb::TransferPlotLeaseRequest {
        request_id: request_id.into(),
        cemetery: cem.into(),
        plot_number: "A-1".into(),
        new_holder: Some(PersonRef {
            id_number: to.into(),
            name: "王长孙".into(),
        }),
        relationship: relationship.into(),
        transferred_on: date(today()),
        reason: "原持证人去世".into(),
    }
}

#[tokio::test]
async fn a_plot_lease_passes_only_to_a_relative_and_only_where_the_county_allows_it() {
    for (settings, allowed) in [
        (vec![], false),
        (vec![("plot_transfer", "relatives")], true),
    ] {
        let env = start(&settings).await;
        cremated_case(&env, P1).await;
        let cem = cemetery(&env).await;
        let lease = env
            .client()
            .lease_plot(env.req(lease_request(&cem, "A-1", &id(P1))))
            .await
            .expect("leased")
            .into_inner();
        let holder = lease.holder.expect("holder recorded");
        assert_eq!((holder.id_number, holder.name.as_str()), (id(P3), "王长子"));
        let grandchild = pb::DeclarantRelationship::Grandchild;
        let result = env
            .client()
            .transfer_plot_lease(env.req(transfer(&cem, "t1", &id(P4), grandchild)))
            .await;
        if !allowed {
            let err = result.expect_err("no transfers in this county");
            assert_eq!(
                reason_of(&err).as_deref(),
                Some("FUNERAL_TRANSFER_NOT_ALLOWED")
            );
            continue;
        }
        let moved = result.expect("transferred to a grandchild").into_inner();
        assert_eq!(moved.holder.map(|h| h.id_number), Some(id(P4)));
        assert_eq!(moved.transfers.len(), 1);
        let t = &moved.transfers[0];
        assert_eq!(
            t.from_holder.as_ref().map(|h| h.name.as_str()),
            Some("王长子")
        );
        assert_eq!(
            t.to_holder.as_ref().map(|h| h.name.as_str()),
            Some("王长孙")
        );
        assert_eq!(t.relationship(), grandchild);
        assert_eq!(t.reason, "原持证人去世");
        let stranger = pb::DeclarantRelationship::NonRelative;
        let err = env
            .client()
            .transfer_plot_lease(env.req(transfer(&cem, "t2", &id(P2), stranger)))
            .await
            .expect_err("a sale outside the family");
        assert_eq!(reason_of(&err).as_deref(), Some("FUNERAL_PLOT_RESALE"));
    }
}

#[tokio::test]
async fn a_family_plot_takes_further_deceased_only_where_the_county_allows_it() {
    for (settings, max) in [(vec![], 1), (vec![("clan_plot_max_occupants", "2")], 2)] {
        let env = start(&settings).await;
        cremated_case(&env, P1).await;
        let second = cremated_case(&env, P2).await;
        cremated_case(&env, P4).await;
        let cem = cemetery(&env).await;
        env.client()
            .lease_plot(env.req(lease_request(&cem, "A-1", &id(P1))))
            .await
            .expect("leased");
        let join = |who: &str| pb::LeasePlotRequest {
            join_clan_plot: true,
            holder: None,
            ..lease_request(&cem, "A-1", who)
        };
        let result = env.client().lease_plot(env.req(join(&id(P2)))).await;
        if max == 1 {
            let err = result.expect_err("no family plots in this county");
            assert_eq!(
                reason_of(&err).as_deref(),
                Some("FUNERAL_CLAN_PLOT_NOT_ALLOWED")
            );
            continue;
        }
        let plot = result.expect("joins the family plot").into_inner();
        let others: Vec<String> = plot
            .co_occupants
            .iter()
            .map(|p| p.id_number.clone())
            .collect();
        assert_eq!(others, vec![id(P2)]);
        assert_eq!(
            plot.person.map(|p| p.id_number),
            Some(id(P1)),
            "the lease is unchanged"
        );
        let case = env
            .client()
            .get_death_case(env.req(pb::GetDeathCaseRequest { name: second }))
            .await
            .expect("read")
            .into_inner();
        assert_eq!(case.state(), pb::CaseState::AshesPlaced);
        assert_eq!(case.final_place, format!("{cem}/plots/A-1"));
        let err = env
            .client()
            .lease_plot(env.req(join(&id(P4))))
            .await
            .expect_err("full");
        assert_eq!(reason_of(&err).as_deref(), Some("FUNERAL_CLAN_PLOT_FULL"));
    }
}
