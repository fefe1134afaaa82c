//! Caller profiles as the calling systems see them: each bureau gets the fields its profile
//! allows from the same RPC, a profile calls only the RPCs it lists, and a `service` token that
//! names no profile is refused (and audited).

mod common;

use auth::Role;
use common::*;
use contracts::civil::funeral::v1 as funeral;
use tonic::Code;
use tonic_types::StatusExt as _;

fn reason(s: &tonic::Status) -> String {
    s.get_details_error_info()
        .map(|i| i.reason)
        .unwrap_or_default()
}

async fn death_case_as(
    suite: &kit::testing::TestSuite,
    token: &str,
    name: &str,
) -> Result<funeral::DeathCase, tonic::Status> {
    let mut c = funeral::funeral_service_client::FuneralServiceClient::new(suite.channel.clone());
    c.get_death_case(suite.request(
        funeral::GetDeathCaseRequest {
            name: name.to_owned(),
        },
        token,
    ))
    .await
    .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn each_bureau_sees_the_death_case_fields_its_profile_allows() {
    let outside = Outside::start().await;
    let suite = spawn_suite(&outside, |_| {}).await;
    let staff = Staff::of(&suite);
    let people = People::new(3);
    let case = register_death_declared(&suite, &staff, &people).await;

    let household = suite.token_for_profile("gaj-hukou", "household_register", COUNTY);
    let pension = suite.token_for_profile("rsj-pension", "social_insurance", COUNTY);
    let aggregator = suite.token_for_profile("svc-onematter", "onematter", COUNTY);

    // 公安户籍: who died and when; not who declared it.
    let seen = death_case_as(&suite, &household, &case.name)
        .await
        .expect("household register may read the case");
    let deceased = seen.deceased.clone().expect("the deceased is shown");
    assert_eq!(deceased.id_number, people.deceased.id_number);
    assert!(seen.certificate.is_some(), "the death certificate is shown");
    assert_eq!(
        seen.declarant, None,
        "the declarant is hidden from the household register"
    );

    // 人社 pays the funeral grant to the declarant: it sees the declarant.
    let seen = death_case_as(&suite, &pension, &case.name)
        .await
        .expect("social insurance may read the case");
    let declarant = seen.declarant.expect("declarant shown to social insurance");
    assert_eq!(
        declarant.person.map(|p| p.name),
        Some(people.declarant.name.clone())
    );
    assert!(seen.custody.is_empty() && seen.final_place.is_empty());

    // The aggregator sees the case as the funeral home recorded it.
    let seen = death_case_as(&suite, &aggregator, &case.name)
        .await
        .expect("aggregator may read the case");
    assert!(seen.declarant.is_some());
}

#[tokio::test]
async fn a_profile_calls_only_its_rpcs_and_a_service_token_needs_a_profile() {
    let outside = Outside::start().await;
    let suite = spawn_suite(&outside, |_| {}).await;
    let staff = Staff::of(&suite);
    let people = People::new(4);
    let case = register_death(&suite, &staff, &people).await;

    // 医保 may not ask for the fee waiver decision: not in its profile.
    let medical = suite.token_for_profile("ybj-1", "medical_insurance", COUNTY);
    let mut c = funeral::funeral_service_client::FuneralServiceClient::new(suite.channel.clone());
    let err = c
        .get_fee_waiver(suite.request(
            funeral::GetFeeWaiverRequest {
                death_case: case.name.clone(),
            },
            &medical,
        ))
        .await
        .expect_err("not in the medical insurance profile");
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(reason(&err), auth::profiles::AUTH_PROFILE_RPC_NOT_ALLOWED);

    // A bare `service` token (no profile claim) is refused, and the refusal is audited.
    let bare = suite.issuer().mint(
        &auth::token::TokenSpec::new("svc-unknown", &[Role::Service], COUNTY),
        std::time::Duration::from_secs(60),
    );
    let err = death_case_as(&suite, &bare, &case.name)
        .await
        .expect_err("no profile");
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(reason(&err), auth::profiles::AUTH_PROFILE_REQUIRED);
    let rows = count(
        &suite,
        "funeral",
        "SELECT COUNT(*) FROM audit_log WHERE actor = 'svc-unknown' AND outcome = 'AUTH_PROFILE_REQUIRED' AND purpose = 'security'",
    )
    .await;
    assert_eq!(rows, 1, "the refused call left its security row");
}
