//! The durable executor against a real store: SQLite by default, PostgreSQL when
//! `CIVIL_TEST_PG` is set. Time is a fake clock moved by hand; steps call a fake receiver that
//! keeps key -> response like every service of the suite does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use onematter::executor::store::{self, NewCase};
use onematter::executor::{
    Attempt, Engine, Executor, ExecutorConfig, FakeClock, OnFailure, Phase, Plan, Recorded,
    Registry, RetryPolicy, StepCall, StepDef, StepError, StepOutcome, Workflow,
};
use tonic::Code;

const LEASE: Duration = Duration::from_secs(30);
const POLICY: RetryPolicy = RetryPolicy {
    max_attempts: 3,
    initial_backoff: Duration::from_secs(1),
    max_backoff: Duration::from_secs(8),
    multiplier: 2,
    jitter: 0.5,
};

const fn step(
    name: &'static str,
    depends_on: &'static [&'static str],
    compensable: bool,
) -> StepDef {
    StepDef {
        name,
        depends_on,
        retry: POLICY,
        attempt_timeout: Duration::from_secs(5),
        deadline: Duration::from_secs(3600),
        compensable,
        read_only: false,
    }
}

/// a -> (b, c) -> d: b and c have no mutual dependency.
static DIAMOND: [StepDef; 4] = [
    step("a", &[], true),
    step("b", &["a"], true),
    step("c", &["a"], true),
    step("d", &["b", "c"], false),
];
static PARK_PLAN: Plan = Plan {
    kind: "diamond_park",
    version: 1,
    steps: &DIAMOND,
    on_failure: OnFailure::Park,
};
static COMP_PLAN: Plan = Plan {
    kind: "diamond_comp",
    version: 1,
    steps: &DIAMOND,
    on_failure: OnFailure::Compensate,
};
static SHORT: [StepDef; 1] = [StepDef {
    name: "a",
    depends_on: &[],
    retry: RetryPolicy {
        max_attempts: 10,
        ..POLICY
    },
    attempt_timeout: Duration::from_millis(100),
    deadline: Duration::from_secs(10),
    compensable: false,
    read_only: false,
}];
static SHORT_PLAN: Plan = Plan {
    kind: "short",
    version: 1,
    steps: &SHORT,
    on_failure: OnFailure::Park,
};

#[derive(Clone, Debug)]
enum Behaviour {
    Ok,
    /// Fails this many times with the code, then succeeds.
    FailTimes(u32, Code),
    FailAlways(Code),
    Hang,
}

/// A receiver that stores key -> response with its effect (exactly-once at the receiver).
#[derive(Default)]
struct Receiver {
    behaviour: Mutex<HashMap<String, Behaviour>>,
    /// Calls per idempotency key (every attempt).
    calls: Mutex<HashMap<String, u32>>,
    /// Effects applied, in order (one per key at most).
    effects: Mutex<Vec<String>>,
}

impl Receiver {
    fn set(&self, step: &str, b: Behaviour) {
        self.behaviour.lock().expect("lock").insert(step.into(), b);
    }
    fn calls(&self, key: &str) -> u32 {
        self.calls
            .lock()
            .expect("lock")
            .get(key)
            .copied()
            .unwrap_or(0)
    }
    fn effects(&self) -> Vec<String> {
        self.effects.lock().expect("lock").clone()
    }
    fn handle(&self, call: &StepCall) -> Result<StepOutcome, StepError> {
        let n = {
            let mut calls = self.calls.lock().expect("lock");
            let n = calls.entry(call.key.clone()).or_default();
            *n += 1;
            *n
        };
        let behaviour = if call.phase == Phase::Undo {
            Behaviour::Ok
        } else {
            self.behaviour
                .lock()
                .expect("lock")
                .get(&call.step)
                .cloned()
                .unwrap_or(Behaviour::Ok)
        };
        match behaviour {
            Behaviour::FailTimes(k, code) if n <= k => {
                return Err(StepError::new(code, format!("induced failure {n}")));
            }
            Behaviour::FailAlways(code) => return Err(StepError::new(code, "induced failure")),
            _ => {}
        }
        let mut effects = self.effects.lock().expect("lock");
        if !effects.contains(&call.key) {
            effects.push(call.key.clone());
        }
        Ok(StepOutcome::with_output(
            format!("{} done", call.step),
            serde_json::json!({ "key": call.key }),
        ))
    }
}

