//! The fee waiver against the real assistance service, mounted in the same suite: the wire
//! contract, the service credential and the on-behalf-of header as they run in production.

use contracts::civil::common::v1::PersonRef;
use contracts::civil::funeral::v1 as pb;
use contracts::civil::funeral::v1::funeral_service_client::FuneralServiceClient;
use kit::error::to_proto_date;
use kit::testing::Role;

#[tokio::test]
async fn the_real_assistance_service_answers_the_waiver_lookup_for_a_non_recipient() {
    let suite = kit::testing::spawn(&[assistance::SERVICE, funeral::SERVICE]).await;
    let home = suite.token_for("funeral-home-1", &[Role::FuneralHome], "330723");
    let mut client = FuneralServiceClient::new(suite.channel.clone());
    let first17 = "33072319400501001";
    let id_number = format!("{first17}{}", civil_id::IdNumber::check_char(first17));
    let register = pb::RegisterDeathRequest {
        request_id: "r1".into(),
        deceased: Some(PersonRef {
            id_number,
            name: "王某".into(),
        }),
        certificate: Some(pb::DeathCertificate {
            issuer: pb::CertificateIssuer::Police.into(),
            number: "GA-1".into(),
            date_of_death: Some(to_proto_date(kit::today_cst())),
            place_of_death: "家中".into(),
            cause_class: pb::CauseClass::Unknown.into(),
        }),
        region: "330723001".into(),
        ethnicity: pb::Ethnicity::Han.into(),
    };
    let case = client
        .register_death(suite.request(register, &home))
        .await
        .expect("registered")
        .into_inner();
    let decide = pb::DecideFeeWaiverRequest {
        request_id: "w1".into(),
        death_case: case.name.clone(),
    };
    let waiver = client
        .decide_fee_waiver(suite.request(decide, &home))
        .await
        .expect("assistance answered")
        .into_inner();
    assert!(!waiver.waived, "an unknown person receives no benefits");
    let evidence = waiver.evidence.expect("evidence");
    assert_eq!(evidence.source, "assistance");
    assert!(evidence.benefit_kinds_seen.is_empty());
}
