//! Rules issue (#14), place-name bullets: each test named after its rule.

use tonic_types::StatusExt;

use super::*;

fn naming(
    specific: &str,
    category: pb::Category,
    region: &str,
) -> pb::SubmitNamingApplicationRequest {
    pb::SubmitNamingApplicationRequest {
        request_id: rid(),
        kind: pb::ApplicationKind::Naming.into(),
        specific_part: specific.into(),
        generic_part: match category {
            pb::Category::Road => "路".into(),
            _ => "村".into(),
        },
        category: category.into(),
        region_code: region.into(),
        reasons: "r".into(),
        submitted_on: d(2026, 3, 2),
        ..Default::default()
    }
}

/// A duplicate refusal identifies the existing record (id, code, region) in its ErrorInfo.
#[tokio::test]
async fn a_duplicate_refusal_names_the_existing_record_art_9() {
    let f = Fixture::start().await;
    let existing = f
        .search("下王宅社区居委会", pb::SearchMode::Exact, "")
        .await
        .remove(0);
    let r = pb::SubmitNamingApplicationRequest {
        specific_part: "下王宅社区".into(),
        generic_part: "居委会".into(),
        ..naming("", pb::Category::VillageSeat, "330723001009")
    };
    let status = f
        .client()
        .submit_naming_application(f.req(r))
        .await
        .expect_err("duplicate");
    assert_eq!(status.code(), Code::FailedPrecondition);
    let info = status.get_details_error_info().expect("error info");
    assert_eq!(info.reason, "PLACENAME_DUPLICATE");
    assert_eq!(info.metadata["place_name_id"], existing.place_name_id);
    assert_eq!(info.metadata["code"], existing.code);
    assert_eq!(info.metadata["region_code"], "330723001001");
    assert!(
        status.message().contains(&existing.code),
        "{}",
        status.message()
    );
}

/// Road names are unique within the built-up area of a town (同一城镇区域), not the whole
/// county (地名管理条例 2022 art. 9); which townships form one built-up area is county policy.
#[tokio::test]
async fn road_names_repeat_within_the_built_up_area_of_a_town_not_the_county_art_9() {
    // No built-up areas configured: each town is its own.
    let f = Fixture::start_with_areas("").await;
    f.road("振兴", false).await;
    let other_town = f
        .client()
        .submit_naming_application(f.req(naming("振兴", pb::Category::Road, "330723101")))
        .await
        .expect("履坦镇 is another built-up area");
    assert!(other_town.into_inner().warnings.is_empty());
    let status = f
        .client()
        .submit_naming_application(f.req(naming("振兴", pb::Category::Road, TOWNSHIP)))
        .await
        .expect_err("same town");
    assert_eq!(reason_of(&status).as_deref(), Some("PLACENAME_DUPLICATE"));
    let street = f
        .client()
        .submit_naming_application(f.req(naming("振兴", pb::Category::Road, "330723002")))
        .await;
    assert!(
        street.is_ok(),
        "壶山街道 is not in 白洋街道's area by default"
    );

    // The county's policy joins the county town's three 街道 into one built-up area.
    let f = Fixture::start().await;
    f.road("振兴", false).await;
    let status = f
        .client()
        .submit_naming_application(f.req(naming("振兴", pb::Category::Road, "330723002")))
        .await
        .expect_err("one built-up area");
    assert_eq!(reason_of(&status).as_deref(), Some("PLACENAME_DUPLICATE"));
    f.client()
        .submit_naming_application(f.req(naming("振兴", pb::Category::Road, "330723101")))
        .await
        .expect("another town");
    // Villages still repeat within the whole county.
    let village = pb::SubmitNamingApplicationRequest {
        specific_part: "下王宅社区".into(),
        generic_part: "居委会".into(),
        ..naming("", pb::Category::VillageSeat, "330723105009")
    };
    let status = f
        .client()
        .submit_naming_application(f.req(village))
        .await
        .expect_err("village in the county");
    assert_eq!(reason_of(&status).as_deref(), Some("PLACENAME_DUPLICATE"));
}

