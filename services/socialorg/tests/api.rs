//! gRPC tests of the social-organisation service through `kit::testing`: what an officer, the
//! after-death aggregator, a member of the public and an auditor would check. SQLite by default;
//! PostgreSQL when `CIVIL_TEST_PG` is set.

use contracts::civil::common::v1::{Date, PersonRef};
use contracts::civil::socialorg::v1 as pb;
use contracts::civil::socialorg::v1::social_org_service_client::SocialOrgServiceClient;
use kit::error::{reason_of, violated_fields};
use kit::testing::{Role, TestSuite};
use sqlx::Row;
use tonic::Code;
use tonic::transport::Channel;

const COUNTY: &str = "330723";

fn id(first17: &str) -> String {
    format!("{first17}{}", civil_id::IdNumber::check_char(first17))
}

fn d(y: i32, m: i32, day: i32) -> Option<Date> {
    Some(Date {
        year: y,
        month: m,
        day,
    })
}

fn rid() -> String {
    uuid::Uuid::now_v7().to_string()
}

struct Fixture {
    suite: TestSuite,
    officer: String,
    service: String,
    public: String,
}

impl Fixture {
    async fn start() -> Fixture {
        // The background sweep would list organisations as of the real today; the tests drive
        // the sweep with their own dates.
        let suite = kit::testing::spawn_with(&[socialorg::SERVICE], |cfg| {
            cfg.extra.insert("socialorg_sweep".into(), "off".into());
        })
        .await;
        let officer = suite.token_for("officer-1", &[Role::SocialOrgOfficer], COUNTY);
        let service = suite.token_for("svc-onematter", &[Role::Service], COUNTY);
        let public = suite.token(&[Role::Citizen], "33");
        Fixture {
            suite,
            officer,
            service,
            public,
        }
    }

    fn client(&self) -> SocialOrgServiceClient<Channel> {
        SocialOrgServiceClient::new(self.suite.channel.clone())
    }

    fn req<T>(&self, m: T) -> tonic::Request<T> {
        self.suite.request(m, &self.officer)
    }

    async fn register(
        &self,
        r: pb::RegisterOrganisationRequest,
    ) -> Result<pb::Organisation, tonic::Status> {
        self.client()
            .register_organisation(self.req(r))
            .await
            .map(|r| r.into_inner())
    }

    async fn sweep(&self, date: Option<Date>) -> pb::ListingSweep {
        let r = pb::RunListingSweepRequest {
            request_id: rid(),
            date,
        };
        self.client()
            .run_listing_sweep(self.req(r))
            .await
            .expect("sweep")
            .into_inner()
    }

    async fn count(&self, sql: &str) -> i64 {
        let db = self.suite.db("socialorg").await;
        sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_one(&db.pool)
            .await
            .expect("count")
            .try_get(0)
            .expect("n")
    }
}

