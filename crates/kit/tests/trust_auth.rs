//! Trust issue 15, items 2 (separation of duties) and 16.3 (auth refusals a caller can act on),
//! through a real suite (socialorg). SQLite by default, PostgreSQL when `CIVIL_TEST_PG` is set.

use std::time::Duration;

use auth::token::TokenSpec;
use contracts::civil::common::v1::{Date, PersonRef};
use contracts::civil::socialorg::v1 as pb;
use contracts::civil::socialorg::v1::social_org_service_client::SocialOrgServiceClient;
use kit::testing::{Role, TestSuite};
use tonic::Code;
use tonic_types::StatusExt;

const COUNTY: &str = "330723";

fn client(suite: &TestSuite) -> SocialOrgServiceClient<tonic::transport::Channel> {
    SocialOrgServiceClient::new(suite.channel.clone())
}

fn get() -> pb::GetOrganisationRequest {
    pb::GetOrganisationRequest {
        organisation_id: "no-such-org".into(),
    }
}

fn register(region: &str) -> pb::RegisterOrganisationRequest {
    let first17 = "33072319700101001";
    pb::RegisterOrganisationRequest {
        request_id: uuid::Uuid::now_v7().to_string(),
        kind: pb::OrganisationKind::SocialGroup.into(),
        field: pb::ActivityField::Other.into(),
        name: "武义县书法家协会".into(),
        region_code: region.into(),
        address: "武义县壶山街道解放路12号".into(),
        legal_representative: Some(PersonRef {
            id_number: format!("{first17}{}", civil_id::IdNumber::check_char(first17)),
            name: "王建国".into(),
        }),
        supervisory_unit: "武义县文联".into(),
        individual_members: 60,
        unit_members: 0,
        funds_fen: 3_000_000,
        public_fundraising: false,
        application_received_on: Some(Date {
            year: 2024,
            month: 3,
            day: 1,
        }),
        decided_on: Some(Date {
            year: 2024,
            month: 4,
            day: 3,
        }),
    }
}

/// A token with a second factor (administrative roles need one).
fn admin_token(suite: &TestSuite, subject: &str, roles: &[Role]) -> String {
    let mut spec = TokenSpec::new(subject, roles, COUNTY);
    spec.second_factor = true;
    suite.issuer().mint(&spec, Duration::from_secs(600))
}

/// The reason, and that a zh-CN message stands beside the English one.
fn reason_and_zh(status: &tonic::Status) -> String {
    let details = status.get_error_details();
    let zh = details
        .localized_message()
        .unwrap_or_else(|| panic!("no zh-CN LocalizedMessage: {status:?}"));
    assert_eq!(zh.locale, "zh-CN");
    assert!(!zh.message.is_empty());
    details
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_else(|| panic!("no ErrorInfo: {status:?}"))
}

#[tokio::test]
async fn a_token_combining_sys_admin_and_auditor_is_refused_at_authentication() {
    let suite = kit::testing::spawn(&[socialorg::SERVICE]).await;
    for roles in [
        [Role::SysAdmin, Role::Auditor],
        [Role::SysAdmin, Role::SecurityAdmin],
        [Role::SecurityAdmin, Role::Auditor],
    ] {
        let token = admin_token(&suite, "admin-1", &roles);
        let err = client(&suite)
            .get_organisation(suite.request(get(), &token))
            .await
            .expect_err("incompatible roles");
        assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
        assert_eq!(reason_and_zh(&err), "AUTH_ROLES_INCOMPATIBLE");
    }
    // One administrator role alone passes authentication (the organisation does not exist).
    let auditor = admin_token(&suite, "auditor-1", &[Role::Auditor]);
    let err = client(&suite)
        .get_organisation(suite.request(get(), &auditor))
        .await
        .expect_err("not found");
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
}

