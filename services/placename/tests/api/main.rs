//! gRPC tests of the place-name service through `kit::testing`: what a place-name officer, a
//! member of the public and an auditor would check. SQLite by default; PostgreSQL when
//! `CIVIL_TEST_PG` is set.

use contracts::civil::common::v1::Date;
use contracts::civil::placename::v1 as pb;
use contracts::civil::placename::v1::place_name_service_client::PlaceNameServiceClient;
use kit::error::{reason_of, violated_fields};
use kit::testing::{Role, TestSuite};
use sqlx::Row;
use tonic::Code;
use tonic::transport::Channel;

mod defects;
mod rules;

const COUNTY: &str = "330723";
const TOWNSHIP: &str = "330723001";
const COUNTY_TOWN: &str = "330723001+330723002+330723003";
const HEAD: &str = "name,generic_part,category,region_code,longitude_e6,latitude_e6,location,origin_meaning,status,approval_document,protected_heritage\n";

fn rid() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn d(y: i32, m: i32, day: i32) -> Option<Date> {
    Some(Date {
        year: y,
        month: m,
        day,
    })
}

struct Fixture {
    suite: TestSuite,
    officer: String,
    public: String,
}

impl Fixture {
    /// The suite with 武义's county policy: the county town's three 街道 (白洋, 壶山, 熟溪) are
    /// one built-up area for road and residential names (art. 9).
    async fn start() -> Fixture {
        Self::start_with_areas(COUNTY_TOWN).await
    }

    async fn start_with_areas(areas: &str) -> Fixture {
        let areas = areas.to_owned();
        let suite = kit::testing::spawn_with(&[placename::SERVICE], move |config| {
            config
                .extra
                .insert("placename_built_up_areas".into(), areas);
        })
        .await;
        Self::with(suite)
    }

    fn with(suite: TestSuite) -> Fixture {
        let officer = suite.token_for("pn-officer-1", &[Role::PlaceNameOfficer], COUNTY);
        let public = suite.token(&[Role::Citizen], "33");
        Fixture {
            suite,
            officer,
            public,
        }
    }

    fn client(&self) -> PlaceNameServiceClient<Channel> {
        PlaceNameServiceClient::new(self.suite.channel.clone())
    }

    fn req<T>(&self, m: T) -> tonic::Request<T> {
        self.suite.request(m, &self.officer)
    }

    async fn search(&self, query: &str, mode: pb::SearchMode, region: &str) -> Vec<pb::PlaceName> {
        let r = pb::SearchPlaceNamesRequest {
            query: query.into(),
            mode: mode.into(),
            region_code: region.into(),
            ..Default::default()
        };
        self.client()
            .search_place_names(self.suite.request(r, &self.public))
            .await
            .expect("search")
            .into_inner()
            .place_names
    }

    async fn import(&self, rows: &str) -> pb::ImportReport {
        let r = pb::ImportCensusRecordsRequest {
            request_id: rid(),
            csv: format!("{HEAD}{rows}"),
        };
        self.client()
            .import_census_records(self.req(r))
            .await
            .expect("import")
            .into_inner()
    }

    async fn count(&self, sql: &str) -> i64 {
        let db = self.suite.db("placename").await;
        sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_one(&db.pool)
            .await
            .expect("count")
            .try_get(0)
            .expect("n")
    }

    /// Imports an in-use road of the township and returns its id.
    async fn road(&self, name: &str, protected: bool) -> String {
        let report = self
            .import(&format!(
                "{name}路,路,ROAD,{TOWNSHIP},,,,,IN_USE,武政〔1985〕1号,{}\n",
                u8::from(protected)
            ))
            .await;
        assert_eq!(report.imported, 1, "{:?}", report.errors);
        self.search(&format!("{name}路"), pb::SearchMode::Exact, TOWNSHIP)
            .await[0]
            .place_name_id
            .clone()
    }

