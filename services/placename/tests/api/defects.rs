//! Defects issue (#12) items 3 and 9 for the place-name service: replayed request ids and input
//! limits, each tried as a caller would.

use super::*;

fn search_req(query: &str, mode: pb::SearchMode) -> pb::SearchPlaceNamesRequest {
    pb::SearchPlaceNamesRequest {
        query: query.into(),
        mode: mode.into(),
        ..Default::default()
    }
}

/// #12 item 3: a replayed request id is authorized like a first call. Another county's officer
/// replaying an import of this county's rows gets the report a first call of theirs gets (the
/// rows are outside their region), never the first caller's "imported".
#[tokio::test]
async fn a_replayed_import_is_authorized_like_a_first_call() {
    let f = Fixture::start().await;
    let r = pb::ImportCensusRecordsRequest {
        request_id: rid(),
        csv: format!("{HEAD}和平路,路,ROAD,{TOWNSHIP},,,,,IN_USE,,0\n"),
    };
    let first = f
        .client()
        .import_census_records(f.req(r.clone()))
        .await
        .expect("first")
        .into_inner();
    assert_eq!(first.imported, 1);
    let other_county = f.suite.token(&[Role::PlaceNameOfficer], "330724");
    let replay = f
        .client()
        .import_census_records(f.suite.request(r.clone(), &other_county))
        .await
        .expect("report")
        .into_inner();
    assert_eq!(replay.imported, 0, "{replay:?}");
    assert_eq!(replay.errors[0].column, "region_code");
    let citizen = f
        .client()
        .import_census_records(f.suite.request(r, &f.public))
        .await
        .expect_err("a citizen's replay is denied");
    assert_eq!(citizen.code(), Code::PermissionDenied);
}

/// #12 item 3: replays of the other writes by callers outside the record's region, or without
/// the role, are denied as their first calls would be.
#[tokio::test]
async fn replayed_writes_by_callers_outside_the_region_are_denied() {
    let f = Fixture::start().await;
    let road = f.road("和平", false).await;
    let allocate = pb::AllocateHouseNumberRequest {
        request_id: rid(),
        road_id: road,
        side: pb::Side::Left.into(),
        position_m: 10,
        ..Default::default()
    };
    f.client()
        .allocate_house_number(f.req(allocate.clone()))
        .await
        .expect("first");
    let submit = pb::SubmitNamingApplicationRequest {
        request_id: rid(),
        kind: pb::ApplicationKind::Naming.into(),
        specific_part: "兴业".into(),
        generic_part: "路".into(),
        category: pb::Category::Road.into(),
        region_code: TOWNSHIP.into(),
        reasons: "r".into(),
        submitted_on: d(2026, 3, 2),
        ..Default::default()
    };
    let app = f
        .client()
        .submit_naming_application(f.req(submit.clone()))
        .await
        .expect("first")
        .into_inner();
    let review = pb::RecordExpertReviewRequest {
        request_id: rid(),
        application_id: app.application_id,
        favourable: true,
        opinion: "fits".into(),
        reviewed_on: d(2026, 3, 10),
        expert_report: "agreed".into(),
        public_opinion_report: "no objection".into(),
        ..Default::default()
    };
    f.client()
        .record_expert_review(f.req(review.clone()))
        .await
        .expect("first");
    let other_county = f.suite.token(&[Role::PlaceNameOfficer], "330724");
    for token in [&other_county, &f.public] {
        let denied = [
            f.client()
                .allocate_house_number(f.suite.request(allocate.clone(), token))
                .await
                .map(drop),
            f.client()
                .submit_naming_application(f.suite.request(submit.clone(), token))
                .await
                .map(drop),
            f.client()
                .record_expert_review(f.suite.request(review.clone(), token))
                .await
                .map(drop),
        ];
        for result in denied {
            let status = result.expect_err("denied");
            assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
        }
    }
}