struct TestFlow {
    plan: &'static Plan,
    receiver: Arc<Receiver>,
}

impl Workflow for TestFlow {
    fn plan(&self) -> &'static Plan {
        self.plan
    }
    fn run(&self, call: StepCall) -> BoxFuture<'_, Result<StepOutcome, StepError>> {
        Box::pin(async move {
            let hang = matches!(
                self.receiver
                    .behaviour
                    .lock()
                    .expect("lock")
                    .get(&call.step),
                Some(Behaviour::Hang)
            );
            if hang && call.phase == Phase::Do {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
            self.receiver.handle(&call)
        })
    }
}

struct Harness {
    _dir: tempfile::TempDir,
    config: kit::config::Config,
    db: kit::store::Db,
    clock: FakeClock,
    receiver: Arc<Receiver>,
}

impl Harness {
    async fn new() -> Harness {
        let dir = tempfile::tempdir().expect("tmp");
        let config = kit::testing::test_config(dir.path());
        let db = kit::store::Db::open(&config, "onematter", &onematter::MIGRATOR)
            .await
            .expect("store");
        Harness {
            _dir: dir,
            config,
            db,
            clock: FakeClock::new(1_800_000_000_000),
            receiver: Arc::default(),
        }
    }

    fn registry(&self) -> Registry {
        let mut r = Registry::new();
        for plan in [
            &PARK_PLAN,
            &COMP_PLAN,
            &SHORT_PLAN,
            &onematter::workflows::after_death::PLAN,
        ] {
            r = r.with(Arc::new(TestFlow {
                plan,
                receiver: self.receiver.clone(),
            }));
        }
        r
    }

    /// An executor; `own_pool` gives it its own connections (PostgreSQL: real concurrency).
    async fn executor(&self, name: &str, own_pool: bool) -> Executor {
        let db = if own_pool && self.db.dialect == kit::store::Dialect::Postgres {
            kit::store::Db::connect(&self.config, "onematter")
                .await
                .expect("second pool")
        } else {
            self.db.clone()
        };
        let config = ExecutorConfig {
            worker_id: name.into(),
            batch: 8,
            lease: LEASE,
            heartbeat: Duration::from_secs(3600),
            poll: Duration::from_millis(5),
            ..ExecutorConfig::default()
        };
        Executor::new(
            db,
            Arc::new(self.clock.clone()),
            self.registry(),
            kit::pii::Sealer::new(&[7; 32]),
            config,
        )
        .with_announcer(Arc::new(onematter::events::CaseFinishedOutbox))
    }

    async fn start(&self, exec: &Executor, plan: &Plan) -> String {
        let id = uuid::Uuid::now_v7().to_string();
        let new = NewCase {
            id: id.clone(),
            kind: plan.kind,
            dedupe_key: id.clone(),
            region: "330723001".into(),
            applicant: "citizen-1".into(),
            applicant_evidence: "own_matter",
            declarant_sealed: String::new(),
            declarant_index: String::new(),
            declarant_relationship: String::new(),
            subject_sealed: String::new(),
            subject_index: String::new(),
            input_sealed: exec.seal_input(b""),
            facts: serde_json::json!({}),
            origin: "test".into(),
            traceparent: String::new(),
        };
        let mut tx = self.db.pool.begin().await.expect("tx");
        assert!(exec.create_case(&mut tx, &new).await.expect("create"));
        tx.commit().await.expect("commit");
        id
    }

    async fn case(&self, exec: &Executor, id: &str) -> store::CaseRecord {
        exec.case(id).await.expect("load").expect("exists")
    }
}

fn step_of<'a>(case: &'a store::CaseRecord, name: &str) -> &'a store::StepRecord {
    case.steps.iter().find(|s| s.step == name).expect("step")
}

