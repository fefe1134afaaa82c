//! Idempotency keys belong to the caller, and stored answers are sealed (Defects #12 item 3,
//! Pipeline #13 item 7a). Through socialorg's RegisterOrganisation, whose answer carries the
//! legal representative's name and identity number.

use base64::Engine as _;
use contracts::civil::common::v1::{Date, PersonRef};
use contracts::civil::socialorg::v1 as pb;
use contracts::civil::socialorg::v1::social_org_service_client::SocialOrgServiceClient;
use kit::error::reason_of;
use kit::testing::Role;
use sqlx::Row;
use tonic::Code;

const COUNTY: &str = "330723";
const REP_NAME: &str = "王建国";

fn registration(request_id: &str) -> pb::RegisterOrganisationRequest {
    let first17 = "33072319700101001";
    pb::RegisterOrganisationRequest {
        request_id: request_id.into(),
        kind: pb::OrganisationKind::SocialGroup.into(),
        field: pb::ActivityField::Other.into(),
        name: "武义县书法家协会".into(),
        region_code: COUNTY.into(),
        address: "武义县壶山街道解放路12号".into(),
        legal_representative: Some(PersonRef {
            id_number: format!("{first17}{}", civil_id::IdNumber::check_char(first17)),
            name: REP_NAME.into(),
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

#[tokio::test]
async fn a_request_id_replayed_by_another_caller_never_gets_the_first_callers_answer() {
    let suite = kit::testing::spawn_with(&[socialorg::SERVICE], |cfg| {
        cfg.extra.insert("socialorg_sweep".into(), "off".into());
    })
    .await;
    let first = suite.token_for("officer-a", &[Role::SocialOrgOfficer], COUNTY);
    let other = suite.token_for("officer-b", &[Role::SocialOrgOfficer], COUNTY);
    let mut client = SocialOrgServiceClient::new(suite.channel.clone());
    let request = registration("replayed-id-1");
    let registered = client
        .register_organisation(suite.request(request.clone(), &first))
        .await
        .expect("registered")
        .into_inner();
    // The first caller's retry gets the first answer.
    let retry = client
        .register_organisation(suite.request(request.clone(), &first))
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(retry, registered);
    // Another caller with the same id and body is a new request of its own: here refused,
    // because the name is now taken; never answered with the first caller's organisation.
    let replay = client
        .register_organisation(suite.request(request, &other))
        .await;
    let status = replay.expect_err("another caller does not receive the stored answer");
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert_eq!(reason_of(&status).as_deref(), Some("SOCIALORG_NAME_TAKEN"));
}

#[tokio::test]
async fn the_stored_answer_holds_no_name_or_identity_number_in_the_clear() {
    let suite = kit::testing::spawn_with(&[socialorg::SERVICE], |cfg| {
        cfg.extra.insert("socialorg_sweep".into(), "off".into());
    })
    .await;
    let officer = suite.token_for("officer-a", &[Role::SocialOrgOfficer], COUNTY);
    let mut client = SocialOrgServiceClient::new(suite.channel.clone());
    let registered = client
        .register_organisation(suite.request(registration("sealed-id-1"), &officer))
        .await
        .expect("registered")
        .into_inner();
    let db = suite.db("socialorg").await;
    let rows = sqlx::query("SELECT response FROM idempotency_keys")
        .fetch_all(&db.pool)
        .await
        .expect("rows");
    assert_eq!(rows.len(), 1);
    let stored: String = rows[0].try_get("response").expect("response");
    assert!(!stored.is_empty());
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(stored.as_bytes())
        .unwrap_or_default();
    for secret in [
        REP_NAME,
        registered.credit_code.as_str(),
        "33072319700101001",
    ] {
        let needle = secret.as_bytes();
        assert!(!stored.contains(secret), "{secret} in the clear");
        assert!(
            !decoded.windows(needle.len()).any(|w| w == needle),
            "{secret} readable from the stored bytes"
        );
    }
}