#[tokio::test]
async fn the_county_declares_its_own_incompatible_roles() {
    let suite = kit::testing::spawn_with(&[socialorg::SERVICE], |cfg| {
        cfg.extra.insert(
            "auth_incompatible_roles".into(),
            "social_org_officer+citizen".into(),
        );
    })
    .await;
    let both = suite.token(&[Role::SocialOrgOfficer, Role::Citizen], COUNTY);
    let err = client(&suite)
        .get_organisation(suite.request(get(), &both))
        .await
        .expect_err("declared incompatible");
    assert_eq!(reason_and_zh(&err), "AUTH_ROLES_INCOMPATIBLE");
    let admin = admin_token(&suite, "admin-1", &[Role::SysAdmin, Role::Auditor]);
    let err = client(&suite)
        .get_organisation(suite.request(get(), &admin))
        .await
        .expect_err("not found");
    assert_eq!(
        err.code(),
        Code::NotFound,
        "the county's list replaced the default"
    );
}

#[tokio::test]
async fn an_unknown_role_in_the_incompatible_list_refuses_to_start() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut config = kit::testing::test_config(dir.path());
    config
        .extra
        .insert("auth_incompatible_roles".into(), "sys_admin+root".into());
    assert!(kit::trust::TrustSettings::from_config(&config).is_err());
}

#[tokio::test]
async fn a_missing_token_says_how_to_get_one() {
    let suite = kit::testing::spawn(&[socialorg::SERVICE]).await;
    let err = client(&suite)
        .get_organisation(tonic::Request::new(get()))
        .await
        .expect_err("no token");
    assert_eq!(err.code(), Code::Unauthenticated);
    assert_eq!(reason_and_zh(&err), "AUTH_TOKEN_MISSING");
    assert!(
        err.message().contains("civil token --role R --region CODE")
            && err.message().contains("identity provider"),
        "{}",
        err.message()
    );
}

#[tokio::test]
async fn an_expired_token_and_a_garbage_token_have_their_own_reasons_without_library_text() {
    let suite = kit::testing::spawn(&[socialorg::SERVICE]).await;
    let mut claims = suite.issuer().claims(
        &TokenSpec::new("officer-1", &[Role::SocialOrgOfficer], COUNTY),
        Duration::from_secs(60),
    );
    claims.exp -= 3600;
    let expired = suite.issuer().mint_claims(&claims);
    let err = client(&suite)
        .get_organisation(suite.request(get(), &expired))
        .await
        .expect_err("expired");
    assert_eq!(err.code(), Code::Unauthenticated);
    assert_eq!(reason_and_zh(&err), "AUTH_TOKEN_EXPIRED");
    for garbage in ["abc", "a.b.c", "eyJhbGciOiJFUzI1NiJ9.e30.AAAA"] {
        let err = client(&suite)
            .get_organisation(suite.request(get(), garbage))
            .await
            .expect_err("garbage");
        assert_eq!(err.code(), Code::Unauthenticated);
        assert_eq!(reason_and_zh(&err), "AUTH_TOKEN_INVALID");
        for library_words in ["Base64", "base64", "InvalidToken", "Json", "token rejected"] {
            assert!(
                !err.message().contains(library_words),
                "library text in {:?}",
                err.message()
            );
        }
    }
}

#[tokio::test]
async fn a_role_the_method_does_not_allow_and_a_foreign_region_have_their_reasons() {
    let suite = kit::testing::spawn(&[socialorg::SERVICE]).await;
    let citizen = suite.token(&[Role::Citizen], COUNTY);
    let err = client(&suite)
        .register_organisation(suite.request(register(COUNTY), &citizen))
        .await
        .expect_err("citizen");
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(reason_and_zh(&err), "AUTH_ROLE_REQUIRED");
    let neighbour = suite.token(&[Role::SocialOrgOfficer], "330724");
    let err = client(&suite)
        .register_organisation(suite.request(register(COUNTY), &neighbour))
        .await
        .expect_err("out of region");
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(reason_and_zh(&err), "AUTH_REGION_OUT_OF_SCOPE");
}

#[tokio::test]
async fn only_services_may_name_whom_they_act_for() {
    let suite = kit::testing::spawn(&[socialorg::SERVICE]).await;
    let officer = suite.token(&[Role::SocialOrgOfficer], COUNTY);
    let mut request = suite.request(get(), &officer);
    request.metadata_mut().insert(
        auth::ON_BEHALF_OF_HEADER,
        "citizen-9".parse().expect("ascii"),
    );
    let err = client(&suite)
        .get_organisation(request)
        .await
        .expect_err("forged on-behalf-of");
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(reason_and_zh(&err), "AUTH_ON_BEHALF_OF_FORBIDDEN");
}