/// Ticks (moving the clock past any back-off) until nothing is due.
async fn drain(h: &Harness, exec: &Executor) {
    for _ in 0..50 {
        if exec.tick().await.expect("tick") == 0 {
            h.clock.advance(POLICY.max_backoff);
            if exec.tick().await.expect("tick") == 0 {
                return;
            }
        }
    }
    panic!("executor did not settle");
}

#[tokio::test]
async fn steps_without_mutual_dependencies_run_in_one_batch_and_the_case_completes() {
    let h = Harness::new().await;
    let exec = h.executor("x1", false).await;
    let id = h.start(&exec, &PARK_PLAN).await;

    let first = exec.claim().await.expect("claim");
    assert_eq!(
        first.iter().map(|c| c.step.as_str()).collect::<Vec<_>>(),
        vec!["a"],
        "b and c wait for a"
    );
    let attempt = exec.execute(&first[0]).await;
    assert_eq!(
        exec.record(&first[0], attempt, Duration::ZERO)
            .await
            .expect("record"),
        Recorded::Succeeded
    );

    let second = exec.claim().await.expect("claim");
    let mut names: Vec<_> = second.iter().map(|c| c.step.clone()).collect();
    names.sort();
    assert_eq!(names, vec!["b", "c"], "released together by a's completion");
    for c in &second {
        let attempt = exec.execute(c).await;
        exec.record(c, attempt, Duration::ZERO)
            .await
            .expect("record");
    }
    drain(&h, &exec).await;

    let case = h.case(&exec, &id).await;
    assert_eq!(case.state, "completed");
    assert!(
        case.steps
            .iter()
            .all(|s| s.state == "succeeded" && s.attempts == 1),
        "{:?}",
        case.steps
    );
    let events = exec.events_after(&id, 0).await.expect("events");
    let kinds: Vec<_> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds.first(), Some(&"case_started"));
    assert_eq!(kinds.last(), Some(&"case_completed"));
    assert_eq!(
        events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=events.len() as i64).collect::<Vec<_>>(),
        "gapless per-case sequence"
    );
}

#[tokio::test]
async fn a_crash_between_effect_and_checkpoint_reruns_the_step_without_a_second_effect() {
    let h = Harness::new().await;
    let exec = h.executor("x1", false).await;
    let id = h.start(&exec, &PARK_PLAN).await;

    let claimed = exec.claim().await.expect("claim");
    let _effect_done = exec.execute(&claimed[0]).await;
    // The process dies here: the result never reaches the store.
    drop(claimed);

    assert_eq!(
        exec.tick().await.expect("tick"),
        0,
        "the lease still holds the step"
    );
    h.clock.advance(LEASE + Duration::from_secs(1));
    drain(&h, &exec).await;

    let key = format!("{id}:a:do");
    assert_eq!(
        h.receiver.calls(&key),
        2,
        "the step ran again after the crash"
    );
    assert_eq!(
        h.receiver.effects().iter().filter(|k| **k == key).count(),
        1,
        "the receiver applied it once"
    );
    let case = h.case(&exec, &id).await;
    assert_eq!(case.state, "completed");
    assert_eq!(step_of(&case, "a").attempts, 2, "the lost attempt counts");
}

#[tokio::test]
async fn two_executors_racing_over_the_same_cases_never_run_a_step_twice() {
    let h = Harness::new().await;
    let one = h.executor("x1", true).await;
    let two = h.executor("x2", true).await;
    let mut ids = Vec::new();
    for _ in 0..12 {
        ids.push(h.start(&one, &PARK_PLAN).await);
    }
    let run = |exec: Executor| async move {
        let mut idle = 0;
        while idle < 5 {
            if exec.tick().await.expect("tick") == 0 {
                idle += 1;
                tokio::time::sleep(Duration::from_millis(5)).await;
            } else {
                idle = 0;
            }
        }
    };
    tokio::join!(
        tokio::spawn(run(one.clone())),
        tokio::spawn(run(two.clone()))
    )
    .0
    .expect("one");
    drain(&h, &one).await;

    for id in &ids {
        assert_eq!(h.case(&one, id).await.state, "completed");
        for s in ["a", "b", "c", "d"] {
            assert_eq!(
                h.receiver.calls(&format!("{id}:{s}:do")),
                1,
                "{id} {s} ran exactly once"
            );
        }
    }
}