    async fn submit(
        &self,
        specific: &str,
        generic: &str,
        category: pb::Category,
        region: &str,
    ) -> Result<pb::NamingApplication, tonic::Status> {
        let r = pb::SubmitNamingApplicationRequest {
            request_id: rid(),
            kind: pb::ApplicationKind::Naming.into(),
            specific_part: specific.into(),
            generic_part: generic.into(),
            category: category.into(),
            region_code: region.into(),
            reasons: "new road in the development zone".into(),
            submitted_on: d(2026, 3, 2),
            ..Default::default()
        };
        self.client()
            .submit_naming_application(self.req(r))
            .await
            .map(|r| r.into_inner())
    }

    async fn review(
        &self,
        app: &str,
        addressed: &[&str],
        heritage: bool,
    ) -> Result<pb::NamingApplication, tonic::Status> {
        let r = pb::RecordExpertReviewRequest {
            request_id: rid(),
            application_id: app.into(),
            favourable: true,
            opinion: "the name fits the area's history".into(),
            addressed_warnings: addressed.iter().map(|s| s.to_string()).collect(),
            heritage_assessed: heritage,
            reviewed_on: d(2026, 3, 10),
            expert_report: "专家论证: 三位专家一致同意".into(),
            public_opinion_report: "征求意见: 公示 30 日, 无异议".into(),
        };
        self.client()
            .record_expert_review(self.req(r))
            .await
            .map(|r| r.into_inner())
    }

    async fn approve(&self, app: &str) -> Result<pb::NamingApplication, tonic::Status> {
        let r = pb::ApprovePlaceNameRequest {
            request_id: rid(),
            application_id: app.into(),
            approval_document: "武政地名〔2026〕3号".into(),
            approved_on: d(2026, 3, 16),
        };
        self.client()
            .approve_place_name(self.req(r))
            .await
            .map(|r| r.into_inner())
    }

    async fn publish(
        &self,
        app: &str,
        filed: Option<Date>,
    ) -> Result<pb::NamingApplication, tonic::Status> {
        let r = pb::RecordFilingAndAnnouncementRequest {
            request_id: rid(),
            application_id: app.into(),
            filed_on: filed,
            announced_on: d(2026, 3, 20),
        };
        self.client()
            .record_filing_and_announcement(self.req(r))
            .await
            .map(|r| r.into_inner())
    }
}

fn assert_refused<T: std::fmt::Debug>(result: Result<T, tonic::Status>, reason: &str) {
    let status = result.expect_err(reason);
    assert_eq!(
        status.code(),
        Code::FailedPrecondition,
        "{reason}: {status:?}"
    );
    assert_eq!(reason_of(&status).as_deref(), Some(reason));
}

#[tokio::test]
async fn the_seed_villages_are_searchable_out_of_the_box_and_load_once() {
    let f = Fixture::start().await;
    let found = f.search("下王宅", pb::SearchMode::Prefix, "").await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].name, "下王宅社区居委会");
    assert_eq!(found[0].region_code, "330723001001");
    assert_eq!(found[0].status, pb::NameStatus::InUse as i32);
    let by_pinyin = f
        .search("xiawangzhai", pb::SearchMode::Pinyin, COUNTY)
        .await;
    assert!(by_pinyin.iter().any(|p| p.name == "下王宅社区居委会"));
    let by_initials = f.search("xwz", pb::SearchMode::Pinyin, COUNTY).await;
    assert!(by_initials.iter().any(|p| p.name == "下王宅社区居委会"));
    let townships = f.search("白洋", pb::SearchMode::Exact, "").await;
    assert!(townships.is_empty(), "exact needs the whole name");
    let townships = f.search("白洋街道", pb::SearchMode::Exact, "").await;
    assert_eq!(
        townships[0].category,
        pb::Category::AdministrativeDivision as i32
    );
    let rows = f.count("SELECT COUNT(*) FROM place_names").await;
    assert_eq!(rows, 4712 + 289);
    let f = Fixture::with(f.suite.restart().await);
    assert_eq!(
        f.count("SELECT COUNT(*) FROM place_names").await,
        rows,
        "the seed loads once"
    );
    assert_eq!(
        f.search("下王宅", pb::SearchMode::Prefix, "").await.len(),
        1,
        "the index is rebuilt on start"
    );
}

