//! 补件 over gRPC: the after-death plan v2 asks the family for the deceased's ID card; the
//! family sees what waits for them in the portal and answers; another family sees nothing; an
//! overdue request shows in the operator's list and in the gauge the alert reads.
//!
//! Alone in its file (its own process): the metrics recorder is installed once per process.

mod after_death_script;
mod doubles;

use std::time::Duration;

use contracts::civil::onematter::v1 as pb;
use doubles::Double;
use kit::testing::{Role, TestSuite};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::Code;

use after_death_script::*;

/// The value of an unlabelled gauge on `GET /metrics`.
async fn gauge(addr: &str, name: &str) -> Option<f64> {
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

/// Scrapes until the gauge shows `want` (the gauge refreshes every 100 ms here).
async fn gauge_reaches(addr: &str, want: f64) {
    let name = "civil_onematter_family_requests_overdue";
    for _ in 0..100 {
        if gauge(addr, name).await == Some(want) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{name} never showed {want}: {:?}", gauge(addr, name).await);
}

async fn requests(
    suite: &TestSuite,
    token: &str,
    req: pb::ListFamilyRequestsRequest,
) -> Vec<pb::FamilyRequest> {
    client(suite)
        .list_family_requests(suite.request(req, token))
        .await
        .expect("list")
        .into_inner()
        .requests
}

fn answer(request_id: &str, name: &str) -> pb::AnswerFamilyRequestRequest {
    pb::AnswerFamilyRequestRequest {
        request_id: request_id.into(),
        name: name.into(),
        answer: "已于县政务服务中心公安窗口交回居民身份证".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overdue_id_card_request_raises_the_alert_and_the_familys_answer_resumes_the_case() {
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
        c.extra.insert("onematter_gauge_ms".into(), "100".into());
    })
    .await;
    let family = suite.token_for("citizen-wang", &[Role::Citizen], COUNTY);
    let stranger = suite.token_for("citizen-li", &[Role::Citizen], COUNTY);
    let operator = suite.token(&[Role::Operator], COUNTY);
    client(&suite)
        .publish_plan_version(suite.request(
            pb::PublishPlanVersionRequest {
                request_id: "publish-v2".into(),
                kind: pb::MatterKind::AfterDeath as i32,
                version: 2,
            },
            &operator,
        ))
        .await
        .expect("publish v2");

    let case = client(&suite)
        .start_case(suite.request(after_death("r-1", deceased(1)), &family))
        .await
        .expect("start")
        .into_inner();
    // Everything the card does not hold up finishes; the deregistration waits for the card.
    let waiting = wait_until(&suite, &family, &case.name, |c| {
        step_state(c, "pension_stop") == pb::StepState::Succeeded
            && step_state(c, "funeral_disposal") == pb::StepState::Succeeded
            && c.steps
                .iter()
                .any(|s| s.name == "family_id_card" && s.summary.contains("等待家属补件"))
    })
    .await;
    assert_eq!(waiting.state(), pb::CaseState::Running);
    assert_eq!(
        step_state(&waiting, "household_deregistration"),
        pb::StepState::Blocked
    );

    // The family sees what waits for them, due in ten working days.
    let mine = requests(&suite, &family, pb::ListFamilyRequestsRequest::default()).await;
    assert_eq!(mine.len(), 1, "{mine:?}");
    let request = mine[0].clone();
    assert_eq!(request.case, case.name);
    assert_eq!(request.state(), pb::FamilyRequestState::Open);
    assert!(!request.overdue);
    let today = suite.clock.today();
    let due = ten_working_days(today);
    assert_eq!(request.due_date, Some(date(due)));

    // Another family sees nothing and cannot answer for them.
    assert!(
        requests(&suite, &stranger, pb::ListFamilyRequestsRequest::default())
            .await
            .is_empty()
    );
    let denied = client(&suite)
        .answer_family_request(suite.request(answer("s-1", &request.name), &stranger))
        .await
        .expect_err("not their case");
    assert_eq!(denied.code(), Code::PermissionDenied);
    assert!(denied.metadata().get("grpc-status-details-bin").is_none());
    let denied = client(&suite)
        .get_case(suite.request(
            pb::GetCaseRequest {
                name: case.name.clone(),
            },
            &stranger,
        ))
        .await
        .expect_err("not their case");
    assert_eq!(denied.code(), Code::PermissionDenied);

    // Not overdue yet; the day after the due date it is, in the operator's list and the gauge.
    let overdue = pb::ListFamilyRequestsRequest {
        overdue: true,
        ..Default::default()
    };
    assert!(
        requests(&suite, &operator, overdue.clone())
            .await
            .is_empty()
    );
    gauge_reaches(&metrics, 0.0).await;
    suite.clock.set_today(due.next_day().expect("a day"));
    let late = requests(&suite, &operator, overdue.clone()).await;
    assert_eq!(late.len(), 1);
    assert!(late[0].overdue);
    gauge_reaches(&metrics, 1.0).await;

    // The family answers: the step runs again with the answer and the case completes.
    let answered = client(&suite)
        .answer_family_request(suite.request(answer("a-1", &request.name), &family))
        .await
        .expect("answer")
        .into_inner();
    assert_eq!(answered.state(), pb::FamilyRequestState::Answered);
    let done = wait_until(&suite, &family, &case.name, |c| {
        c.state() != pb::CaseState::Running
    })
    .await;
    assert_eq!(done.state(), pb::CaseState::Completed, "{done:?}");
    assert_eq!(
        double.calls("HouseholdRegisterService/DeregisterDeceased"),
        1
    );
    assert!(requests(&suite, &operator, overdue).await.is_empty());
    gauge_reaches(&metrics, 0.0).await;
    let twice = client(&suite)
        .answer_family_request(suite.request(answer("a-2", &request.name), &family))
        .await
        .expect_err("answered already");
    assert_eq!(
        reason(&twice).as_deref(),
        Some("ONEMATTER_REQUEST_ANSWERED")
    );
    // The answer is sealed at rest (it may name people and document numbers).
    let db = suite.db("onematter").await;
    let stored: String = sqlx::query_scalar("SELECT answer_sealed FROM family_requests")
        .fetch_one(&db.pool)
        .await
        .expect("row");
    assert!(!stored.contains("居民身份证"));
}

fn date(d: time::Date) -> contracts::civil::common::v1::Date {
    contracts::civil::common::v1::Date {
        year: d.year(),
        month: i32::from(u8::from(d.month())),
        day: i32::from(d.day()),
    }
}

/// Ten working days from `today` on the county's calendar (RULES.md, "Conventions").
fn ten_working_days(today: time::Date) -> time::Date {
    civil_calendar::HolidayCalendar::embedded().add_working_days(today, 10)
}