/// #12 item 9: free-text fields are bounded and free of control characters.
#[tokio::test]
async fn free_text_fields_are_bounded_and_refuse_control_characters() {
    let f = Fixture::start().await;
    let r = pb::SubmitNamingApplicationRequest {
        request_id: rid(),
        kind: pb::ApplicationKind::Naming.into(),
        specific_part: "解".repeat(100_000),
        generic_part: "路".into(),
        category: pb::Category::Road.into(),
        region_code: TOWNSHIP.into(),
        reasons: "widened\u{7}".into(),
        origin_meaning: "x".repeat(10_001),
        submitted_on: d(2026, 3, 2),
        ..Default::default()
    };
    let status = f
        .client()
        .submit_naming_application(f.req(r))
        .await
        .expect_err("invalid");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&status),
        ["specific_part", "reasons", "origin_meaning"]
    );
    assert_eq!(f.count("SELECT COUNT(*) FROM naming_applications").await, 0);
    let parse = f
        .client()
        .parse_address(f.suite.request(
            pb::ParseAddressRequest {
                text: "武义县\u{0}解放路1号".into(),
            },
            &f.public,
        ))
        .await
        .expect_err("control character");
    assert_eq!(violated_fields(&parse), ["text"]);
}

/// #12 item 9, AIP-158: a negative page size is refused, a too large one is capped.
#[tokio::test]
async fn page_sizes_are_capped_and_negative_ones_refused_aip_158() {
    let f = Fixture::start().await;
    let huge = pb::SearchPlaceNamesRequest {
        page_size: i32::MAX,
        ..search_req("村", pb::SearchMode::Fuzzy)
    };
    let page = f
        .client()
        .search_place_names(f.suite.request(huge, &f.public))
        .await
        .expect("capped, not refused")
        .into_inner();
    assert_eq!(page.place_names.len(), 200);
    assert!(!page.next_page_token.is_empty());
    let negative = pb::SearchPlaceNamesRequest {
        page_size: -1,
        ..search_req("w", pb::SearchMode::Pinyin)
    };
    let status = f
        .client()
        .search_place_names(f.suite.request(negative, &f.public))
        .await
        .expect_err("negative");
    assert_eq!(violated_fields(&status), ["page_size"]);
}

/// #12 item 9, AIP-158: garbage page tokens, and a token of another search, are refused.
#[tokio::test]
async fn garbage_page_tokens_and_tokens_of_another_search_are_refused() {
    let f = Fixture::start().await;
    let first = pb::SearchPlaceNamesRequest {
        page_size: 2,
        ..search_req("w", pb::SearchMode::Pinyin)
    };
    let token = f
        .client()
        .search_place_names(f.suite.request(first.clone(), &f.public))
        .await
        .expect("page")
        .into_inner()
        .next_page_token;
    assert!(!token.is_empty());
    let other_filter = pb::SearchPlaceNamesRequest {
        page_token: token.clone(),
        region_code: COUNTY.into(),
        ..first.clone()
    };
    let other_query = pb::SearchPlaceNamesRequest {
        page_token: token,
        query: "x".into(),
        ..first.clone()
    };
    let garbage = pb::SearchPlaceNamesRequest {
        page_token: hex_of("0\u{1f}w\u{1f}x"),
        ..first.clone()
    };
    let truncated = pb::SearchPlaceNamesRequest {
        page_token: "zz".repeat(3000),
        ..first
    };
    for r in [other_filter, other_query, garbage, truncated] {
        let status = f
            .client()
            .search_place_names(f.suite.request(r, &f.public))
            .await
            .expect_err("refused");
        assert_eq!(violated_fields(&status), ["page_token"]);
    }
}

fn hex_of(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

/// #12 item 9: region filters of 5, 7 or 11 digits, or of an unknown province, are refused.
#[tokio::test]
async fn malformed_region_filters_are_refused() {
    let f = Fixture::start().await;
    for region in ["33072", "3307230", "33072300100", "990723"] {
        let r = pb::SearchPlaceNamesRequest {
            region_code: region.into(),
            ..search_req("w", pb::SearchMode::Pinyin)
        };
        let status = f
            .client()
            .search_place_names(f.suite.request(r, &f.public))
            .await
            .expect_err(region);
        assert_eq!(violated_fields(&status), ["region_code"], "{region}");
    }
    let province = pb::SearchPlaceNamesRequest {
        region_code: "33".into(),
        ..search_req("w", pb::SearchMode::Pinyin)
    };
    f.client()
        .search_place_names(f.suite.request(province, &f.public))
        .await
        .expect("a province prefix is a filter");
}
