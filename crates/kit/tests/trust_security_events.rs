//! Trust issue 15 item 3: every denied call, bad token, forged on-behalf-of header and
//! administrative call leaves a row in the audit trail of the service whose method was called,
//! written before the answer goes out, naming the caller as far as known and never the token.
//! SQLite by default, PostgreSQL when `CIVIL_TEST_PG` is set.

use std::time::Duration;

use auth::token::TokenSpec;
use contracts::civil::socialorg::v1 as pb;
use contracts::civil::socialorg::v1::social_org_service_client::SocialOrgServiceClient;
use kit::testing::{Role, TestSuite};
use sqlx::Row;

const COUNTY: &str = "330723";

#[derive(Debug, PartialEq, Eq)]
struct Event {
    actor: String,
    on_behalf_of: String,
    action: String,
    object: String,
    outcome: String,
    purpose: String,
}

/// Every row of socialorg's trail as it stands now (sealed or not: no flush, no wait), so a
/// row present here was written before the call answered.
async fn events(suite: &TestSuite) -> Vec<Event> {
    let db = suite.db("socialorg").await;
    sqlx::query("SELECT actor, on_behalf_of, action, object, outcome, purpose FROM audit_log")
        .fetch_all(&db.pool)
        .await
        .expect("audit rows")
        .iter()
        .map(|r| Event {
            actor: r.get("actor"),
            on_behalf_of: r.get("on_behalf_of"),
            action: r.get("action"),
            object: r.get("object"),
            outcome: r.get("outcome"),
            purpose: r.get("purpose"),
        })
        .collect()
}

async fn call(suite: &TestSuite, token: Option<&str>, behalf: Option<&str>) {
    let message = pb::GetOrganisationRequest {
        organisation_id: "org-1".into(),
    };
    let mut request = match token {
        Some(t) => suite.request(message, t),
        None => tonic::Request::new(message),
    };
    if let Some(b) = behalf {
        request
            .metadata_mut()
            .insert(auth::ON_BEHALF_OF_HEADER, b.parse().expect("ascii"));
    }
    let _ = SocialOrgServiceClient::new(suite.channel.clone())
        .get_organisation(request)
        .await;
}

fn find<'a>(rows: &'a [Event], outcome: &str) -> &'a Event {
    rows.iter()
        .find(|e| e.outcome == outcome)
        .unwrap_or_else(|| panic!("no audit row with outcome {outcome}: {rows:#?}"))
}

#[tokio::test]
async fn a_call_without_a_token_is_audited_as_anonymous() {
    let suite = kit::testing::spawn(&[socialorg::SERVICE]).await;
    call(&suite, None, None).await;
    let rows = events(&suite).await;
    let e = find(&rows, "AUTH_TOKEN_MISSING");
    assert_eq!(
        (e.actor.as_str(), e.action.as_str(), e.purpose.as_str()),
        ("anonymous", "socialorg.GetOrganisation", "security")
    );
}

#[tokio::test]
async fn a_bad_token_is_audited_by_its_hash_never_the_token() {
    let suite = kit::testing::spawn(&[socialorg::SERVICE]).await;
    let forged = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJTRUNSRVQtTUFSSyJ9.c2lnbmF0dXJl";
    call(&suite, Some(forged), None).await;
    // A token signed by another issuer.
    let stranger = auth::token::DevIssuer::generate().mint(
        &TokenSpec::new("intruder", &[Role::SysAdmin], COUNTY),
        Duration::from_secs(60),
    );
    call(&suite, Some(&stranger), None).await;
    let rows = events(&suite).await;
    let bad: Vec<_> = rows
        .iter()
        .filter(|e| e.outcome == "AUTH_TOKEN_INVALID")
        .collect();
    assert_eq!(bad.len(), 2, "{rows:#?}");
    for e in &bad {
        assert_eq!(e.actor, "anonymous");
        assert!(e.object.starts_with("token-sha256:"), "{e:?}");
    }
    assert_ne!(
        bad[0].object, bad[1].object,
        "different tokens, different hashes"
    );
    let all = format!("{rows:?}");
    assert!(!all.contains(forged) && !all.contains(&stranger));
    assert!(
        !all.contains("intruder"),
        "an unverified subject is not believed"
    );
}

#[tokio::test]
async fn a_forged_on_behalf_of_header_is_audited_with_the_real_caller_and_the_claim() {
    let suite = kit::testing::spawn(&[socialorg::SERVICE]).await;
    let officer = suite.token_for("officer-1", &[Role::SocialOrgOfficer], COUNTY);
    call(&suite, Some(&officer), Some("citizen-9")).await;
    let rows = events(&suite).await;
    let e = find(&rows, "AUTH_ON_BEHALF_OF_FORBIDDEN");
    assert_eq!(
        (e.actor.as_str(), e.on_behalf_of.as_str()),
        ("officer-1", "citizen-9")
    );
}

#[tokio::test]
async fn a_denied_role_and_incompatible_roles_are_audited_with_the_subject() {
    let suite = kit::testing::spawn(&[socialorg::SERVICE]).await;
    let citizen = suite.token_for("citizen-1", &[Role::Citizen], COUNTY);
    let _ = SocialOrgServiceClient::new(suite.channel.clone())
        .grant_rating(suite.request(pb::GrantRatingRequest::default(), &citizen))
        .await;
    let mut spec = TokenSpec::new("admin-1", &[Role::SysAdmin, Role::Auditor], COUNTY);
    spec.second_factor = true;
    let both = suite.issuer().mint(&spec, Duration::from_secs(60));
    call(&suite, Some(&both), None).await;
    let rows = events(&suite).await;
    let denied = find(&rows, "AUTH_ROLE_REQUIRED");
    assert_eq!(
        (denied.actor.as_str(), denied.action.as_str()),
        ("citizen-1", "socialorg.GrantRating")
    );
    assert_eq!(find(&rows, "AUTH_ROLES_INCOMPATIBLE").actor, "admin-1");
}

#[tokio::test]
async fn an_administrative_call_is_audited_before_it_runs() {
    let suite = kit::testing::spawn(&[socialorg::SERVICE]).await;
    let mut spec = TokenSpec::new("sysadmin-1", &[Role::SysAdmin], COUNTY);
    spec.second_factor = true;
    let admin = suite.issuer().mint(&spec, Duration::from_secs(60));
    call(&suite, Some(&admin), None).await;
    let rows = events(&suite).await;
    let e = rows
        .iter()
        .find(|e| e.purpose == "administrative")
        .unwrap_or_else(|| panic!("no administrative row: {rows:#?}"));
    assert_eq!(
        (e.actor.as_str(), e.action.as_str(), e.outcome.as_str()),
        ("sysadmin-1", "socialorg.GetOrganisation", "admitted")
    );
}
