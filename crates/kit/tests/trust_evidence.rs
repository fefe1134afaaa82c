//! Trust issue 15 item 4 / Performance issue 21 item 2: the evidence log. Writes fail closed
//! (the audit store unwritable or its signature too old: UNAVAILABLE, nothing changes), a read
//! answers only once its audit row is durable, and an exported trail is verified offline.
//! SQLite by default, PostgreSQL when `CIVIL_TEST_PG` is set.

use std::time::Duration;

use contracts::civil::common::v1::{Date, PersonRef};
use contracts::civil::socialorg::v1 as pb;
use contracts::civil::socialorg::v1::social_org_service_client::SocialOrgServiceClient;
use kit::testing::{Role, TestSuite};
use sqlx::Row;
use tonic::Code;
use tonic_types::StatusExt;

const COUNTY: &str = "330723";

fn register(name: &str, rep17: &str) -> pb::RegisterOrganisationRequest {
    pb::RegisterOrganisationRequest {
        request_id: uuid::Uuid::now_v7().to_string(),
        kind: pb::OrganisationKind::SocialGroup.into(),
        field: pb::ActivityField::Other.into(),
        name: name.into(),
        region_code: COUNTY.into(),
        address: "武义县壶山街道解放路12号".into(),
        legal_representative: Some(PersonRef {
            id_number: format!("{rep17}{}", civil_id::IdNumber::check_char(rep17)),
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

struct Fixture {
    suite: TestSuite,
    officer: String,
}

impl Fixture {
    async fn start(adjust: impl FnOnce(&mut kit::config::Config)) -> Self {
        let suite = kit::testing::spawn_with(&[socialorg::SERVICE], |cfg| {
            cfg.extra.insert("socialorg_sweep".into(), "off".into());
            adjust(cfg);
        })
        .await;
        let officer = suite.token_for("officer-1", &[Role::SocialOrgOfficer], COUNTY);
        Self { suite, officer }
    }

    fn client(&self) -> SocialOrgServiceClient<tonic::transport::Channel> {
        SocialOrgServiceClient::new(self.suite.channel.clone())
    }

    async fn register(&self, name: &str, rep17: &str) -> Result<pb::Organisation, tonic::Status> {
        self.client()
            .register_organisation(self.suite.request(register(name, rep17), &self.officer))
            .await
            .map(|r| r.into_inner())
    }

    async fn get(&self, id: &str) -> Result<pb::Organisation, tonic::Status> {
        let r = pb::GetOrganisationRequest {
            organisation_id: id.into(),
        };
        self.client()
            .get_organisation(self.suite.request(r, &self.officer))
            .await
            .map(|r| r.into_inner())
    }

    async fn count(&self, sql: &str) -> i64 {
        let db = self.suite.db("socialorg").await;
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_one(&db.pool)
            .await
            .expect("count")
            .get::<i64, _>(0)
    }

    async fn exec(&self, sql: &str) {
        let db = self.suite.db("socialorg").await;
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&db.pool)
            .await
            .expect("statement");
    }
}

fn unavailable_reason(status: &tonic::Status) -> String {
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    status
        .get_details_error_info()
        .map(|i| i.reason)
        .unwrap_or_default()
}

#[tokio::test]
async fn a_write_whose_audit_row_cannot_be_written_answers_unavailable_and_changes_nothing() {
    let f = Fixture::start(|_| {}).await;
    f.register("武义县书法家协会", "33072319700101001")
        .await
        .expect("registered");
    let before = f.count("SELECT COUNT(*) FROM organisations").await;
    f.exec("ALTER TABLE audit_log RENAME TO audit_log_away")
        .await;
    let err = f
        .register("武义县摄影家协会", "33072319700101002")
        .await
        .expect_err("audit store unwritable");
    assert_eq!(unavailable_reason(&err), "AUDIT_UNAVAILABLE");
    assert_eq!(
        f.count("SELECT COUNT(*) FROM organisations").await,
        before,
        "nothing changed"
    );
    f.exec("ALTER TABLE audit_log_away RENAME TO audit_log")
        .await;
    let db = f.suite.db("socialorg").await;
    auth::audit::verify(&db.pool).await.expect("chain intact");
}

#[tokio::test]
async fn a_read_whose_audit_row_cannot_be_written_is_refused() {
    let f = Fixture::start(|_| {}).await;
    let org = f
        .register("武义县书法家协会", "33072319700101001")
        .await
        .expect("registered");
    f.exec("ALTER TABLE audit_log RENAME TO audit_log_away")
        .await;
    let err = f.get(&org.organisation_id).await.expect_err("not audited");
    assert_eq!(unavailable_reason(&err), "AUDIT_UNAVAILABLE");
    f.exec("ALTER TABLE audit_log_away RENAME TO audit_log")
        .await;
    f.get(&org.organisation_id).await.expect("audited again");
}

#[tokio::test]
async fn a_read_audit_row_is_durable_when_the_read_answers() {
    let f = Fixture::start(|_| {}).await;
    let org = f
        .register("武义县书法家协会", "33072319700101001")
        .await
        .expect("registered");
    for expected in 1..=3 {
        f.get(&org.organisation_id).await.expect("read");
        // No flush, no wait: the row is committed before the answer.
        assert_eq!(
            f.count("SELECT COUNT(*) FROM audit_log WHERE action = 'socialorg.GetOrganisation'")
                .await,
            expected
        );
    }
}

#[tokio::test]
async fn writes_are_refused_when_the_last_signature_is_older_than_the_bound() {
    let f = Fixture::start(|cfg| {
        // The signer signs at start and then not for an hour; the bound is 400 ms.
        cfg.extra
            .insert("audit_sign_interval_ms".into(), "3600000".into());
        cfg.extra
            .insert("audit_max_signature_age_ms".into(), "400".into());
    })
    .await;
    f.register("武义县书法家协会", "33072319700101001")
        .await
        .expect("fresh signature");
    tokio::time::sleep(Duration::from_millis(700)).await;
    let before = f.count("SELECT COUNT(*) FROM organisations").await;
    let err = f
        .register("武义县摄影家协会", "33072319700101002")
        .await
        .expect_err("signature too old");
    assert_eq!(unavailable_reason(&err), "AUDIT_SIGNATURE_STALE");
    assert_eq!(f.count("SELECT COUNT(*) FROM organisations").await, before);
}

#[tokio::test]
async fn the_sealer_signs_the_head_and_verify_checks_the_signatures() {
    let f = Fixture::start(|cfg| {
        cfg.extra
            .insert("audit_sign_interval_ms".into(), "100".into());
    })
    .await;
    f.register("武义县书法家协会", "33072319700101001")
        .await
        .expect("registered");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        f.count("SELECT COUNT(*) FROM audit_signature WHERE seq > 0")
            .await
            >= 1
    );
    let db = f.suite.db("socialorg").await;
    auth::audit::verify(&db.pool).await.expect("intact");
    // Stopped, so the signer does not re-sign the head over the tampering.
    f.suite.stop().await;
    sqlx::query("UPDATE audit_signature SET hash = 'ff' WHERE seq > 0")
        .execute(&db.pool)
        .await
        .expect("tamper");
    assert!(auth::audit::verify(&db.pool).await.is_err());
}

#[tokio::test]
async fn an_exported_trail_verifies_offline_and_tampering_is_caught() {
    let f = Fixture::start(|_| {}).await;
    let org = f
        .register("武义县书法家协会", "33072319700101001")
        .await
        .expect("registered");
    f.register("武义县摄影家协会", "33072319700101002")
        .await
        .expect("registered");
    f.get(&org.organisation_id).await.expect("read");
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("socialorg-audit.json");
    let rows = kit::trust::export_to_file(&f.suite.config, "socialorg", &file)
        .await
        .expect("export");
    assert!(rows >= 3, "{rows}");
    // Offline: the file and the county's public key only.
    let key = kit::trust::trusted_public_key(&f.suite.config, None).expect("key");
    f.suite.stop().await;
    let ok = kit::trust::verify_file(&file, &key, None).expect("intact");
    assert_eq!(ok.rows as usize, rows);

    let original: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).expect("read")).expect("json");
    let tampered = dir.path().join("tampered.json");
    let check = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut v = original.clone();
        edit(&mut v);
        std::fs::write(&tampered, serde_json::to_vec(&v).expect("json")).expect("write");
        kit::trust::verify_file(&tampered, &key, None)
    };
    assert!(check(&|v| v["rows"][0]["actor"] = "someone-else".into()).is_err());
    assert!(
        check(&|v| {
            v["rows"].as_array_mut().expect("rows").remove(1);
        })
        .is_err()
    );
    assert!(
        check(&|v| {
            let copy = v["rows"][0].clone();
            v["rows"].as_array_mut().expect("rows").insert(1, copy);
        })
        .is_err()
    );
    // Re-signed with another key: every head re-signed by a forger.
    let forger = auth::evidence::HeadSigner::generate();
    assert!(
        check(&|v| {
            for s in v["signatures"].as_array_mut().expect("signatures") {
                let head: auth::evidence::SignedHead =
                    serde_json::from_value(s.clone()).expect("head");
                let forged = forger.sign(head.seq, &head.hash, head.signed_at_ms);
                *s = serde_json::to_value(forged).expect("json");
            }
        })
        .is_err()
    );
}