/// The scope per category is county policy (地名管理条例实施办法: the law fixes the scopes of
/// administrative divisions; a county may name roads uniquely county-wide): with
/// `PLACENAME_SCOPES=ROAD=county` a road name taken in one town is refused in another.
#[tokio::test]
async fn the_scope_of_a_category_is_county_policy_through_the_api() {
    let suite = kit::testing::spawn_with(&[placename::SERVICE], |config| {
        config
            .extra
            .insert("placename_built_up_areas".into(), String::new());
        config
            .extra
            .insert("placename_scopes".into(), "ROAD=county".into());
    })
    .await;
    let f = Fixture::with(suite);
    f.road("振兴", false).await;
    let status = f
        .client()
        .submit_naming_application(f.req(naming("振兴", pb::Category::Road, "330723101")))
        .await
        .expect_err("county-wide for roads by policy");
    assert_eq!(reason_of(&status).as_deref(), Some("PLACENAME_DUPLICATE"));
}

/// Fuzzy search tolerates one wrong character (a typo or a homophone) and ranks the results.
#[tokio::test]
async fn fuzzy_search_tolerates_one_wrong_character_ranked() {
    let f = Fixture::start().await;
    let typo = f.search("青三村", pb::SearchMode::Fuzzy, "430522").await;
    assert_eq!(typo[0].name, "青山村", "{typo:?}");
    let ranked: Vec<String> = f
        .search("青山村", pb::SearchMode::Fuzzy, "4305")
        .await
        .into_iter()
        .map(|p| p.name)
        .collect();
    let first_other = ranked
        .iter()
        .position(|n| n != "青山村")
        .expect("more than the exact name");
    assert!(first_other >= 5, "the exact names first: {ranked:?}");
    assert_eq!(
        ranked[first_other], "青山村委会",
        "then names starting with it"
    );
    let homophone = f.search("清山村", pb::SearchMode::Fuzzy, "430522").await;
    assert_eq!(homophone[0].name, "青山村", "清 sounds like 青");
}

/// A specific house number can be requested; it is refused with a reason when taken, on the
/// wrong side (odd left, even right) or out of order.
#[tokio::test]
async fn a_requested_house_number_is_given_or_refused_with_its_reason() {
    let f = Fixture::start().await;
    let road = f.road("解放", false).await;
    let request =
        |side: pb::Side, position_m: i64, number: i32, sub: i32| pb::AllocateHouseNumberRequest {
            request_id: rid(),
            road_id: road.clone(),
            side: side.into(),
            position_m,
            requested_number: number,
            requested_sub_number: sub,
        };
    let given = f
        .client()
        .allocate_house_number(f.req(request(pb::Side::Left, 50, 5, 0)))
        .await
        .expect("5 is free")
        .into_inner();
    assert_eq!(given.label, "5号");
    let infill = f
        .client()
        .allocate_house_number(f.req(request(pb::Side::Left, 55, 5, 1)))
        .await
        .expect("5-1 after 5")
        .into_inner();
    assert_eq!(infill.label, "5-1号");
    for (r, reason) in [
        (request(pb::Side::Left, 70, 5, 0), "PLACENAME_NUMBER_TAKEN"),
        (
            request(pb::Side::Left, 70, 8, 0),
            "PLACENAME_NUMBER_WRONG_SIDE",
        ),
        (
            request(pb::Side::Right, 70, 9, 0),
            "PLACENAME_NUMBER_WRONG_SIDE",
        ),
        (
            request(pb::Side::Left, 70, 3, 0),
            "PLACENAME_NUMBER_OUT_OF_ORDER",
        ),
    ] {
        assert_refused(f.client().allocate_house_number(f.req(r)).await, reason);
    }
    let next = f
        .client()
        .allocate_house_number(f.req(request(pb::Side::Left, 70, 0, 0)))
        .await
        .expect("automatic")
        .into_inner();
    assert_eq!(next.label, "7号");
}