#[tokio::test]
async fn after_lease_expiry_another_executor_takes_over_and_the_stale_completion_is_rejected() {
    let h = Harness::new().await;
    let slow = h.executor("slow", false).await;
    let fast = h.executor("fast", true).await;
    let id = h.start(&slow, &PARK_PLAN).await;

    let held = exec_claim_one(&slow).await;
    // The slow executor stalls past its lease (no heartbeat); the other one takes over.
    h.clock.advance(LEASE + Duration::from_secs(1));
    let taken = exec_claim_one(&fast).await;
    assert_eq!(taken.step, "a");
    assert!(
        taken.lease_token > held.lease_token,
        "the takeover has a newer fencing token"
    );
    let attempt = fast.execute(&taken).await;
    assert_eq!(
        fast.record(&taken, attempt, Duration::ZERO)
            .await
            .expect("record"),
        Recorded::Succeeded
    );

    let late = Attempt::Outcome(StepOutcome::done("late result"));
    assert_eq!(
        slow.record(&held, late, Duration::ZERO)
            .await
            .expect("record"),
        Recorded::Stale
    );
    let case = h.case(&slow, &id).await;
    assert_eq!(
        step_of(&case, "a").summary,
        "a done",
        "the stale result did not overwrite the step"
    );
    assert_eq!(step_of(&case, "a").attempts, 2);
}

async fn exec_claim_one(exec: &Executor) -> store::Claimed {
    let mut claimed = exec.claim().await.expect("claim");
    assert_eq!(claimed.len(), 1, "{claimed:?}");
    claimed.remove(0)
}

#[tokio::test]
async fn retries_back_off_on_the_fake_clock_before_the_next_attempt() {
    let h = Harness::new().await;
    let exec = h.executor("x1", false).await;
    h.receiver
        .set("a", Behaviour::FailTimes(1, Code::Unavailable));
    let id = h.start(&exec, &PARK_PLAN).await;

    let claimed = exec_claim_one(&exec).await;
    let attempt = exec.execute(&claimed).await;
    let Recorded::RetryScheduled { at_ms } = exec
        .record(&claimed, attempt, Duration::ZERO)
        .await
        .expect("record")
    else {
        panic!("UNAVAILABLE is retried");
    };
    let now = h.clock.get();
    assert!(
        at_ms >= now + 500 && at_ms <= now + 1000,
        "first back-off is 1 s with up to 50 % jitter: {}",
        at_ms - now
    );
    assert_eq!(
        exec.tick().await.expect("tick"),
        0,
        "not before the back-off"
    );
    h.clock.advance(Duration::from_millis(1000));
    assert_eq!(exec.tick().await.expect("tick"), 1);
    let case = h.case(&exec, &id).await;
    assert_eq!(step_of(&case, "a").state, "succeeded");
    assert_eq!(step_of(&case, "a").attempts, 2);
}

#[tokio::test]
async fn retries_exhausted_compensate_completed_steps_in_reverse_order() {
    let h = Harness::new().await;
    let exec = h.executor("x1", false).await;
    h.receiver
        .set("c", Behaviour::FailAlways(Code::Unavailable));
    h.receiver.set("b", Behaviour::Ok);
    let id = h.start(&exec, &COMP_PLAN).await;
    drain(&h, &exec).await;

    let case = h.case(&exec, &id).await;
    assert_eq!(case.state, "compensated");
    assert!(
        case.reason.contains("step c failed") && case.reason.contains("after 3 attempts"),
        "{}",
        case.reason
    );
    assert_eq!(h.receiver.calls(&format!("{id}:c:do")), 3, "max attempts");
    assert_eq!(step_of(&case, "d").state, "cancelled", "d never runs");
    let undone: Vec<_> = h
        .receiver
        .effects()
        .into_iter()
        .filter(|k| k.ends_with(":undo"))
        .collect();
    assert_eq!(
        undone,
        vec![format!("{id}:b:undo"), format!("{id}:a:undo")],
        "reverse order of completion"
    );
    assert_eq!(step_of(&case, "a").state, "compensated");
    let mut conn = h.db.pool.acquire().await.expect("conn");
    let finished: i64 = sqlx::Row::try_get(
        &sqlx::query("SELECT COUNT(*) AS n FROM outbox WHERE topic = 'onematter.case_finished'")
            .fetch_one(&mut *conn)
            .await
            .expect("q"),
        "n",
    )
    .expect("n");
    assert_eq!(finished, 1);
}

