//! BatchOperateCases at its limit over gRPC: 1,000 parked cases of a township cancelled in one
//! batch, each case audited once; the same request again changes nothing; 1,001 are refused.
//! The parked cases are written with the executor's own store functions (as a crash-free
//! executor would have left them), so no workflow needs to run 10,000 steps first.

use contracts::civil::onematter::v1 as pb;
use kit::testing::{Role, TestSuite};
use onematter::executor::store::{self, NewCase};
use onematter::executor::{CaseState, StepState};
use onematter::workflows::after_death;
use pb::one_matter_service_client::OneMatterServiceClient;

const COUNTY: &str = "330723";
const TOWNSHIP_A: &str = "330723001";
const TOWNSHIP_B: &str = "330723002";

/// Writes `n` parked after-death cases in `region` (their first step failed), one transaction.
async fn parked_cases(suite: &TestSuite, n: usize, region: &str) {
    let db = suite.db("onematter").await;
    let mut tx = db.pool.begin().await.expect("tx");
    for _ in 0..n {
        let id = uuid::Uuid::now_v7().to_string();
        let new = NewCase {
            id: id.clone(),
            kind: after_death::KIND,
            dedupe_key: id.clone(),
            region: region.into(),
            applicant: String::new(),
            applicant_evidence: "",
            declarant_sealed: String::new(),
            declarant_index: String::new(),
            declarant_relationship: String::new(),
            subject_sealed: String::new(),
            subject_index: String::new(),
            input_sealed: String::new(),
            facts: serde_json::json!({}),
            origin: "test".into(),
            traceparent: String::new(),
        };
        assert!(
            store::insert_case(&mut tx, &after_death::PLAN, &new, kit::now_ms())
                .await
                .expect("insert")
        );
        let open = [StepState::Ready, StepState::Blocked];
        store::move_steps(&mut tx, &id, &open, StepState::Failed)
            .await
            .expect("fail steps");
        let why = "step funeral_death_case failed: UNAVAILABLE";
        store::set_case_state(&mut tx, &id, CaseState::Parked, Some(why))
            .await
            .expect("park");
    }
    tx.commit().await.expect("commit");
}

fn cancel(request_id: &str, region: &str) -> pb::BatchOperateCasesRequest {
    pb::BatchOperateCasesRequest {
        request_id: request_id.into(),
        search: Some(pb::SearchCasesRequest {
            state: pb::CaseState::Parked as i32,
            region: region.into(),
            ..Default::default()
        }),
        action: pb::BatchAction::Cancel as i32,
        note: "家属撤回申请（批量）".into(),
    }
}

async fn count(suite: &TestSuite, sql: &str) -> i64 {
    let db = suite.db("onematter").await;
    sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(&db.pool)
        .await
        .expect("count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_over_a_thousand_cases_completes_each_audited_and_idempotent() {
    let suite = kit::testing::spawn(&[onematter::SERVICE]).await;
    let operator = suite.token_for("operator-zhao", &[Role::Operator], COUNTY);
    parked_cases(&suite, 1000, TOWNSHIP_A).await;
    parked_cases(&suite, 1, TOWNSHIP_B).await;
    let mut client = OneMatterServiceClient::new(suite.channel.clone());

    // The whole county selects 1,001: refused, nothing changed.
    let too_many = client
        .batch_operate_cases(suite.request(cancel("b-county", COUNTY), &operator))
        .await
        .expect_err("over the limit");
    assert_eq!(
        kit::error::reason_of(&too_many).as_deref(),
        Some("ONEMATTER_BATCH_TOO_LARGE")
    );
    assert_eq!(
        count(&suite, "SELECT COUNT(*) FROM cases WHERE state = 'parked'").await,
        1001
    );

    // The township's 1,000: every one cancelled, each its own audit row.
    let started = std::time::Instant::now();
    let done = client
        .batch_operate_cases(suite.request(cancel("b-a", TOWNSHIP_A), &operator))
        .await
        .expect("batch")
        .into_inner();
    let took = started.elapsed();
    assert_eq!(done.applied_count, 1000);
    assert_eq!(done.outcomes.len(), 1000);
    assert!(
        done.outcomes
            .iter()
            .all(|o| o.applied && o.reason.is_empty())
    );
    assert_eq!(
        count(
            &suite,
            "SELECT COUNT(*) FROM cases WHERE state = 'cancelled'"
        )
        .await,
        1000
    );
    let audited = "SELECT COUNT(DISTINCT object) FROM audit_log WHERE action LIKE '%BatchOperateCases%' AND object LIKE 'cases/%'";
    assert_eq!(count(&suite, audited).await, 1000);
    let rows = "SELECT COUNT(*) FROM audit_log WHERE action LIKE '%BatchOperateCases%' AND object LIKE 'cases/%'";
    assert_eq!(count(&suite, rows).await, 1000);

    // The same request again answers the same outcomes and changes nothing.
    let again = client
        .batch_operate_cases(suite.request(cancel("b-a", TOWNSHIP_A), &operator))
        .await
        .expect("replayed")
        .into_inner();
    assert_eq!(again, done);
    assert_eq!(count(&suite, rows).await, 1000);
    assert_eq!(
        count(
            &suite,
            "SELECT COUNT(*) FROM case_events WHERE kind = 'case_cancelled'"
        )
        .await,
        1000
    );
    // The other township's case is untouched.
    assert_eq!(
        count(&suite, "SELECT COUNT(*) FROM cases WHERE state = 'parked'").await,
        1
    );
    eprintln!("batch of 1000 cancellations took {took:?}");
    let db = suite.db("onematter").await;
    auth::audit::verify(&db.pool)
        .await
        .expect("the audit chain verifies");
}