#[tokio::test]
async fn search_pages_filters_and_fuzzy_text() {
    let f = Fixture::start().await;
    let mut token = String::new();
    let mut seen = Vec::new();
    loop {
        let r = pb::SearchPlaceNamesRequest {
            query: "w".into(),
            mode: pb::SearchMode::Pinyin.into(),
            region_code: COUNTY.into(),
            category: pb::Category::VillageSeat.into(),
            page_size: 5,
            page_token: token.clone(),
            ..Default::default()
        };
        let page = f
            .client()
            .search_place_names(f.suite.request(r, &f.public))
            .await
            .expect("page")
            .into_inner();
        assert!(
            page.place_names
                .iter()
                .all(|p| p.region_code.starts_with(COUNTY))
        );
        seen.extend(page.place_names.into_iter().map(|p| p.place_name_id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert!(seen.len() > 5, "more than one page: {}", seen.len());
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "no result twice across pages");
    let fuzzy = f.search("王宅居委", pb::SearchMode::Fuzzy, "").await;
    assert!(fuzzy.iter().any(|p| p.name == "下王宅社区居委会"));
    let bad = pb::SearchPlaceNamesRequest {
        query: "x".into(),
        mode: pb::SearchMode::Prefix.into(),
        page_token: "nope".into(),
        ..Default::default()
    };
    let status = f
        .client()
        .search_place_names(f.suite.request(bad, &f.public))
        .await
        .expect_err("bad token");
    assert_eq!(violated_fields(&status), ["page_token"]);
}

#[tokio::test]
async fn a_census_import_is_all_or_nothing_with_every_bad_row_reported() {
    let f = Fixture::start().await;
    let before = f.count("SELECT COUNT(*) FROM place_names").await;
    let bad = f
        .import(&format!(
            "解放路,路,ROAD,{TOWNSHIP},,,,,IN_USE,,0\n\
             人民路,街,ROAD,{TOWNSHIP},,,,,IN_USE,,0\n\
             熟溪,溪,NOPE,{TOWNSHIP},,,,,IN_USE,,0\n\
             白溪路,路,ROAD,330482001,,,,,IN_USE,,0\n"
        ))
        .await;
    assert_eq!(bad.imported, 0);
    let lines: Vec<i32> = bad.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [3, 4, 5], "{:?}", bad.errors);
    assert_eq!(
        f.count("SELECT COUNT(*) FROM place_names").await,
        before,
        "nothing half-imported"
    );
    let good = f.import(&format!("解放路,路,ROAD,{TOWNSHIP},119816000,28893000,东起城东路,纪念解放,IN_USE,武政〔1985〕12号,0\n熟溪,溪,NATURAL_FEATURE,{COUNTY},,,,,IN_USE,,0\n")).await;
    assert_eq!((good.imported, good.errors.len()), (2, 0));
    let found = f.search("解放路", pb::SearchMode::Exact, "").await;
    let full = f
        .client()
        .get_place_name(f.suite.request(
            pb::GetPlaceNameRequest {
                place_name_id: found[0].place_name_id.clone(),
            },
            &f.public,
        ))
        .await
        .expect("get")
        .into_inner();
    assert_eq!(full.origin_meaning, "纪念解放");
    assert_eq!(full.pinyin, "jie fang lu");
    assert!(
        full.code.starts_with("33072305"),
        "county + category code: {}",
        full.code
    );
    let again = f
        .import(&format!("解放路,路,ROAD,{TOWNSHIP},,,,,IN_USE,,0\n"))
        .await;
    assert_eq!(again.errors[0].line, 2, "already in the database");
}

#[tokio::test]
async fn a_name_goes_from_application_through_review_and_approval_into_use() {
    let f = Fixture::start().await;
    let app = f
        .submit("振兴", "路", pb::Category::Road, TOWNSHIP)
        .await
        .expect("checked");
    assert_eq!(app.stage, pb::ApplicationStage::Checked as i32);
    assert!(app.warnings.is_empty());
    assert_refused(
        f.approve(&app.application_id).await,
        "PLACENAME_WRONG_STAGE",
    );
    f.review(&app.application_id, &[], false)
        .await
        .expect("reviewed");
    let approved = f.approve(&app.application_id).await.expect("approved");
    assert_eq!(approved.filing_due, d(2026, 3, 31));
    let proposed = f.search("振兴路", pb::SearchMode::Exact, "").await;
    assert_eq!(proposed[0].status, pb::NameStatus::Proposed as i32);
    let done = f
        .publish(&app.application_id, d(2026, 4, 2))
        .await
        .expect("in use");
    assert_eq!(done.stage, pb::ApplicationStage::InUse as i32);
    assert!(done.filed_late && !done.announced_late);
    let in_use = f
        .search("zhenxinglu", pb::SearchMode::Pinyin, TOWNSHIP)
        .await;
    assert_eq!(in_use[0].status, pb::NameStatus::InUse as i32);
    assert_eq!(
        f.count(
            "SELECT COUNT(*) FROM outbox WHERE event_type = 'civil.placename.v1.PlaceNameApproved'"
        )
        .await,
        1
    );

    // The same name in the county is now a duplicate; the same sound warns.
    assert_refused(
        f.submit("振兴", "路", pb::Category::Road, "330723002")
            .await,
        "PLACENAME_DUPLICATE",
    );
    let province_officer = f.suite.token(&[Role::PlaceNameOfficer], "33");
    let elsewhere = pb::SubmitNamingApplicationRequest {
        request_id: rid(),
        kind: pb::ApplicationKind::Naming.into(),
        specific_part: "振兴".into(),
        generic_part: "路".into(),
        category: pb::Category::Road.into(),
        region_code: "330482001".into(),
        reasons: "r".into(),
        submitted_on: d(2026, 3, 2),
        ..Default::default()
    };
    f.client()
        .submit_naming_application(f.suite.request(elsewhere, &province_officer))
        .await
        .expect("another county may use it");
    let homophone = f
        .submit("震星", "路", pb::Category::Road, TOWNSHIP)
        .await
        .expect("warns only");
    assert_eq!(homophone.warnings[0].code, "PLACENAME_HOMOPHONE");
    assert_refused(
        f.review(&homophone.application_id, &[], false).await,
        "PLACENAME_WARNING_NOT_ADDRESSED",
    );
    f.review(&homophone.application_id, &["PLACENAME_HOMOPHONE"], false)
        .await
        .expect("addressed");
}

#[tokio::test]
async fn forbidden_names_are_refused_with_their_reasons() {
    let f = Fixture::start().await;
    for (specific, reason) in [
        ("帝景", "PLACENAME_EXAGGERATED"),
        ("国际", "PLACENAME_EXAGGERATED"),
        ("维多利亚", "PLACENAME_FOREIGN_NAME"),
        ("雷锋", "PLACENAME_PERSON_NAME"),
        ("\u{3400}家", "PLACENAME_RARE_CHARACTER"),
    ] {
        assert_refused(
            f.submit(specific, "路", pb::Category::Road, TOWNSHIP).await,
            reason,
        );
    }
    assert_refused(
        f.submit(
            "下王宅社区",
            "居委会",
            pb::Category::VillageSeat,
            "330723001009",
        )
        .await,
        "PLACENAME_DUPLICATE",
    );
}

#[tokio::test]
async fn renaming_a_protected_name_needs_the_heritage_review_and_keeps_the_old_name_as_historic() {
    let f = Fixture::start().await;
    let road = f.road("县前", true).await;
    let r = pb::SubmitNamingApplicationRequest {
        request_id: rid(),
        kind: pb::ApplicationKind::Renaming.into(),
        place_name_id: road.clone(),
        specific_part: "文昌".into(),
        generic_part: "路".into(),
        reasons: "widened and extended".into(),
        submitted_on: d(2026, 3, 2),
        ..Default::default()
    };
    let app = f
        .client()
        .submit_naming_application(f.req(r))
        .await
        .expect("checked")
        .into_inner();
    assert!(
        app.warnings
            .iter()
            .any(|w| w.code == "PLACENAME_PROTECTED_HERITAGE")
    );
    assert_refused(
        f.review(
            &app.application_id,
            &["PLACENAME_PROTECTED_HERITAGE"],
            false,
        )
        .await,
        "PLACENAME_HERITAGE_REVIEW_REQUIRED",
    );
    f.review(&app.application_id, &["PLACENAME_PROTECTED_HERITAGE"], true)
        .await
        .expect("assessed");
    f.approve(&app.application_id).await.expect("approved");
    f.publish(&app.application_id, d(2026, 3, 20))
        .await
        .expect("renamed");
    let renamed = f
        .client()
        .get_place_name(f.suite.request(
            pb::GetPlaceNameRequest {
                place_name_id: road.clone(),
            },
            &f.public,
        ))
        .await
        .expect("get")
        .into_inner();
    assert_eq!(renamed.name, "文昌路");
    assert!(
        f.search("县前路", pb::SearchMode::Exact, "")
            .await
            .is_empty(),
        "historic names are left out by default"
    );
    let r = pb::SearchPlaceNamesRequest {
        query: "县前路".into(),
        mode: pb::SearchMode::Exact.into(),
        include_historic: true,
        ..Default::default()
    };
    let old = f
        .client()
        .search_place_names(f.suite.request(r, &f.public))
        .await
        .expect("search")
        .into_inner()
        .place_names;
    assert_eq!(old[0].status, pb::NameStatus::Historic as i32);
    assert_eq!(
        f.count(
            "SELECT COUNT(*) FROM outbox WHERE event_type = 'civil.placename.v1.PlaceNameRenamed'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn house_numbers_run_odd_and_even_with_sub_numbers_and_compose_a_parsable_address() {
    let f = Fixture::start().await;
    let road = f.road("解放", false).await;
    let allocate = |side: pb::Side, position_m: i64| pb::AllocateHouseNumberRequest {
        request_id: rid(),
        road_id: road.clone(),
        side: side.into(),
        position_m,
        ..Default::default()
    };
    let mut labels = Vec::new();
    for (side, at) in [
        (pb::Side::Left, 10),
        (pb::Side::Left, 20),
        (pb::Side::Right, 15),
        (pb::Side::Left, 12),
        (pb::Side::Left, 14),
    ] {
        labels.push(
            f.client()
                .allocate_house_number(f.req(allocate(side, at)))
                .await
                .expect("allocated")
                .into_inner()
                .label,
        );
    }
    assert_eq!(labels, ["1号", "3号", "2号", "1-1号", "1-2号"]);
    assert_refused(
        f.client()
            .allocate_house_number(f.req(allocate(pb::Side::Left, 11)))
            .await,
        "PLACENAME_NO_NUMBER_SLOT",
    );
    let list = f
        .client()
        .list_house_numbers(f.suite.request(
            pb::ListHouseNumbersRequest {
                road_id: road.clone(),
            },
            &f.public,
        ))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(list.house_numbers.len(), 5);
    let infill = list
        .house_numbers
        .iter()
        .find(|h| h.label == "1-1号")
        .expect("1-1");
    let r = pb::ComposeAddressRequest {
        house_number_id: infill.house_number_id.clone(),
        building: "3".into(),
        unit: "2".into(),
        room: "501".into(),
    };
    let composed = f
        .client()
        .compose_address(f.suite.request(r, &f.public))
        .await
        .expect("compose")
        .into_inner();
    assert_eq!(
        composed.text,
        "浙江省金华市武义县白洋街道解放路1-1号3幢2单元501室"
    );
    let parsed = f
        .client()
        .parse_address(f.suite.request(
            pb::ParseAddressRequest {
                text: composed.text.clone(),
            },
            &f.public,
        ))
        .await
        .expect("parse")
        .into_inner();
    assert_eq!(parsed, composed);

    let village = f
        .search("下王宅社区居委会", pb::SearchMode::Exact, "")
        .await[0]
        .place_name_id
        .clone();
    let r = pb::AllocateHouseNumberRequest {
        request_id: rid(),
        road_id: village,
        side: pb::Side::Left.into(),
        position_m: 1,
        ..Default::default()
    };
    assert_refused(
        f.client().allocate_house_number(f.req(r)).await,
        "PLACENAME_NOT_A_ROAD",
    );
}

#[tokio::test]
async fn malformed_input_is_invalid_argument_with_every_bad_field() {
    let f = Fixture::start().await;
    let r = pb::SubmitNamingApplicationRequest {
        request_id: rid(),
        region_code: "33x".into(),
        ..Default::default()
    };
    let status = f
        .client()
        .submit_naming_application(f.req(r))
        .await
        .expect_err("invalid");
    assert_eq!(status.code(), Code::InvalidArgument);
    let fields = violated_fields(&status);
    for field in [
        "kind",
        "specific_part",
        "generic_part",
        "reasons",
        "submitted_on",
        "category",
        "region_code",
    ] {
        assert!(fields.contains(&field.to_owned()), "{field} in {fields:?}");
    }
    let r = pb::SearchPlaceNamesRequest {
        page_size: -1,
        ..Default::default()
    };
    let status = f
        .client()
        .search_place_names(f.suite.request(r, &f.public))
        .await
        .expect_err("invalid");
    assert_eq!(violated_fields(&status), ["mode", "query", "page_size"]);
}

#[tokio::test]
async fn wrong_role_or_region_is_permission_denied() {
    let f = Fixture::start().await;
    let other_county = f.suite.token(&[Role::PlaceNameOfficer], "330724");
    let r = pb::SubmitNamingApplicationRequest {
        request_id: rid(),
        kind: pb::ApplicationKind::Naming.into(),
        specific_part: "振兴".into(),
        generic_part: "路".into(),
        category: pb::Category::Road.into(),
        region_code: TOWNSHIP.into(),
        reasons: "r".into(),
        submitted_on: d(2026, 3, 2),
        ..Default::default()
    };
    for token in [&f.public, &other_county] {
        let status = f
            .client()
            .submit_naming_application(f.suite.request(r.clone(), token))
            .await
            .expect_err("denied");
        assert_eq!(status.code(), Code::PermissionDenied);
    }
    let r = pb::ImportCensusRecordsRequest {
        request_id: rid(),
        csv: format!("{HEAD}解放路,路,ROAD,{TOWNSHIP},,,,,IN_USE,,0\n"),
    };
    let report = f
        .client()
        .import_census_records(f.suite.request(r, &other_county))
        .await
        .expect("report")
        .into_inner();
    assert_eq!(
        report.errors[0].column, "region_code",
        "rows outside the caller's region are bad rows"
    );
}

#[tokio::test]
async fn a_retried_request_id_returns_the_first_answer_and_a_reused_one_is_refused() {
    let f = Fixture::start().await;
    let r = pb::SubmitNamingApplicationRequest {
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
    let first = f
        .client()
        .submit_naming_application(f.req(r.clone()))
        .await
        .expect("first")
        .into_inner();
    let again = f
        .client()
        .submit_naming_application(f.req(r.clone()))
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(first, again);
    assert_eq!(f.count("SELECT COUNT(*) FROM naming_applications").await, 1);
    let reused = pb::SubmitNamingApplicationRequest {
        specific_part: "兴旺".into(),
        ..r
    };
    assert_refused(
        f.client().submit_naming_application(f.req(reused)).await,
        "REQUEST_ID_REUSED",
    );
}

#[tokio::test]
async fn the_audit_chain_verifies_and_names_the_officer() {
    let f = Fixture::start().await;
    f.road("和平", false).await;
    let _ = f.submit("帝豪", "路", pb::Category::Road, TOWNSHIP).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let db = f.suite.db("placename").await;
    auth::audit::verify(&db.pool).await.expect("chain verifies");
    let rows = auth::audit::list(&db.pool, 0, 100).await.expect("list");
    assert!(
        rows.iter().any(|r| r.entry.actor == "pn-officer-1"
            && r.entry.action == "placename.ImportCensusRecords")
    );
    assert!(
        rows.iter()
            .any(|r| r.entry.outcome == "PLACENAME_EXAGGERATED")
    );
}