fn group(name: &str, rep: &str) -> pb::RegisterOrganisationRequest {
    pb::RegisterOrganisationRequest {
        request_id: rid(),
        kind: pb::OrganisationKind::SocialGroup.into(),
        field: pb::ActivityField::Other.into(),
        name: name.into(),
        region_code: COUNTY.into(),
        address: "武义县壶山街道解放路12号".into(),
        legal_representative: Some(PersonRef {
            id_number: id(rep),
            name: "王建国".into(),
        }),
        supervisory_unit: "武义县文联".into(),
        individual_members: 60,
        unit_members: 0,
        funds_fen: 3_000_000,
        public_fundraising: false,
        application_received_on: d(2024, 3, 1),
        decided_on: d(2024, 4, 3),
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
async fn registration_issues_a_valid_credit_code_and_records_the_event() {
    let f = Fixture::start().await;
    let a = f
        .register(group("武义县书法家协会", "33072319700101001"))
        .await
        .expect("registered");
    let b = f
        .register(group("武义县摄影家协会", "33072319700101002"))
        .await
        .expect("registered");
    for (org, _) in [(&a, 1), (&b, 2)] {
        let code = civil_id::CreditCode::parse(&org.credit_code).expect("check char valid");
        assert_eq!(
            (code.authority(), code.kind(), code.region()),
            ('5', '1', COUNTY)
        );
    }
    assert_ne!(a.credit_code, b.credit_code);
    assert_eq!(a.status, pb::OrganisationStatus::Active as i32);
    assert!(a.decided_in_time, "decided 33 days after receipt");
    assert_eq!(a.decision_due, d(2024, 4, 30), "60 days after 2024-03-01");
    let rep = a.legal_representative.expect("rep");
    assert!(
        rep.id_number.contains('*'),
        "the officer sees a masked number: {}",
        rep.id_number
    );
    assert_eq!(f.count("SELECT COUNT(*) FROM outbox WHERE event_type = 'civil.socialorg.v1.OrganisationRegistered'").await, 2);
    assert_eq!(
        f.count("SELECT COUNT(*) FROM organisations WHERE rep_id_sealed LIKE '33072319700101%'")
            .await,
        0,
        "sealed at rest"
    );
}

#[tokio::test]
async fn foundations_and_private_units_get_their_kind_digit() {
    let f = Fixture::start().await;
    let mut unit = group("武义县阳光养老服务中心", "33072319700101003");
    unit.kind = pb::OrganisationKind::PrivateNonEnterpriseUnit.into();
    unit.individual_members = 0;
    unit.funds_fen = 0;
    let unit = f.register(unit).await.expect("unit");
    assert_eq!(&unit.credit_code[..2], "52");
    let mut foundation = group("武义县教育基金会", "33072319700101004");
    foundation.kind = pb::OrganisationKind::Foundation.into();
    foundation.field = pb::ActivityField::Charity.into();
    foundation.supervisory_unit = String::new();
    foundation.funds_fen = 200_000_000;
    let foundation = f.register(foundation).await.expect("foundation");
    assert_eq!(&foundation.credit_code[..2], "53");
}

#[tokio::test]
async fn each_refusal_reason_of_registration_is_reported() {
    let f = Fixture::start().await;
    f.register(group("武义县围棋协会", "33072319700101005"))
        .await
        .expect("first");
    let cases: Vec<(pb::RegisterOrganisationRequest, &str)> = vec![
        (
            pb::RegisterOrganisationRequest {
                individual_members: 49,
                ..group("武义县象棋协会", "33072319700101006")
            },
            "SOCIALORG_TOO_FEW_MEMBERS",
        ),
        (
            pb::RegisterOrganisationRequest {
                funds_fen: 2_999_999,
                ..group("武义县象棋协会", "33072319700101006")
            },
            "SOCIALORG_FUNDS_TOO_LOW",
        ),
        (
            group("中华武义象棋协会", "33072319700101006"),
            "SOCIALORG_NAME_NOT_ALLOWED",
        ),
        (
            group("武义县围棋协会", "33072319700101006"),
            "SOCIALORG_NAME_TAKEN",
        ),
        (
            pb::RegisterOrganisationRequest {
                supervisory_unit: String::new(),
                ..group("武义县象棋协会", "33072319700101006")
            },
            "SOCIALORG_SUPERVISORY_UNIT_REQUIRED",
        ),
        (
            pb::RegisterOrganisationRequest {
                decided_on: d(2024, 2, 1),
                ..group("武义县象棋协会", "33072319700101006")
            },
            "SOCIALORG_APPLICATION_IN_FUTURE",
        ),
    ];
    for (request, reason) in cases {
        assert_refused(f.register(request).await, reason);
    }
    let mut direct = group("武义县象棋协会", "33072319700101006");
    direct.supervisory_unit = String::new();
    direct.field = pb::ActivityField::CommunityService.into();
    f.register(direct)
        .await
        .expect("community service registers directly");
}

#[tokio::test]
async fn malformed_input_is_invalid_argument_with_every_bad_field() {
    let f = Fixture::start().await;
    let bad = pb::RegisterOrganisationRequest {
        request_id: rid(),
        region_code: "3307".into(),
        legal_representative: Some(PersonRef {
            id_number: "330723197001010010".into(),
            name: String::new(),
        }),
        decided_on: Some(Date {
            year: 2023,
            month: 2,
            day: 30,
        }),
        ..Default::default()
    };
    let status = f.register(bad).await.expect_err("invalid");
    assert_eq!(status.code(), Code::InvalidArgument);
    let fields = violated_fields(&status);
    for field in [
        "kind",
        "field",
        "name",
        "address",
        "region_code",
        "legal_representative.id_number",
        "legal_representative.name",
        "application_received_on",
        "decided_on",
    ] {
        assert!(fields.contains(&field.to_owned()), "{field} in {fields:?}");
    }
    assert!(
        !status.message().contains("330723197001010010"),
        "the number is not echoed"
    );
}

#[tokio::test]
async fn wrong_role_or_region_is_permission_denied() {
    let f = Fixture::start().await;
    let registrar = f.suite.token(&[Role::Registrar], COUNTY);
    let other_county = f.suite.token(&[Role::SocialOrgOfficer], "330724");
    for token in [&registrar, &other_county] {
        let status = f
            .client()
            .register_organisation(
                f.suite
                    .request(group("武义县钓鱼协会", "33072319700101007"), token),
            )
            .await
            .expect_err("denied");
        assert_eq!(status.code(), Code::PermissionDenied);
    }
    let org = f
        .register(group("武义县钓鱼协会", "33072319700101007"))
        .await
        .expect("registered");
    let r = pb::ListByLegalRepresentativeRequest {
        id_number: id("33072319700101007"),
    };
    let status = f
        .client()
        .list_by_legal_representative(f.suite.request(r, &f.public))
        .await
        .expect_err("citizen denied");
    assert_eq!(status.code(), Code::PermissionDenied);
    let r = pb::GrantRatingRequest {
        request_id: rid(),
        organisation_id: org.organisation_id,
        level: 3,
        assessed_on: d(2026, 9, 1),
    };
    let status = f
        .client()
        .grant_rating(f.suite.request(r, &other_county))
        .await
        .expect_err("other county");
    assert_eq!(status.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn a_retried_request_id_returns_the_first_answer_and_a_reused_one_is_refused() {
    let f = Fixture::start().await;
    let request = group("武义县太极拳协会", "33072319700101008");
    let first = f.register(request.clone()).await.expect("first");
    let again = f.register(request.clone()).await.expect("retry");
    assert_eq!(first, again);
    assert_eq!(f.count("SELECT COUNT(*) FROM organisations").await, 1);
    let reused = pb::RegisterOrganisationRequest {
        name: "武义县太极剑协会".into(),
        ..request
    };
    assert_refused(f.register(reused).await, "REQUEST_ID_REUSED");
}

#[tokio::test]
async fn the_after_death_matter_finds_the_organisations_and_opens_one_task_each() {
    let f = Fixture::start().await;
    let rep = "33072319500101009";
    let org = f
        .register(group("武义县老年书画研究会", rep))
        .await
        .expect("registered");
    f.register(group("武义县老年体育协会", rep))
        .await
        .expect("registered");
    let r = pb::ListByLegalRepresentativeRequest {
        id_number: id(rep).to_lowercase(),
    };
    let found = f
        .client()
        .list_by_legal_representative(f.suite.request(r, &f.service))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(found.organisations.len(), 2);
    assert_eq!(
        found.organisations[0]
            .legal_representative
            .as_ref()
            .expect("rep")
            .id_number,
        id(rep),
        "the service sees it in full"
    );

    let open = |request_id: &str| pb::OpenRepresentativeChangeTaskRequest {
        request_id: request_id.into(),
        organisation_id: org.organisation_id.clone(),
        reason: "legal representative deceased".into(),
    };
    let task = f
        .client()
        .open_representative_change_task(f.suite.request(open("case-1/step-socialorg"), &f.service))
        .await
        .expect("task")
        .into_inner();
    let retried = f
        .client()
        .open_representative_change_task(f.suite.request(open("case-1/step-socialorg"), &f.service))
        .await
        .expect("retry")
        .into_inner();
    let other = f
        .client()
        .open_representative_change_task(f.suite.request(open("case-2/step-socialorg"), &f.service))
        .await
        .expect("joins")
        .into_inner();
    assert_eq!(task, retried);
    assert_eq!(
        task.task_id, other.task_id,
        "one open task per organisation"
    );
    assert_eq!(task.status, pb::TaskStatus::Open as i32);
    assert_eq!(
        f.count("SELECT COUNT(*) FROM representative_tasks").await,
        1
    );

    let change = pb::ChangeOrganisationRequest {
        request_id: rid(),
        organisation_id: org.organisation_id.clone(),
        new_legal_representative: Some(PersonRef {
            id_number: id("33072319800101010"),
            name: "李红".into(),
        }),
        changed_on: d(2026, 11, 2),
        ..Default::default()
    };
    let changed = f
        .client()
        .change_organisation(f.req(change))
        .await
        .expect("changed")
        .into_inner();
    assert!(
        changed.open_task_id.is_empty(),
        "the change closes the task"
    );
    let r = pb::ListByLegalRepresentativeRequest { id_number: id(rep) };
    let found = f
        .client()
        .list_by_legal_representative(f.suite.request(r, &f.service))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(found.organisations.len(), 1);
}

#[tokio::test]
async fn changes_are_registered_and_refused_when_nothing_changes_or_not_active() {
    let f = Fixture::start().await;
    let org = f
        .register(group("武义县茶文化研究会", "33072319700101011"))
        .await
        .expect("registered");
    f.register(group("武义县茶叶协会", "33072319700101012"))
        .await
        .expect("registered");
    let change = |name: &str| pb::ChangeOrganisationRequest {
        request_id: rid(),
        organisation_id: org.organisation_id.clone(),
        new_name: name.into(),
        changed_on: d(2026, 10, 9),
        ..Default::default()
    };
    let changed = f
        .client()
        .change_organisation(f.req(change("武义县茶文化促进会")))
        .await
        .expect("renamed")
        .into_inner();
    assert_eq!(changed.name, "武义县茶文化促进会");
    assert_refused(
        f.client()
            .change_organisation(f.req(change("武义县茶文化促进会")))
            .await,
        "SOCIALORG_NOTHING_TO_CHANGE",
    );
    assert_refused(
        f.client()
            .change_organisation(f.req(change("武义县茶叶协会")))
            .await,
        "SOCIALORG_NAME_TAKEN",
    );
    let dereg = pb::DeregisterOrganisationRequest {
        request_id: rid(),
        organisation_id: org.organisation_id.clone(),
        deregistered_on: d(2026, 10, 12),
        reason: "dissolved by members".into(),
    };
    let gone = f
        .client()
        .deregister_organisation(f.req(dereg))
        .await
        .expect("deregistered")
        .into_inner();
    assert_eq!(gone.status, pb::OrganisationStatus::Deregistered as i32);
    assert_refused(
        f.client()
            .change_organisation(f.req(change("武义县茶道会")))
            .await,
        "SOCIALORG_NOT_ACTIVE",
    );
}

#[tokio::test]
async fn a_non_reporter_is_listed_at_the_deadline_and_leaves_five_working_days_after_filing() {
    let f = Fixture::start().await;
    let org = f
        .register(group("武义县登山协会", "33072319700101013"))
        .await
        .expect("registered");
    let report = |year: i32, on: Option<Date>| pb::SubmitAnnualReportRequest {
        request_id: rid(),
        organisation_id: org.organisation_id.clone(),
        year,
        submitted_on: on,
        result: pb::InspectionResult::Passed.into(),
        ..Default::default()
    };
    // The 2024 report was due 2025-06-03 (Dragon Boat holiday moved it).
    assert!(f.sweep(d(2025, 6, 3)).await.listed.is_empty());
    let swept = f.sweep(d(2025, 6, 10)).await;
    assert_eq!(swept.listed.len(), 1);
    let listing = &swept.listed[0];
    assert_eq!(
        listing.trigger,
        pb::ListingTrigger::MissedAnnualReport as i32
    );
    assert_eq!(listing.list, pb::CreditList::Abnormal as i32);
    assert_eq!(listing.listed_on, d(2025, 6, 4));
    assert!(listing.evidence.contains("2024"));
    assert!(
        f.sweep(d(2025, 6, 10)).await.listed.is_empty(),
        "listed once"
    );

    // The public sees the list with public fields only.
    let list = pb::ListCreditListingsRequest {
        list: pb::CreditList::Abnormal.into(),
        on: d(2025, 6, 20),
        ..Default::default()
    };
    let public = f
        .client()
        .list_credit_listings(f.suite.request(list.clone(), &f.public))
        .await
        .expect("public")
        .into_inner();
    assert_eq!(public.listings.len(), 1);
    assert_eq!(public.listings[0].credit_code, org.credit_code);

    let filed = f
        .client()
        .submit_annual_report(f.req(report(2024, d(2025, 7, 1))))
        .await
        .expect("late report")
        .into_inner();
    assert!(filed.late);
    assert!(f.sweep(d(2025, 7, 7)).await.delisted.is_empty());
    let swept = f.sweep(d(2025, 7, 8)).await;
    assert_eq!(swept.delisted.len(), 1);
    assert_eq!(
        swept.delisted[0].removal_reason,
        pb::RemovalReason::Corrected as i32
    );
    assert_eq!(f.count("SELECT COUNT(*) FROM outbox WHERE event_type = 'civil.socialorg.v1.OrganisationDelisted'").await, 1);
    assert_refused(
        f.client()
            .submit_annual_report(f.req(report(2024, d(2025, 7, 2))))
            .await,
        "SOCIALORG_REPORT_ALREADY_FILED",
    );
    assert_refused(
        f.client()
            .submit_annual_report(f.req(report(2026, d(2026, 7, 2))))
            .await,
        "SOCIALORG_REPORT_YEAR_NOT_ENDED",
    );
}

#[tokio::test]
async fn two_years_on_the_abnormal_list_escalate_and_the_serious_list_needs_two_clean_years() {
    let f = Fixture::start().await;
    let org = f
        .register(group("武义县龙舟协会", "33072319700101014"))
        .await
        .expect("registered");
    for year in [2024, 2025] {
        let r = pb::SubmitAnnualReportRequest {
            request_id: rid(),
            organisation_id: org.organisation_id.clone(),
            year,
            submitted_on: d(year + 1, 3, 1),
            result: pb::InspectionResult::Passed.into(),
            ..Default::default()
        };
        f.client()
            .submit_annual_report(f.req(r))
            .await
            .expect("report");
    }
    let breach = pb::RecordBreachRequest {
        request_id: rid(),
        organisation_id: org.organisation_id.clone(),
        trigger: pb::ListingTrigger::Unreachable.into(),
        decided_on: d(2024, 3, 1),
        fine_fen: 0,
        evidence: "two registered letters returned 2024-01-10 and 2024-02-20".into(),
    };
    let listing = f
        .client()
        .record_breach(f.req(breach))
        .await
        .expect("listed")
        .into_inner();
    assert_eq!(listing.list, pb::CreditList::Abnormal as i32);
    assert!(f.sweep(d(2026, 2, 28)).await.listed.is_empty());
    let swept = f.sweep(d(2026, 3, 1)).await;
    assert_eq!(swept.listed.len(), 1);
    assert_eq!(
        swept.listed[0].trigger,
        pb::ListingTrigger::AbnormalTwoYears as i32
    );
    assert_eq!(swept.listed[0].list, pb::CreditList::Serious as i32);
    assert_eq!(
        swept.delisted[0].removal_reason,
        pb::RemovalReason::Escalated as i32
    );

    let apply = |on: Option<Date>| pb::ApplyForSeriousListRemovalRequest {
        request_id: rid(),
        organisation_id: org.organisation_id.clone(),
        applied_on: on,
    };
    assert_refused(
        f.client()
            .apply_for_serious_list_removal(f.req(apply(d(2027, 2, 28))))
            .await,
        "SOCIALORG_NOT_TWO_CLEAN_YEARS",
    );
    let removed = f
        .client()
        .apply_for_serious_list_removal(f.req(apply(d(2028, 3, 1))))
        .await
        .expect("removed")
        .into_inner();
    assert_eq!(removed.delisted.len(), 1);
    assert_refused(
        f.client()
            .apply_for_serious_list_removal(f.req(apply(d(2028, 3, 2))))
            .await,
        "SOCIALORG_NOT_ON_SERIOUS_LIST",
    );
}

#[tokio::test]
async fn a_correction_needs_a_listing_in_force_and_a_large_fine_goes_straight_to_the_serious_list()
{
    let f = Fixture::start().await;
    let org = f
        .register(group("武义县美食协会", "33072319700101015"))
        .await
        .expect("registered");
    let breach = |trigger: pb::ListingTrigger, fine_fen: i64| pb::RecordBreachRequest {
        request_id: rid(),
        organisation_id: org.organisation_id.clone(),
        trigger: trigger.into(),
        decided_on: d(2026, 3, 2),
        fine_fen,
        evidence: "武民罚〔2026〕3号".into(),
    };
    let warning = f
        .client()
        .record_breach(f.req(breach(pb::ListingTrigger::Warning, 0)))
        .await
        .expect("warning")
        .into_inner();
    let fine = f
        .client()
        .record_breach(f.req(breach(pb::ListingTrigger::Fine, 5_000_000)))
        .await
        .expect("fine")
        .into_inner();
    assert_eq!(fine.list, pb::CreditList::Serious as i32);
    let correct = |listing: &str| pb::RecordCorrectionRequest {
        request_id: rid(),
        listing_id: listing.into(),
        corrected_on: d(2026, 4, 30),
        evidence: "rectification report accepted".into(),
    };
    let corrected = f
        .client()
        .record_correction(f.req(correct(&warning.listing_id)))
        .await
        .expect("corrected")
        .into_inner();
    assert_eq!(
        corrected.removal_due,
        d(2026, 5, 11),
        "5 working days, the May Day holiday not counted"
    );
    assert_refused(
        f.client()
            .record_correction(f.req(correct(&fine.listing_id)))
            .await,
        "SOCIALORG_NOT_CORRECTABLE",
    );
    let status = f
        .client()
        .record_breach(f.req(breach(pb::ListingTrigger::MissedAnnualReport, 0)))
        .await
        .expect_err("the sweep records missed reports");
    assert_eq!(violated_fields(&status), ["trigger"]);
}

#[tokio::test]
async fn a_rating_needs_two_years_a_passed_report_and_no_penalty_and_lasts_five_years() {
    let f = Fixture::start().await;
    let org = f
        .register(group("武义县慈善总会", "33072319700101016"))
        .await
        .expect("registered");
    let grant = |on: Option<Date>| pb::GrantRatingRequest {
        request_id: rid(),
        organisation_id: org.organisation_id.clone(),
        level: 4,
        assessed_on: on,
    };
    assert_refused(
        f.client().grant_rating(f.req(grant(d(2025, 4, 2)))).await,
        "SOCIALORG_RATING_TOO_NEW",
    );
    assert_refused(
        f.client().grant_rating(f.req(grant(d(2026, 9, 1)))).await,
        "SOCIALORG_RATING_INSPECTION",
    );
    let r = pb::SubmitAnnualReportRequest {
        request_id: rid(),
        organisation_id: org.organisation_id.clone(),
        year: 2025,
        submitted_on: d(2026, 4, 1),
        result: pb::InspectionResult::Passed.into(),
        ..Default::default()
    };
    f.client()
        .submit_annual_report(f.req(r))
        .await
        .expect("report");
    let rating = f
        .client()
        .grant_rating(f.req(grant(d(2026, 9, 1))))
        .await
        .expect("rated")
        .into_inner();
    assert_eq!(rating.valid_until, d(2031, 8, 31));
    let shown = f
        .client()
        .get_organisation(f.suite.request(
            pb::GetOrganisationRequest {
                organisation_id: org.organisation_id.clone(),
            },
            &f.public,
        ))
        .await
        .expect("get")
        .into_inner();
    assert_eq!(shown.rating.map(|r| r.level), Some(4));
    let warning = pb::RecordBreachRequest {
        request_id: rid(),
        organisation_id: org.organisation_id.clone(),
        trigger: pb::ListingTrigger::Warning.into(),
        decided_on: d(2026, 9, 10),
        fine_fen: 0,
        evidence: "武民罚〔2026〕9号".into(),
    };
    f.client()
        .record_breach(f.req(warning))
        .await
        .expect("warning");
    assert_refused(
        f.client().grant_rating(f.req(grant(d(2026, 10, 1)))).await,
        "SOCIALORG_RATING_UNDER_PENALTY",
    );
}

#[tokio::test]
async fn the_audit_chain_verifies_and_names_the_officer() {
    let f = Fixture::start().await;
    f.register(group("武义县集邮协会", "33072319700101017"))
        .await
        .expect("registered");
    let _ = f
        .register(pb::RegisterOrganisationRequest {
            individual_members: 1,
            ..group("武义县集币协会", "33072319700101018")
        })
        .await;
    f.sweep(d(2025, 6, 10)).await;
    let db = f.suite.db("socialorg").await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let rows = auth::audit::verify(&db.pool).await.expect("chain verifies");
    assert!(rows >= 3, "rows: {rows}");
    let actors = auth::audit::list(&db.pool, 0, 100).await.expect("list");
    assert!(actors.iter().any(
        |r| r.entry.actor == "officer-1" && r.entry.action == "socialorg.RegisterOrganisation"
    ));
    assert!(
        actors
            .iter()
            .any(|r| r.entry.outcome == "SOCIALORG_TOO_FEW_MEMBERS"),
        "refusals are audited"
    );
    assert!(
        actors
            .iter()
            .all(|r| !r.entry.object.contains("33072319700101")),
        "no identity numbers in audit objects"
    );
}

#[tokio::test]
async fn the_issued_credit_code_passes_the_full_gb_32100_check_body_included() {
    let f = Fixture::start().await;
    for (name, rep) in [
        ("武义县围棋协会", "33072319700101021"),
        ("武义县象棋协会", "33072319700101022"),
    ] {
        let org = f.register(group(name, rep)).await.expect("registered");
        assert!(
            socialorg::domain::registration::passes_full_credit_code_check(&org.credit_code),
            "body check character of {} (GB 11714)",
            org.credit_code
        );
    }
}

#[tokio::test]
async fn a_public_listing_names_the_deciding_authority() {
    let suite = kit::testing::spawn_with(&[socialorg::SERVICE], |cfg| {
        cfg.extra.insert("socialorg_sweep".into(), "off".into());
        cfg.extra
            .insert("socialorg_authority".into(), "武义县民政局".into());
    })
    .await;
    let officer = suite.token(&[Role::SocialOrgOfficer], COUNTY);
    let public = suite.token(&[Role::Citizen], "33");
    let mut client = SocialOrgServiceClient::new(suite.channel.clone());
    let org = client
        .register_organisation(
            suite.request(group("武义县登山协会", "33072319700101023"), &officer),
        )
        .await
        .expect("registered")
        .into_inner();
    let breach = pb::RecordBreachRequest {
        request_id: rid(),
        organisation_id: org.organisation_id,
        trigger: pb::ListingTrigger::Warning.into(),
        decided_on: d(2026, 3, 2),
        fine_fen: 0,
        evidence: "武民罚〔2026〕5号".into(),
    };
    let listing = client
        .record_breach(suite.request(breach, &officer))
        .await
        .expect("listed")
        .into_inner();
    assert_eq!(listing.deciding_authority, "武义县民政局");
    let listed = client
        .list_credit_listings(suite.request(
            pb::ListCreditListingsRequest {
                list: pb::CreditList::Abnormal.into(),
                on: d(2026, 3, 3),
                ..Default::default()
            },
            &public,
        ))
        .await
        .expect("public list")
        .into_inner();
    assert_eq!(listed.listings.len(), 1);
    assert_eq!(listed.listings[0].deciding_authority, "武义县民政局");
}

#[tokio::test]
async fn a_change_of_legal_representative_keeps_who_from_to_when_and_why() {
    let f = Fixture::start().await;
    let org = f
        .register(group("武义县诗词学会", "33072319700101024"))
        .await
        .expect("registered");
    let change = pb::ChangeOrganisationRequest {
        request_id: rid(),
        organisation_id: org.organisation_id.clone(),
        new_legal_representative: Some(PersonRef {
            id_number: id("33072319800101025"),
            name: "李红".into(),
        }),
        changed_on: d(2026, 11, 2),
        reason: "换届选举".into(),
        ..Default::default()
    };
    f.client()
        .change_organisation(f.req(change))
        .await
        .expect("changed");
    // The after-death matter (a service) sees full numbers; the officer masked ones.
    let seen = f
        .client()
        .get_organisation(f.suite.request(
            pb::GetOrganisationRequest {
                organisation_id: org.organisation_id.clone(),
            },
            &f.service,
        ))
        .await
        .expect("read")
        .into_inner();
    assert_eq!(seen.changes.len(), 1);
    let c = &seen.changes[0];
    assert_eq!(c.what, "legal_representative");
    let from = c.from_person.as_ref().expect("from");
    let to = c.to_person.as_ref().expect("to");
    assert_eq!(
        (from.name.as_str(), from.id_number.as_str()),
        ("王建国", id("33072319700101024").as_str())
    );
    assert_eq!(
        (to.name.as_str(), to.id_number.as_str()),
        ("李红", id("33072319800101025").as_str())
    );
    assert_eq!(c.changed_on, d(2026, 11, 2));
    assert_eq!(c.recorded_by, "officer-1");
    assert_eq!(c.reason, "换届选举");
    let by_officer = f
        .client()
        .get_organisation(f.req(pb::GetOrganisationRequest {
            organisation_id: org.organisation_id,
        }))
        .await
        .expect("read")
        .into_inner();
    let from = by_officer.changes[0].from_person.as_ref().expect("from");
    assert!(from.id_number.contains('*'), "masked: {}", from.id_number);
    assert_eq!(
        f.count("SELECT COUNT(*) FROM organisation_changes WHERE from_sealed LIKE '%33072319700101%' OR old_value LIKE '33072319700101%'")
            .await,
        0,
        "no number in the clear in the history"
    );
}

#[tokio::test]
async fn a_hundred_thousand_character_name_and_control_characters_are_refused_field_by_field() {
    let f = Fixture::start().await;
    let mut request = group(&"协".repeat(100_000), "33072319700101026");
    if let Some(rep) = request.legal_representative.as_mut() {
        rep.name = "王\u{0}建国".into();
    }
    request.address = "解放路\u{1b}[2J12号".into();
    let status = f.register(request).await.expect_err("refused");
    assert_eq!(status.code(), Code::InvalidArgument);
    let fields = violated_fields(&status);
    for field in ["name", "legal_representative.name", "address"] {
        assert!(fields.contains(&field.to_owned()), "{field} in {fields:?}");
    }
    assert_eq!(f.count("SELECT COUNT(*) FROM organisations").await, 0);
}

#[tokio::test]
async fn a_malformed_region_filter_of_the_public_list_is_refused() {
    let f = Fixture::start().await;
    for region in ["33072", "3307231", "33072300101", "990000"] {
        let status = f
            .client()
            .list_credit_listings(f.suite.request(
                pb::ListCreditListingsRequest {
                    list: pb::CreditList::Abnormal.into(),
                    region_code: region.into(),
                    ..Default::default()
                },
                &f.public,
            ))
            .await
            .expect_err(region);
        assert_eq!(status.code(), Code::InvalidArgument, "{region}");
        assert_eq!(violated_fields(&status), vec!["region_code"]);
    }
}

#[tokio::test]
async fn the_public_list_without_a_day_is_read_on_the_suites_today() {
    let f = Fixture::start().await;
    let org = f
        .register(group("武义县垂钓协会", "33072319700101027"))
        .await
        .expect("registered");
    let breach = pb::RecordBreachRequest {
        request_id: rid(),
        organisation_id: org.organisation_id,
        trigger: pb::ListingTrigger::Warning.into(),
        decided_on: d(2030, 6, 1),
        fine_fen: 0,
        evidence: "武民罚〔2030〕1号".into(),
    };
    f.client()
        .record_breach(f.req(breach))
        .await
        .expect("listed");
    let list = || pb::ListCreditListingsRequest {
        list: pb::CreditList::Abnormal.into(),
        ..Default::default()
    };
    f.suite.clock.set_today(time::macros::date!(2030 - 05 - 31));
    let before = f
        .client()
        .list_credit_listings(f.suite.request(list(), &f.public))
        .await
        .expect("list")
        .into_inner();
    assert!(before.listings.is_empty(), "not yet in force");
    f.suite.clock.advance(time::Duration::days(1));
    let after = f
        .client()
        .list_credit_listings(f.suite.request(list(), &f.public))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(after.listings.len(), 1, "in force from 2030-06-01");
}
