//! The foundation as a caller sees it: every service answers health and is listed by
//! reflection; calls without a valid token are refused before any service code runs.

use std::time::Duration;

use auth::Role;
use auth::token::TokenSpec;
use tokio_stream::StreamExt;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

const SERVICES: [&str; 7] = [
    "civil.marriage.v1.MarriageService",
    "civil.assistance.v1.AssistanceService",
    "civil.funeral.v1.FuneralService",
    "civil.eldercare.v1.EldercareService",
    "civil.socialorg.v1.SocialOrgService",
    "civil.placename.v1.PlaceNameService",
    "civil.onematter.v1.OneMatterService",
];

#[tokio::test]
async fn every_service_reports_serving_and_is_listed_by_reflection() {
    let suite = kit::testing::spawn(&suite::ALL).await;
    let mut health = HealthClient::new(suite.channel.clone());
    for name in SERVICES {
        let status = health
            .check(HealthCheckRequest {
                service: name.into(),
            })
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .into_inner()
            .status;
        assert_eq!(
            status,
            tonic_health::pb::health_check_response::ServingStatus::Serving as i32,
            "{name}"
        );
    }

    let mut reflection = ServerReflectionClient::new(suite.channel.clone());
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = reflection
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("reflection")
        .into_inner();
    let response = stream.next().await.expect("one response").expect("ok");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected reflection answer");
    };
    let listed: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for name in SERVICES {
        assert!(
            listed.iter().any(|l| l == name),
            "{name} missing from {listed:?}"
        );
    }
}

async fn status_of(suite: &kit::testing::TestSuite, token: Option<&str>) -> tonic::Code {
    use contracts::civil::assistance::v1::GetRecipientStatusRequest;
    use contracts::civil::assistance::v1::assistance_service_client::AssistanceServiceClient;
    let mut client = AssistanceServiceClient::new(suite.channel.clone());
    let msg = GetRecipientStatusRequest {
        id_number: "11010519491231002X".into(),
        ..Default::default()
    };
    let request = match token {
        Some(t) => suite.request(msg, t),
        None => tonic::Request::new(msg),
    };
    match client.get_recipient_status(request).await {
        Ok(_) => tonic::Code::Ok,
        Err(status) => status.code(),
    }
}

#[tokio::test]
async fn calls_without_a_valid_token_are_unauthenticated() {
    let suite = kit::testing::spawn(&suite::ALL).await;
    assert_eq!(
        status_of(&suite, None).await,
        tonic::Code::Unauthenticated,
        "missing token"
    );
    assert_eq!(
        status_of(&suite, Some("not-a-jwt")).await,
        tonic::Code::Unauthenticated,
        "garbage"
    );

    let spec = TokenSpec::new("clerk", &[Role::CountyApprover], "330723");
    let mut expired = suite.issuer().claims(&spec, Duration::from_secs(60));
    expired.exp -= 3600;
    assert_eq!(
        status_of(&suite, Some(&suite.issuer().mint_claims(&expired))).await,
        tonic::Code::Unauthenticated,
        "expired"
    );

    let mut foreign = suite.issuer().claims(&spec, Duration::from_secs(60));
    foreign.aud = "another-system".into();
    assert_eq!(
        status_of(&suite, Some(&suite.issuer().mint_claims(&foreign))).await,
        tonic::Code::Unauthenticated,
        "audience"
    );

    let forged = auth::token::DevIssuer::generate().mint(&spec, Duration::from_secs(60));
    assert_eq!(
        status_of(&suite, Some(&forged)).await,
        tonic::Code::Unauthenticated,
        "forged"
    );

    let valid = suite.token(&[Role::CountyApprover], "330723");
    assert_ne!(
        status_of(&suite, Some(&valid)).await,
        tonic::Code::Unauthenticated,
        "a valid token passes authentication"
    );
}

#[tokio::test]
async fn a_caller_without_the_role_is_denied() {
    let suite = kit::testing::spawn(&suite::ALL).await;
    let placename_officer = suite.token(&[Role::PlaceNameOfficer], "330723");
    assert_eq!(
        status_of(&suite, Some(&placename_officer)).await,
        tonic::Code::PermissionDenied
    );
}
