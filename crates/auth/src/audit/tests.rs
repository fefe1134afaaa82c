use super::*;
use sqlx::{AnyPool, Row};

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

fn entry(action: &str) -> AuditEntry {
    AuditEntry {
        actor: "registrar-1".into(),
        on_behalf_of: String::new(),
        action: action.into(),
        object: "person:ab12".into(),
        outcome: "ok".into(),
        trace_id: "t".into(),
        purpose: "registration".into(),
        ..AuditEntry::default()
    }
}

async fn append_one(pool: &AnyPool, e: AuditEntry) {
    let mut tx = pool.begin().await.expect("tx");
    append(&mut tx, &[e]).await.expect("append");
    tx.commit().await.expect("commit");
    // Sealed at once, so the order of these tests' rows is their append order.
    seal(pool).await.expect("seal");
}

#[tokio::test]
async fn an_untouched_chain_verifies() {
    let (_d, pool) = pool().await;
    for a in ["read", "register", "read"] {
        append_one(&pool, entry(a)).await;
    }
    assert_eq!(verify(&pool).await.expect("intact"), 3);
}

#[tokio::test]
async fn an_altered_row_is_detected() {
    let (_d, pool) = pool().await;
    for a in ["read", "register", "read"] {
        append_one(&pool, entry(a)).await;
    }
    sqlx::query("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2")
        .execute(&pool)
        .await
        .expect("tamper");
    match verify(&pool).await {
        Err(VerifyError::Broken(ChainBreak::Altered { seq })) => assert_eq!(seq, 2),
        other => panic!("tampering not detected: {other:?}"),
    }
}

#[tokio::test]
async fn a_deleted_last_row_is_detected() {
    let (_d, pool) = pool().await;
    for a in ["read", "register"] {
        append_one(&pool, entry(a)).await;
    }
    sqlx::query("DELETE FROM audit_log WHERE seq = 2")
        .execute(&pool)
        .await
        .expect("delete");
    assert!(matches!(
        verify(&pool).await,
        Err(VerifyError::Broken(ChainBreak::Truncated { .. }))
    ));
}

#[tokio::test]
async fn a_deleted_middle_row_is_detected() {
    let (_d, pool) = pool().await;
    for a in ["read", "register", "read"] {
        append_one(&pool, entry(a)).await;
    }
    sqlx::query("DELETE FROM audit_log WHERE seq = 2")
        .execute(&pool)
        .await
        .expect("delete");
    assert!(matches!(
        verify(&pool).await,
        Err(VerifyError::Broken(ChainBreak::Gap {
            seq: 3,
            previous: 1
        }))
    ));
}

#[tokio::test]
async fn a_batch_larger_than_one_insert_statement_chains_in_order() {
    let (_d, pool) = pool().await;
    append_one(&pool, entry("before")).await;
    let batch: Vec<_> = (0..150).map(|i| entry(&format!("read-{i}"))).collect();
    let mut tx = pool.begin().await.expect("tx");
    append(&mut tx, &batch).await.expect("append");
    tx.commit().await.expect("commit");
    seal(&pool).await.expect("seal");
    append_one(&pool, entry("after")).await;
    assert_eq!(verify(&pool).await.expect("intact"), 152);
    let rows = list(&pool, 0, 200).await.expect("list");
    assert_eq!(rows[1].entry.action, "read-0");
    assert_eq!(rows[150].entry.action, "read-149");
    assert_eq!(rows[151].entry.action, "after");
}

#[tokio::test]
async fn appends_take_no_lock_and_are_chained_by_the_sealer() {
    let (_d, pool) = pool().await;
    let mut tx = pool.begin().await.expect("tx");
    append(&mut tx, &[entry("a"), entry("b")])
        .await
        .expect("append");
    tx.commit().await.expect("commit");
    let head: i64 = sqlx::query("SELECT seq FROM audit_head WHERE id = 1")
        .fetch_one(&pool)
        .await
        .expect("head")
        .get("seq");
    assert_eq!(head, 0, "the append did not touch the head row");
    assert_eq!(seal(&pool).await.expect("seal").seq, 2);
    assert_eq!(verify(&pool).await.expect("intact"), 2);
}

#[tokio::test]
async fn a_rolled_back_change_leaves_no_audit_row() {
    let (_d, pool) = pool().await;
    let mut tx = pool.begin().await.expect("tx");
    append(&mut tx, &[entry("a")]).await.expect("append");
    tx.rollback().await.expect("rollback");
    assert_eq!(verify(&pool).await.expect("intact"), 0);
}

#[tokio::test]
async fn a_durable_read_row_is_committed_before_record_returns() {
    let (_d, pool) = pool().await;
    let w = AuditWriter::spawn(pool.clone());
    w.record_durable(entry("read")).await.expect("durable");
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM audit_log WHERE seq < 0")
        .fetch_one(&pool)
        .await
        .expect("count")
        .get("n");
    assert_eq!(n, 1);
}

#[tokio::test]
async fn a_durable_read_row_that_cannot_be_written_is_reported() {
    let (_d, pool) = pool().await;
    sqlx::query("DROP TABLE audit_log")
        .execute(&pool)
        .await
        .expect("drop");
    let w = AuditWriter::spawn(pool.clone());
    assert!(w.record_durable(entry("read")).await.is_err());
}

