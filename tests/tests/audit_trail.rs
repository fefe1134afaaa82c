//! The auditor's API (civil.audit.v1.AuditTrailService) as the county's audit administrator uses it:
//! who read a person's data (by identity number, turned into the blind index server-side), by
//! actor, paged; the chain verified; a signed extract that `civil audit-verify --file` accepts;
//! every one of these calls audited itself; nobody but the auditor may call it.

mod common;

use auth::Role;
use common::*;
use contracts::civil::assistance::v1 as assistance;
use contracts::civil::audit::v1 as pb;
use pb::audit_trail_service_client::AuditTrailServiceClient as AuditTrailClient;
use tonic::Code;

#[tokio::test]
async fn the_auditor_finds_who_read_a_person_and_verifies_the_trail() {
    let outside = Outside::start().await;
    let suite = spawn_suite(&outside, |_| {}).await;
    let person = id("33072319400101001");
    // Three reads of the person's assistance status by 医保, and one of somebody else.
    let medical = suite.token_for_profile("ybj-1", "medical_insurance", COUNTY);
    let mut a =
        assistance::assistance_service_client::AssistanceServiceClient::new(suite.channel.clone());
    for who in [&person, &person, &person, &id("33072319400101002")] {
        let _ = a
            .get_recipient_status(suite.request(
                assistance::GetRecipientStatusRequest {
                    id_number: who.clone(),
                    purpose: "medical assistance".into(),
                },
                &medical,
            ))
            .await;
    }

    let auditor = suite.token_for("auditor-1", &[Role::Auditor], COUNTY);
    let mut trail = AuditTrailClient::new(suite.channel.clone());
    let query = |page_token: String| pb::QueryTrailRequest {
        trail: "assistance".into(),
        id_number: person.clone(),
        action: "assistance.GetRecipientStatus".into(),
        page_size: 2,
        page_token,
        ..Default::default()
    };
    let first = trail
        .query_trail(suite.request(query(String::new()), &auditor))
        .await
        .expect("the auditor may query")
        .into_inner();
    assert_eq!(first.rows.len(), 2);
    assert!(!first.next_page_token.is_empty(), "a third row follows");
    let second = trail
        .query_trail(suite.request(query(first.next_page_token.clone()), &auditor))
        .await
        .expect("next page")
        .into_inner();
    assert_eq!(second.rows.len(), 1);
    assert!(second.next_page_token.is_empty());
    for row in first.rows.iter().chain(&second.rows) {
        assert_eq!(row.actor, "ybj-1");
        assert_eq!(row.purpose, "medical assistance");
        assert!(!row.object.contains(&person), "never the identity number");
    }

    // The auditor's own queries are in the trail they read.
    let own = trail
        .query_trail(suite.request(
            pb::QueryTrailRequest {
                trail: "assistance".into(),
                actor: "auditor-1".into(),
                action: "assistance.QueryTrail".into(),
                ..Default::default()
            },
            &auditor,
        ))
        .await
        .expect("query by actor")
        .into_inner();
    assert!(own.rows.len() >= 2, "{:?}", own.rows);
    assert!(own.rows.iter().all(|r| r.purpose == "audit"));

    let verified = trail
        .verify_trail(suite.request(
            pb::VerifyTrailRequest {
                trail: "assistance".into(),
            },
            &auditor,
        ))
        .await
        .expect("verify")
        .into_inner();
    assert!(verified.intact, "{}", verified.problem);
    assert!(verified.rows_checked >= 6, "{verified:?}");

    let export = trail
        .export_trail(suite.request(
            pb::ExportTrailRequest {
                trail: "assistance".into(),
            },
            &auditor,
        ))
        .await
        .expect("export")
        .into_inner();
    assert_eq!(export.format, auth::evidence::EXPORT_FORMAT);
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("assistance.json");
    std::fs::write(&file, &export.export_json).expect("write extract");
    let key = kit::trust::trusted_public_key(&suite.config, None).expect("audit public key");
    let checked = kit::trust::verify_file(&file, &key, None).expect("the extract verifies offline");
    assert!(checked.rows >= export.rows as i64 - 1, "{checked:?}");
}

#[tokio::test]
async fn only_the_auditor_may_read_the_trail_and_bad_queries_name_every_field() {
    let outside = Outside::start().await;
    let suite = spawn_suite(&outside, |_| {}).await;
    let mut trail = AuditTrailClient::new(suite.channel.clone());
    let ask = pb::QueryTrailRequest {
        trail: "assistance".into(),
        ..Default::default()
    };
    for role in [Role::SysAdmin, Role::CountyApprover, Role::Citizen] {
        let token = suite.token(&[role], COUNTY);
        let err = trail
            .query_trail(suite.request(ask.clone(), &token))
            .await
            .expect_err("auditor only");
        assert_eq!(err.code(), Code::PermissionDenied, "{role:?}");
    }
    let auditor = suite.token_for("auditor-2", &[Role::Auditor], COUNTY);
    let err = trail
        .query_trail(suite.request(
            pb::QueryTrailRequest {
                trail: "assistance".into(),
                id_number: "12345".into(),
                from_unix_ms: 10,
                to_unix_ms: 5,
                page_size: -1,
                ..Default::default()
            },
            &auditor,
        ))
        .await
        .expect_err("bad query");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        kit::error::violated_fields(&err),
        vec!["id_number", "to_unix_ms", "page_size"]
    );
    let err = trail
        .query_trail(suite.request(
            pb::QueryTrailRequest {
                trail: "tax".into(),
                ..Default::default()
            },
            &auditor,
        ))
        .await
        .expect_err("no such trail here");
    assert_eq!(err.code(), Code::NotFound);
}