#[tokio::test]
async fn a_terminal_error_parks_the_case_at_once_and_an_operator_resumes_it() {
    let h = Harness::new().await;
    let exec = h.executor("x1", false).await;
    h.receiver
        .set("b", Behaviour::FailAlways(Code::FailedPrecondition));
    let id = h.start(&exec, &PARK_PLAN).await;
    drain(&h, &exec).await;

    let case = h.case(&exec, &id).await;
    assert_eq!(case.state, "parked");
    assert!(
        case.reason.starts_with("step b failed: FailedPrecondition"),
        "{}",
        case.reason
    );
    assert_eq!(
        step_of(&case, "b").attempts,
        1,
        "terminal errors are not retried"
    );
    assert_eq!(
        step_of(&case, "c").state,
        "succeeded",
        "the independent branch finished"
    );
    assert_eq!(step_of(&case, "d").state, "blocked");

    h.receiver.set("b", Behaviour::Ok);
    let mut tx = h.db.pool.begin().await.expect("tx");
    exec.resume(
        &mut tx,
        &id,
        "operator-1",
        "the registry record was corrected",
        &[],
    )
    .await
    .expect("resume");
    tx.commit().await.expect("commit");
    drain(&h, &exec).await;
    let case = h.case(&exec, &id).await;
    assert_eq!(case.state, "completed");
    assert_eq!(case.reason, "");
}

#[tokio::test]
async fn a_step_completed_by_hand_releases_its_dependants() {
    let h = Harness::new().await;
    let exec = h.executor("x1", false).await;
    h.receiver.set("b", Behaviour::FailAlways(Code::NotFound));
    let id = h.start(&exec, &PARK_PLAN).await;
    drain(&h, &exec).await;
    let mut tx = h.db.pool.begin().await.expect("tx");
    exec.resume(
        &mut tx,
        &id,
        "operator-1",
        "done at the counter",
        &["b".to_owned()],
    )
    .await
    .expect("resume");
    tx.commit().await.expect("commit");
    drain(&h, &exec).await;
    let case = h.case(&exec, &id).await;
    assert_eq!(case.state, "completed");
    assert_eq!(step_of(&case, "b").state, "skipped");
    assert_eq!(h.receiver.calls(&format!("{id}:b:do")), 1);
}

#[tokio::test]
async fn a_crash_loop_exhausts_the_attempts_counted_at_claim_and_parks_the_case() {
    let h = Harness::new().await;
    let exec = h.executor("x1", false).await;
    let id = h.start(&exec, &PARK_PLAN).await;
    for _ in 0..POLICY.max_attempts {
        let claimed = exec_claim_one(&exec).await;
        drop(claimed); // dies before running anything
        h.clock.advance(LEASE + Duration::from_secs(1));
    }
    drain(&h, &exec).await;
    let case = h.case(&exec, &id).await;
    assert_eq!(case.state, "parked");
    assert!(
        case.reason.contains("attempts exhausted"),
        "{}",
        case.reason
    );
    assert_eq!(
        h.receiver.calls(&format!("{id}:a:do")),
        0,
        "the poison step is not run a fourth time"
    );
}

