//! The permission table against the contracts, and the auth layer's role check through gRPC:
//! a role an RPC does not allow is refused before the service looks at the request.

use std::collections::BTreeSet;

use auth::permissions::{AUTH_ROLE_REQUIRED, Allowed, Permissions};
use kit::error::reason_of;
use kit::testing::Role;
use prost::Message;
use tonic::Code;

/// The seven services, and the auditor's API every process serves (civil.audit.v1).
const SERVICES: [&str; 8] = [
    "audit",
    "marriage",
    "assistance",
    "funeral",
    "eldercare",
    "socialorg",
    "placename",
    "onematter",
];

/// Every `civil.<svc>.v1.<Svc>Service/<Rpc>` of the seven services, from the descriptor set.
fn contract_methods() -> BTreeSet<String> {
    let set = prost_types::FileDescriptorSet::decode(contracts::FILE_DESCRIPTOR_SET)
        .expect("descriptor set decodes");
    let mut out = BTreeSet::new();
    for file in set.file {
        let package = file.package.clone().unwrap_or_default();
        let external = package == "civil.external.v1";
        if !external && !SERVICES.iter().any(|s| package == format!("civil.{s}.v1")) {
            continue;
        }
        for service in &file.service {
            // Of the outside contracts, only the one the suite serves (assistance's signal intake).
            if external && service.name() != "SignalIntakeService" {
                continue;
            }
            for method in &service.method {
                out.insert(format!("{package}.{}/{}", service.name(), method.name()));
            }
        }
    }
    out
}

#[test]
fn every_rpc_of_the_seven_services_has_a_permission_row_and_no_row_is_stale() {
    let contract = contract_methods();
    assert!(contract.len() >= 89, "{} methods", contract.len());
    let table: BTreeSet<String> = Permissions::committed()
        .methods()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let missing: Vec<_> = contract.difference(&table).collect();
    let unknown: Vec<_> = table.difference(&contract).collect();
    assert!(missing.is_empty(), "methods without a row: {missing:?}");
    assert!(unknown.is_empty(), "rows naming no method: {unknown:?}");
}

const ALL_ROLES: [Role; 15] = [
    Role::Citizen,
    Role::Registrar,
    Role::TownshipClerk,
    Role::CountyApprover,
    Role::CheckingCentre,
    Role::FuneralHome,
    Role::EldercareStaff,
    Role::InstitutionOperator,
    Role::SocialOrgOfficer,
    Role::PlaceNameOfficer,
    Role::Operator,
    Role::Auditor,
    Role::SysAdmin,
    Role::SecurityAdmin,
    Role::Service,
];

/// Calls every RPC of the seven services, with an empty body and with a malformed one, as every
/// role the table does not allow: each answers PERMISSION_DENIED with AUTH_ROLE_REQUIRED, not
/// INVALID_ARGUMENT or FAILED_PRECONDITION about the body. Socialorg runs in the suite, so its
/// handlers would otherwise have seen the request.
#[tokio::test]
async fn a_role_the_rpc_does_not_allow_is_denied_before_the_body_is_looked_at() {
    let suite = kit::testing::spawn_with(&[socialorg::SERVICE], |cfg| {
        cfg.extra.insert("socialorg_sweep".into(), "off".into());
    })
    .await;
    let table = Permissions::committed();
    let mut checked = 0;
    for method in contract_methods() {
        let Some(Allowed::Roles(allowed)) = table.allowed(&method) else {
            continue;
        };
        for role in ALL_ROLES.iter().filter(|r| !allowed.contains(r)) {
            let token = suite.token(&[*role], "330723");
            for body in [Vec::new(), vec![0x0a, 0xff, 0xff]] {
                let err = suite
                    .raw_call(&format!("/{method}"), body, &token)
                    .await
                    .expect_err("denied");
                assert_eq!(
                    err.code(),
                    Code::PermissionDenied,
                    "{method} as {role:?}: {err:?}"
                );
                assert_eq!(
                    reason_of(&err).as_deref(),
                    Some(AUTH_ROLE_REQUIRED),
                    "{method} as {role:?}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 500, "{checked} method x role pairs");
}

/// The socialorg RPCs a citizen may not call, sent with an empty request: before the table a
/// citizen learnt which fields RegisterOrganisation needs (INVALID_ARGUMENT with field details).
#[tokio::test]
async fn a_citizen_registering_an_organisation_with_an_empty_request_is_denied_not_told_the_fields()
{
    use contracts::civil::socialorg::v1 as pb;
    use contracts::civil::socialorg::v1::social_org_service_client::SocialOrgServiceClient;
    let suite = kit::testing::spawn_with(&[socialorg::SERVICE], |cfg| {
        cfg.extra.insert("socialorg_sweep".into(), "off".into());
    })
    .await;
    let citizen = suite.token(&[Role::Citizen], "330723");
    let officer = suite.token(&[Role::SocialOrgOfficer], "330723");
    let mut client = SocialOrgServiceClient::new(suite.channel.clone());
    let err = client
        .register_organisation(suite.request(pb::RegisterOrganisationRequest::default(), &citizen))
        .await
        .expect_err("a citizen may not register");
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(reason_of(&err).as_deref(), Some(AUTH_ROLE_REQUIRED));
    let err = client
        .record_breach(suite.request(pb::RecordBreachRequest::default(), &citizen))
        .await
        .expect_err("a citizen may not record a breach");
    assert_eq!(err.code(), Code::PermissionDenied);
    // The officer, whom the table allows, reaches the handler and hears about the fields.
    let err = client
        .register_organisation(suite.request(pb::RegisterOrganisationRequest::default(), &officer))
        .await
        .expect_err("empty request");
    assert_eq!(err.code(), Code::InvalidArgument);
    // Any authenticated caller may read the public lists.
    client
        .list_credit_listings(suite.request(
            pb::ListCreditListingsRequest {
                list: pb::CreditList::Abnormal.into(),
                ..Default::default()
            },
            &citizen,
        ))
        .await
        .expect("public list");
}

/// A method the table does not know is denied even to an administrator; health stays public.
#[tokio::test]
async fn an_unlisted_method_is_denied_and_health_stays_public() {
    let suite = kit::testing::spawn(&[socialorg::SERVICE]).await;
    let admin = suite.token(&[Role::SysAdmin, Role::Service], "33");
    let err = suite
        .raw_call(
            "/civil.socialorg.v1.SocialOrgService/DropEverything",
            Vec::new(),
            &admin,
        )
        .await
        .expect_err("unlisted");
    assert_eq!(err.code(), Code::PermissionDenied);
    let mut grpc = tonic::client::Grpc::new(suite.channel.clone());
    grpc.ready().await.expect("ready");
    let health = grpc
        .unary(
            tonic::Request::new(Vec::new()),
            http::uri::PathAndQuery::from_static("/grpc.health.v1.Health/Check"),
            kit::testing::RawCodec,
        )
        .await;
    assert!(health.is_ok(), "{health:?}");
}
