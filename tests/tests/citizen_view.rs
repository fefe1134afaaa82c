//! 我的数据谁用了: a citizen lists who read or changed their records, across every bureau of
//! the suite, through `civil.audit.v1.AuditTrailService/ListMyRecordAccess`.
//!
//! The scenario is the after-death one (tests/tests/after_death.rs): the bureaus seed the man's
//! marriage, 低保 benefit, allowance and association, he dies, the funeral home registers the
//! death and the aggregator runs every bureau's part. The view is then asked with a token whose
//! verified identity number (claim `idn`) is his: it is how the record's own subject sees it
//! (a close relative's access to a deceased person's data, PIPL art. 49, is not built; see
//! docs/trust.md). What a user checks: the bureaus that used the record are listed with their
//! organisation and role, when and why; no clerk's subject appears; somebody else's token sees
//! none of it; the view is refused without a verified number or to any other role; and the view
//! itself leaves an audit row in every trail it read.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use auth::Role;
use common::*;
use contracts::civil::audit::v1 as pb;
use pb::audit_trail_service_client::AuditTrailServiceClient as AuditTrailClient;
use tonic::Code;

fn citizen(suite: &kit::testing::TestSuite, subject: &str, id_number: Option<&str>) -> String {
    let mut spec = auth::token::TokenSpec::new(subject, &[Role::Citizen], COUNTY);
    spec.id_number = id_number.map(str::to_owned);
    suite.issuer().mint(&spec, Duration::from_secs(600))
}

#[tokio::test]
async fn a_citizen_lists_the_bureaus_that_used_their_record_during_an_after_death_case() {
    let outside = Outside::start().await;
    let suite = spawn_suite(&outside, |_| {}).await;
    let staff = Staff::of(&suite);
    let people = People::new(1);
    seed(&suite, &staff, &people).await;
    register_death(&suite, &staff, &people).await;
    let cases = wait_for_cases(&suite, &staff, 1).await;
    let done = settle(&suite, &staff.operator, &cases[0].name).await;
    assert_eq!(
        done.state(),
        contracts::civil::onematter::v1::CaseState::Completed,
        "{done:#?}"
    );

    let mut trail = AuditTrailClient::new(suite.channel.clone());
    let me = citizen(&suite, "citizen-wang", Some(&people.deceased.id_number));
    let seen = trail
        .list_my_record_access(suite.request(pb::ListMyRecordAccessRequest::default(), &me))
        .await
        .expect("a citizen with a verified number may look")
        .into_inner();
    assert!(!seen.truncated);

    let services: BTreeSet<&str> = seen.accesses.iter().map(|a| a.service.as_str()).collect();
    for bureau in ["funeral", "marriage", "assistance", "eldercare"] {
        assert!(services.contains(bureau), "{bureau} missing: {services:?}");
    }
    let actions: BTreeSet<&str> = seen.accesses.iter().map(|a| a.action.as_str()).collect();
    for action in [
        "funeral.RegisterDeath",
        "marriage.RecordDeath",
        "assistance.TerminateForDeath",
        "eldercare.StopForDeath",
    ] {
        assert!(actions.contains(action), "{action} missing: {actions:?}");
    }
    // The after-death parts are the aggregator's, acting for the bureau: organisation and
    // role, never who.
    let record_death = seen
        .accesses
        .iter()
        .find(|a| a.action == "marriage.RecordDeath")
        .expect("listed");
    assert_eq!(
        (
            record_death.organisation.as_str(),
            record_death.role.as_str()
        ),
        ("县民政局“一件事”平台", "service")
    );
    assert_eq!(record_death.outcome, "ok");
    let registered = seen
        .accesses
        .iter()
        .find(|a| a.action == "funeral.RegisterDeath")
        .expect("listed");
    assert_eq!(registered.role, "funeral_home");
    // Newest first, and nothing that names a person of staff.
    assert!(
        seen.accesses
            .windows(2)
            .all(|w| w[0].at_unix_ms >= w[1].at_unix_ms)
    );
    let shown = format!("{seen:?}");
    for subject in [
        "registrar-1",
        "clerk-1",
        "approver-1",
        "funeral-home-1",
        "operator-1",
        "svc-onematter",
        people.deceased.id_number.as_str(),
    ] {
        assert!(!shown.contains(subject), "{subject} shown to the citizen");
    }

    // The view was audited in every trail it read, naming the person by blind index only.
    for service in ["funeral", "marriage", "assistance", "eldercare"] {
        let rows = count(
            &suite,
            service,
            &format!(
                "SELECT COUNT(*) FROM audit_log WHERE action = '{service}.ListMyRecordAccess' \
                 AND purpose = 'citizen_view' AND actor = 'citizen-wang' AND person <> ''"
            ),
        )
        .await;
        assert_eq!(rows, 1, "{service}");
    }
    // Asking again does not list the first look.
    let again = trail
        .list_my_record_access(suite.request(pb::ListMyRecordAccessRequest::default(), &me))
        .await
        .expect("again")
        .into_inner();
    assert_eq!(again.accesses.len(), seen.accesses.len());

    // The widow's verified number sees her own record's uses only: the death recorded in the
    // marriage registry touched the marriage, not her funeral or assistance records.
    let widow = citizen(&suite, "citizen-li", Some(&people.spouse.id_number));
    let hers = trail
        .list_my_record_access(suite.request(pb::ListMyRecordAccessRequest::default(), &widow))
        .await
        .expect("the widow may look")
        .into_inner();
    assert!(
        hers.accesses
            .iter()
            .all(|a| a.action != "funeral.RegisterDeath" && a.action != "eldercare.StopForDeath"),
        "{hers:?}"
    );
}

#[tokio::test]
async fn the_view_needs_a_citizen_with_a_verified_number() {
    let outside = Outside::start().await;
    let suite = spawn_suite(&outside, |_| {}).await;
    let mut trail = AuditTrailClient::new(suite.channel.clone());

    let unverified = citizen(&suite, "citizen-anon", None);
    let err = trail
        .list_my_record_access(suite.request(pb::ListMyRecordAccessRequest::default(), &unverified))
        .await
        .expect_err("no verified number");
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(
        kit::error::reason_of(&err).as_deref(),
        Some("IDENTITY_NOT_VERIFIED")
    );

    for role in [Role::Registrar, Role::Auditor, Role::Service] {
        let token = suite.token(&[role], COUNTY);
        let err = trail
            .list_my_record_access(suite.request(pb::ListMyRecordAccessRequest::default(), &token))
            .await
            .expect_err("citizens only");
        assert_eq!(err.code(), Code::PermissionDenied, "{role:?}");
    }

    let me = citizen(&suite, "citizen-x", Some(&id("33072319400101001")));
    let err = trail
        .list_my_record_access(suite.request(
            pb::ListMyRecordAccessRequest {
                from_unix_ms: 10,
                to_unix_ms: 5,
            },
            &me,
        ))
        .await
        .expect_err("range ends before it starts");
    assert_eq!(err.code(), Code::InvalidArgument);
}