/// Naming applications keep their expert-review and public-consultation reports (art. 12); a
/// favourable review without them is refused field by field.
#[tokio::test]
async fn a_naming_application_keeps_its_expert_and_public_opinion_reports_art_12() {
    let f = Fixture::start().await;
    let app = f
        .submit("兴业", "路", pb::Category::Road, TOWNSHIP)
        .await
        .expect("checked");
    let bare = pb::RecordExpertReviewRequest {
        request_id: rid(),
        application_id: app.application_id.clone(),
        favourable: true,
        opinion: "fits".into(),
        reviewed_on: d(2026, 3, 10),
        ..Default::default()
    };
    let status = f
        .client()
        .record_expert_review(f.req(bare))
        .await
        .expect_err("reports missing");
    assert_eq!(
        violated_fields(&status),
        ["expert_report", "public_opinion_report"]
    );
    f.review(&app.application_id, &[], false)
        .await
        .expect("reviewed");
    let read = f
        .client()
        .get_naming_application(f.suite.request(
            pb::GetNamingApplicationRequest {
                application_id: app.application_id,
            },
            &f.public,
        ))
        .await
        .expect("get")
        .into_inner();
    assert_eq!(read.expert_report, "专家论证: 三位专家一致同意");
    assert_eq!(read.public_opinion_report, "征求意见: 公示 30 日, 无异议");
}

/// Approved names not filed or announced within 15 days (art. 13) are listed as overdue.
#[tokio::test]
async fn overdue_filings_and_announcements_are_listed_art_13() {
    let f = Fixture::start().await;
    let mut ids = Vec::new();
    for name in ["振兴", "兴业", "和顺"] {
        let app = f
            .submit(name, "路", pb::Category::Road, TOWNSHIP)
            .await
            .expect("checked");
        f.review(&app.application_id, &[], false)
            .await
            .expect("reviewed");
        f.approve(&app.application_id).await.expect("approved");
        ids.push(app.application_id);
    }
    f.publish(&ids[2], d(2026, 3, 20)).await.expect("filed");
    let list = |as_of: Option<Date>, token: &str, page_size: i32| pb::ListOverdueFilingsRequest {
        as_of,
        page_size,
        page_token: token.into(),
        ..Default::default()
    };
    let none = f
        .client()
        .list_overdue_filings(f.req(list(d(2026, 3, 31), "", 0)))
        .await
        .expect("list")
        .into_inner();
    assert!(none.applications.is_empty(), "due on 03-31, not overdue");
    let first = f
        .client()
        .list_overdue_filings(f.req(list(d(2026, 4, 1), "", 1)))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(first.applications.len(), 1);
    assert!(first.applications[0].filed_late && first.applications[0].announced_late);
    let second = f
        .client()
        .list_overdue_filings(f.req(list(d(2026, 4, 1), &first.next_page_token, 1)))
        .await
        .expect("page 2")
        .into_inner();
    let mut listed: Vec<String> = first
        .applications
        .iter()
        .chain(&second.applications)
        .map(|a| a.application_id.clone())
        .collect();
    listed.sort();
    let mut expected = ids[..2].to_vec();
    expected.sort();
    assert_eq!(listed, expected, "the filed one is not overdue");
    assert!(second.next_page_token.is_empty());
    let other_filter = f
        .client()
        .list_overdue_filings(f.req(list(d(2026, 4, 2), &first.next_page_token, 1)))
        .await
        .expect_err("token of another filter");
    assert_eq!(violated_fields(&other_filter), ["page_token"]);

    let other_county = pb::ListOverdueFilingsRequest {
        region_code: "330724".into(),
        ..list(d(2026, 4, 1), "", 0)
    };
    let status = f
        .client()
        .list_overdue_filings(f.req(other_county))
        .await
        .expect_err("outside the region");
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = f
        .client()
        .list_overdue_filings(f.suite.request(list(None, "", 0), &f.public))
        .await
        .expect_err("citizen");
    assert_eq!(status.code(), Code::PermissionDenied);
}