#[tokio::test]
async fn a_hanging_attempt_times_out_and_the_step_deadline_ends_the_retries() {
    let h = Harness::new().await;
    let exec = h.executor("x1", false).await;
    h.receiver.set("a", Behaviour::Hang);
    let id = h.start(&exec, &SHORT_PLAN).await;
    let claimed = exec_claim_one(&exec).await;
    let attempt = exec.execute(&claimed).await;
    assert!(
        matches!(&attempt, Attempt::Failed(e) if e.code == Code::DeadlineExceeded),
        "{attempt:?}"
    );
    assert!(matches!(
        exec.record(&claimed, attempt, Duration::ZERO)
            .await
            .expect("record"),
        Recorded::RetryScheduled { .. }
    ));
    // The step's own deadline (10 s) passes before the next attempt is due.
    h.clock.advance(Duration::from_secs(11));
    assert_eq!(exec.tick().await.expect("tick"), 1);
    let case = h.case(&exec, &id).await;
    assert_eq!(case.state, "parked");
    assert!(case.reason.contains("deadline"), "{}", case.reason);
}

#[tokio::test]
async fn cancelling_fences_out_the_step_in_flight() {
    let h = Harness::new().await;
    let exec = h.executor("x1", false).await;
    let id = h.start(&exec, &PARK_PLAN).await;
    let claimed = exec_claim_one(&exec).await;
    let attempt = exec.execute(&claimed).await;
    let mut tx = h.db.pool.begin().await.expect("tx");
    exec.cancel(&mut tx, &id, "operator-1", "family withdrew")
        .await
        .expect("cancel");
    tx.commit().await.expect("commit");
    assert_eq!(
        exec.record(&claimed, attempt, Duration::ZERO)
            .await
            .expect("record"),
        Recorded::Stale
    );
    let case = h.case(&exec, &id).await;
    assert_eq!(case.state, "cancelled");
    assert!(case.steps.iter().all(|s| s.state == "cancelled"));
    let mut tx = h.db.pool.begin().await.expect("tx");
    let again = exec
        .cancel(&mut tx, &id, "operator-1", "twice")
        .await
        .expect_err("finished");
    assert!(again.to_string().contains("ONEMATTER_CASE_FINISHED"));
}

fn death_registered(event_id: &str, person_index: &str) -> kit::outbox::Event {
    use prost::Message;
    let payload = contracts::civil::funeral::v1::DeathRegistered {
        event_id: String::new(),
        death_case: "cases/f-1".into(),
        person_index: person_index.into(),
        date_of_death: None,
        region: "330723001".into(),
    };
    kit::outbox::Event {
        id: event_id.into(),
        topic: "funeral.death_registered".into(),
        event_type: "civil.funeral.v1.DeathRegistered".into(),
        key: "f-1".into(),
        payload: payload.encode_to_vec(),
        traceparent: String::new(),
        occurred_at_ms: 0,
    }
}

#[tokio::test]
async fn death_events_are_deduplicated_by_event_id_and_by_person() {
    use onematter::proactive::{Handled, on_death_registered};
    let h = Harness::new().await;
    let exec = h.executor("x1", false).await;
    let first = on_death_registered(&exec, &death_registered("e-1", "idx-1"))
        .await
        .expect("handled");
    let Handled::Started(case_id) = first else {
        panic!("{first:?}")
    };
    assert_eq!(
        on_death_registered(&exec, &death_registered("e-1", "idx-1"))
            .await
            .expect("redelivery"),
        Handled::Duplicate
    );
    assert_eq!(
        on_death_registered(&exec, &death_registered("e-2", "idx-1"))
            .await
            .expect("second event"),
        Handled::Joined(case_id.clone())
    );
    assert!(matches!(
        on_death_registered(&exec, &death_registered("e-3", "idx-2"))
            .await
            .expect("other person"),
        Handled::Started(_)
    ));
    let mut conn = h.db.pool.acquire().await.expect("conn");
    let n: i64 = sqlx::Row::try_get(
        &sqlx::query("SELECT COUNT(*) AS n FROM cases")
            .fetch_one(&mut *conn)
            .await
            .expect("q"),
        "n",
    )
    .expect("n");
    assert_eq!(n, 2, "one case per person");
    drop(conn);
    let case = h.case(&exec, &case_id).await;
    assert_eq!(case.facts["death_case"], "cases/f-1");
    assert_eq!(
        (case.origin.as_str(), case.applicant.as_str()),
        ("funeral.death_registered", "")
    );
}