#[tokio::test]
async fn the_auditor_queries_by_person_actor_action_outcome_and_time_in_pages() {
    let (_d, pool) = pool().await;
    let mut rows = Vec::new();
    for i in 0..7 {
        let mut e = entry(if i % 2 == 0 {
            "marriage.GetMarriage"
        } else {
            "marriage.RegisterMarriage"
        });
        e.object = if i < 5 {
            "person:ab12".into()
        } else {
            "person:cd34".into()
        };
        e.actor = format!("clerk-{}", i % 3);
        if i == 6 {
            e.outcome = "AUTH_REGION_OUT_OF_SCOPE".into();
        }
        rows.push(e);
    }
    let mut tx = pool.begin().await.expect("tx");
    append(&mut tx, &rows).await.expect("append");
    tx.commit().await.expect("commit");

    let person = Query {
        object: Some("person:ab12".into()),
        ..Query::default()
    };
    let first = query(&pool, &person, 0, 2).await.expect("page 1");
    assert_eq!(first.rows.len(), 2);
    let after = first.next_after.expect("more");
    let second = query(&pool, &person, after, 2).await.expect("page 2");
    let third = query(&pool, &person, second.next_after.expect("more"), 2)
        .await
        .expect("page 3");
    assert_eq!(third.rows.len(), 1);
    assert_eq!(third.next_after, None);

    let by_actor_and_action = Query {
        actor: Some("clerk-0".into()),
        action: Some("marriage.GetMarriage".into()),
        ..Query::default()
    };
    let page = query(&pool, &by_actor_and_action, 0, 50)
        .await
        .expect("query");
    assert_eq!(page.rows.len(), 2, "rows 0 and 6");
    let refused = Query {
        outcome: Some("AUTH_REGION_OUT_OF_SCOPE".into()),
        ..Query::default()
    };
    assert_eq!(
        query(&pool, &refused, 0, 50).await.expect("q").rows.len(),
        1
    );
    let at = page.rows[0].at_ms;
    let window = Query {
        from_ms: Some(at + 1),
        ..Query::default()
    };
    assert!(
        query(&pool, &window, 0, 50)
            .await
            .expect("q")
            .rows
            .is_empty()
    );
    let window = Query {
        from_ms: Some(at),
        to_ms: Some(at + 1),
        ..Query::default()
    };
    assert_eq!(query(&pool, &window, 0, 50).await.expect("q").rows.len(), 7);
}

#[tokio::test]
async fn the_batch_writer_chains_reads() {
    let (_d, pool) = pool().await;
    let w = AuditWriter::spawn(pool.clone());
    for _ in 0..50 {
        w.record(entry("read")).await;
    }
    w.flush().await;
    assert_eq!(verify(&pool).await.expect("intact"), 50);
}

#[tokio::test]
async fn an_altered_organisation_role_or_person_is_detected() {
    let (_d, pool) = pool().await;
    let mut e = entry("marriage.RecordDeath");
    e.person = "ab12".into();
    e.organisation = "县民政局".into();
    e.role = "registrar".into();
    append_one(&pool, e).await;
    for tamper in [
        "UPDATE audit_log SET organisation = 'other' WHERE seq = 1",
        "UPDATE audit_log SET organisation = '县民政局', role = 'auditor' WHERE seq = 1",
        "UPDATE audit_log SET role = 'registrar', person = 'cd34' WHERE seq = 1",
    ] {
        sqlx::query(tamper).execute(&pool).await.expect("tamper");
        assert!(
            matches!(
                verify(&pool).await,
                Err(VerifyError::Broken(ChainBreak::Altered { seq: 1 }))
            ),
            "{tamper}"
        );
    }
}

#[test]
fn a_row_without_person_organisation_or_role_keeps_its_earlier_hash() {
    // The hash of rows sealed before the three columns existed: seven fields only.
    let e = entry("read");
    let mut h = Sha256::new();
    h.update(GENESIS.as_bytes());
    h.update(1_i64.to_be_bytes());
    h.update(7_i64.to_be_bytes());
    for f in [
        &e.actor,
        &e.on_behalf_of,
        &e.action,
        &e.object,
        &e.outcome,
        &e.trace_id,
        &e.purpose,
    ] {
        h.update((f.len() as u64).to_be_bytes());
        h.update(f.as_bytes());
    }
    assert_eq!(chain_hash(GENESIS, 1, 7, &e), hex::encode(h.finalize()));
}

#[tokio::test]
async fn the_citizen_view_finds_a_person_by_person_or_by_object() {
    let (_d, pool) = pool().await;
    let mut named = entry("funeral.RegisterDeath");
    named.object = "cases/1".into();
    named.person = "ab12".into();
    let mut older = entry("marriage.GetMaritalStatus");
    older.object = "ab12".into();
    let mut other = entry("marriage.GetMaritalStatus");
    other.object = "cd34".into();
    for e in [named, older, other] {
        append_one(&pool, e).await;
    }
    let q = Query {
        person: Some("ab12".into()),
        ..Query::default()
    };
    let page = query(&pool, &q, 0, 50).await.expect("query");
    let actions: Vec<_> = page.rows.iter().map(|r| r.entry.action.as_str()).collect();
    assert_eq!(
        actions,
        ["funeral.RegisterDeath", "marriage.GetMaritalStatus"]
    );
}
