//! Retention over gRPC: cases closed longer than the retention period lose their personal data
//! and keep their skeleton for statistics; a running case keeps everything; each purged case is
//! audited and counted in `civil_onematter_cases_purged_total`.
//!
//! Alone in its file (its own process): the metrics recorder is installed once per process.

mod after_death_script;
mod doubles;

use contracts::civil::onematter::v1 as pb;
use doubles::Double;
use kit::testing::{Role, TestSuite};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::Code;

use after_death_script::*;

async fn counter(addr: &str, name: &str) -> Option<f64> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("metrics");
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .expect("request");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("response");
    let text = String::from_utf8(raw).expect("utf-8");
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(' '))
        .find(|(series, _)| *series == name)
        .and_then(|(_, v)| v.trim().parse().ok())
}

async fn purge(
    suite: &TestSuite,
    token: &str,
    request_id: &str,
) -> Result<pb::PurgeClosedCasesResponse, tonic::Status> {
    client(suite)
        .purge_closed_cases(suite.request(
            pb::PurgeClosedCasesRequest {
                request_id: request_id.into(),
            },
            token,
        ))
        .await
        .map(|r| r.into_inner())
}

async fn scalar(suite: &TestSuite, sql: &str, id: &str) -> i64 {
    let db = suite.db("onematter").await;
    sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_owned()))
        .bind(id.trim_start_matches("cases/"))
        .fetch_one(&db.pool)
        .await
        .expect("count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_purges_the_personal_data_of_long_closed_cases_audits_and_counts() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("free port")
        .local_addr()
        .expect("addr")
        .port();
    let metrics = format!("127.0.0.1:{port}");
    kit::telemetry::serve_metrics(&metrics).expect("the exporter starts");
    let double = Double::default();
    script_after_death(&double, &Funeral::cremated());
    let suite = suite(&double, |c| {
        c.extra
            .insert("onematter_retention_days".into(), "365".into());
    })
    .await;
    let family = suite.token_for("citizen-wang", &[Role::Citizen], COUNTY);
    let operator = suite.token(&[Role::Operator], COUNTY);

    // One case completes; a second (plan v2) waits for the family's 补件 and stays running.
    let closed = client(&suite)
        .start_case(suite.request(after_death("r-1", deceased(1)), &family))
        .await
        .expect("start")
        .into_inner();
    wait_until(&suite, &family, &closed.name, |c| {
        c.state() == pb::CaseState::Completed
    })
    .await;
    client(&suite)
        .publish_plan_version(suite.request(
            pb::PublishPlanVersionRequest {
                request_id: "p2".into(),
                kind: pb::MatterKind::AfterDeath as i32,
                version: 2,
            },
            &operator,
        ))
        .await
        .expect("publish");
    let running = client(&suite)
        .start_case(suite.request(after_death("r-2", deceased(2)), &family))
        .await
        .expect("start")
        .into_inner();
    wait_until(&suite, &family, &running.name, |c| {
        c.steps
            .iter()
            .any(|s| s.name == "family_id_card" && s.summary.contains("等待家属补件"))
    })
    .await;

    // Only the county's system administrator (or the scheduler) purges.
    let admin = suite.token(&[Role::SysAdmin], COUNTY);
    let denied = purge(&suite, &operator, "x-1")
        .await
        .expect_err("operators do not purge");
    assert_eq!(denied.code(), Code::PermissionDenied);
    // Within the period nothing is due.
    assert_eq!(
        purge(&suite, &admin, "p-0")
            .await
            .expect("purge")
            .purged_count,
        0
    );

    // A year and a day later the closed case is purged; the running one is not.
    suite
        .clock
        .set_now_ms(suite.clock.now_ms() + 366 * 24 * 3600 * 1000);
    let admin = suite.token(&[Role::SysAdmin], COUNTY);
    let operator = suite.token(&[Role::Operator], COUNTY);
    let done = purge(&suite, &admin, "p-1").await.expect("purge");
    assert_eq!(done.cases, std::slice::from_ref(&closed.name));
    assert_eq!(
        counter(&metrics, "civil_onematter_cases_purged_total").await,
        Some(1.0)
    );

    // The skeleton stays: matter, region, state, dates, steps and their summaries.
    let skeleton = get(&suite, &operator, &closed.name).await;
    assert_eq!(skeleton.state(), pb::CaseState::Completed);
    assert_eq!(skeleton.kind(), pb::MatterKind::AfterDeath);
    assert_eq!(skeleton.region, TOWNSHIP);
    assert_eq!(skeleton.steps.len(), 10);
    assert!(
        skeleton
            .steps
            .iter()
            .all(|s| s.state() == pb::StepState::Succeeded)
    );
    assert!(skeleton.purged_at_ms > 0);
    // The people, the applicant, the matter and the step outputs are gone.
    assert!(skeleton.declarant.is_none() && skeleton.subject.is_none());
    assert!(skeleton.applicant.is_empty());
    let personal = "SELECT COUNT(*) FROM cases WHERE id = $1 AND (declarant_sealed <> '' OR declarant_index <> ''
        OR subject_sealed <> '' OR subject_index <> '' OR input_sealed <> '' OR applicant <> ''
        OR dedupe_key LIKE 'after_death:%')";
    assert_eq!(scalar(&suite, personal, &closed.name).await, 0);
    let outputs = "SELECT COUNT(*) FROM case_steps WHERE case_id = $1 AND output <> 'null'";
    assert_eq!(scalar(&suite, outputs, &closed.name).await, 0);
    // The running case keeps everything.
    assert_eq!(scalar(&suite, personal, &running.name).await, 1);
    assert!(
        get(&suite, &operator, &running.name)
            .await
            .declarant
            .is_some()
    );
    // Audited once, counted once: a second run purges nothing more.
    let audited = "SELECT COUNT(*) FROM audit_log WHERE object = 'cases/' || $1 AND action LIKE '%PurgeClosedCases%'";
    assert_eq!(scalar(&suite, audited, &closed.name).await, 1);
    assert_eq!(
        purge(&suite, &admin, "p-2")
            .await
            .expect("purge")
            .purged_count,
        0
    );
    assert_eq!(
        counter(&metrics, "civil_onematter_cases_purged_total").await,
        Some(1.0)
    );
    // The same request again answers the first result and purges nothing.
    assert_eq!(
        purge(&suite, &admin, "p-1").await.expect("replay").cases,
        done.cases
    );
    assert_eq!(scalar(&suite, audited, &closed.name).await, 1);
}
