use super::super::*;
use super::*;
use sqlx::AnyPool;

const YEARS_4: i64 = 4 * 365 * 86_400_000;

async fn pool() -> (tempfile::TempDir, AnyPool) {
    sqlx::any::install_default_drivers();
    let dir = tempfile::tempdir().expect("tmp");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("a.db").display());
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .expect("pool");
    for s in SCHEMA {
        sqlx::query(*s).execute(&pool).await.expect("schema");
    }
    (dir, pool)
}

/// Appends a row `age_ms` old (pending rows carry no hash yet, so their time can be set) and
/// seals it.
async fn row(pool: &AnyPool, action: &str, age_ms: i64) {
    let e = AuditEntry {
        actor: "clerk-1".into(),
        action: action.into(),
        object: "ab12".into(),
        person: "ab12".into(),
        organisation: "县民政局".into(),
        role: "township_clerk".into(),
        outcome: "ok".into(),
        ..AuditEntry::default()
    };
    let mut tx = pool.begin().await.expect("tx");
    append(&mut tx, &[e]).await.expect("append");
    sqlx::query("UPDATE audit_log SET at_ms = at_ms - $1 WHERE seq < 0")
        .bind(age_ms)
        .execute(&mut *tx)
        .await
        .expect("age");
    tx.commit().await.expect("commit");
    seal(pool).await.expect("seal");
}

/// Rows 1-3: old reads; 4: an old change; 5: a recent read.
async fn trail() -> (tempfile::TempDir, AnyPool) {
    let (d, pool) = pool().await;
    for _ in 0..3 {
        row(&pool, "assistance.GetBenefit", YEARS_4).await;
    }
    row(&pool, "assistance.GrantBenefit", YEARS_4).await;
    row(&pool, "assistance.GetBenefit", 1000).await;
    (d, pool)
}

async fn purge_documented(pool: &AnyPool) -> Purged {
    let mut conn = pool.acquire().await.expect("conn");
    purge(
        &mut conn,
        "assistance",
        &Retention::documented("assistance"),
    )
    .await
    .expect("purge")
}

#[tokio::test]
async fn a_purge_empties_expired_rows_and_the_chain_still_verifies() {
    let (_d, pool) = trail().await;
    let done = purge_documented(&pool).await;
    assert_eq!(
        done,
        Purged {
            rows: 3,
            purge_seq: 6
        }
    );
    assert_eq!(verify(&pool).await.expect("intact after purge"), 6);
    let rows = list(&pool, 0, 10).await.expect("list");
    for r in &rows[..3] {
        assert_eq!(
            (r.purged_by, r.entry.actor.as_str(), r.entry.person.as_str()),
            (6, "", "")
        );
    }
    assert_eq!(rows[3].entry.actor, "clerk-1", "a change is kept 30 years");
    assert_eq!(rows[4].entry.actor, "clerk-1", "a recent read is kept");
    let own = &rows[5].entry;
    assert_eq!(own.action, "assistance.PurgeAuditTrail");
    assert_eq!(own.purpose, "retention: 3 rows purged");
    // A second run finds nothing more, and says so in its own row.
    assert_eq!(purge_documented(&pool).await.rows, 0);
    assert_eq!(verify(&pool).await.expect("intact"), 7);
}

#[tokio::test]
async fn emptying_a_row_the_policy_keeps_is_caught_after_a_purge() {
    let (_d, pool) = trail().await;
    purge_documented(&pool).await;
    // The change (kept 30 years) emptied by hand as if the purge had taken it.
    sqlx::query("UPDATE audit_log SET actor = '', person = '', purged_by = 6 WHERE seq = 4")
        .execute(&pool)
        .await
        .expect("tamper");
    assert!(matches!(
        verify(&pool).await,
        Err(VerifyError::Broken(ChainBreak::Altered { seq: 4 }))
    ));
}

#[tokio::test]
async fn a_tombstone_whose_hash_is_changed_or_that_names_no_purge_is_caught() {
    let (_d, pool) = trail().await;
    purge_documented(&pool).await;
    sqlx::query("UPDATE audit_log SET hash = 'ff' WHERE seq = 2")
        .execute(&pool)
        .await
        .expect("tamper");
    assert!(matches!(
        verify(&pool).await,
        Err(VerifyError::Broken(ChainBreak::Altered { seq: 3 }))
    ));

    let (_d, pool) = trail().await;
    // No purge row at all: a recent read emptied to hide who read the record.
    sqlx::query("UPDATE audit_log SET actor = '', purged_by = 5 WHERE seq = 5")
        .execute(&pool)
        .await
        .expect("tamper");
    assert!(matches!(
        verify(&pool).await,
        Err(VerifyError::Broken(ChainBreak::Altered { seq: 5 }))
    ));
}

#[tokio::test]
async fn an_export_after_a_purge_verifies_offline() {
    let (_d, pool) = trail().await;
    purge_documented(&pool).await;
    let signer = crate::evidence::HeadSigner::generate();
    let export = crate::evidence::export(&pool, "assistance", &signer, now_ms())
        .await
        .expect("export");
    let ok = crate::evidence::verify_export(&export, signer.public_key_pem(), None)
        .expect("intact offline");
    assert_eq!(ok.rows, 6);
    let mut forged = export.clone();
    forged.rows[3].actor = String::new();
    forged.rows[3].purged_by = 6;
    assert!(crate::evidence::verify_export(&forged, signer.public_key_pem(), None).is_err());
}

#[tokio::test]
async fn a_policy_below_six_months_is_refused_and_marriage_keeps_everything() {
    let (_d, pool) = trail().await;
    let short = Retention {
        reads_ms: Some(30 * 86_400_000),
        ..Retention::documented("assistance")
    };
    let mut conn = pool.acquire().await.expect("conn");
    assert!(matches!(
        purge(&mut conn, "assistance", &short).await,
        Err(PurgeError::Policy(_))
    ));
    drop(conn);
    let mut conn = pool.acquire().await.expect("conn");
    let done = purge(&mut conn, "marriage", &Retention::documented("marriage"))
        .await
        .expect("purge");
    assert_eq!(done.rows, 0);
}

#[test]
fn kinds_follow_the_rpc_name_and_security_purpose() {
    assert_eq!(kind_of("marriage.GetMaritalStatus", "x"), Kind::Read);
    assert_eq!(
        kind_of("assistance.ListOverdueApplications", ""),
        Kind::Read
    );
    assert_eq!(kind_of("assistance.GrantBenefit", ""), Kind::Change);
    assert_eq!(kind_of("marriage.GetMarriage", "security"), Kind::Security);
    let r = Retention::documented("funeral");
    assert_eq!(Retention::decode(&r.encode()), Some(r));
    assert_eq!(
        Retention::decode("reads=1 changes=keep security=keep"),
        None
    );
}
