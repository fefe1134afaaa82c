//! BatchOperateCases: one operator action (retry the failed steps, resume, cancel) on every
//! case a search selects, in one transaction, each case changed audited on its own row; a case
//! the action does not apply to keeps its state and its outcome names the refusal.

use tonic::{Request, Response, Status};

use contracts::civil::onematter::v1 as pb;
use kit::rpc::Call;
use kit::rpc::{LONG_MAX, Text as _};
use kit::{ServiceError, Violations};

use super::OneMatterApi;
use super::search_cases::{Search, scope};
use crate::executor::store::{self, StepRecord};
use crate::executor::{Engine as _, EngineError, Executor, StepState};

/// The most cases one batch changes: a larger selection is refused, not cut.
pub const MAX_CASES: i64 = 1000;

/// What to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    RetryFailedSteps,
    Resume,
    Cancel,
}

/// The batch, decoded: the search's fields and the action's, every violation at once.
pub struct Batch {
    search: Search,
    action: Action,
    note: String,
}

impl TryFrom<pb::BatchOperateCasesRequest> for Batch {
    type Error = Violations;
    fn try_from(req: pb::BatchOperateCasesRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let action = match req.action() {
            pb::BatchAction::RetryFailedSteps => Some(Action::RetryFailedSteps),
            pb::BatchAction::Resume => Some(Action::Resume),
            pb::BatchAction::Cancel => Some(Action::Cancel),
            pb::BatchAction::Unspecified => {
                v.add("action", "is required");
                None
            }
        };
        let note = if matches!(action, Some(Action::Resume | Action::Cancel)) {
            v.text(&req.note, "note", LONG_MAX)
        } else {
            req.note.clone()
        };
        let search = match Search::try_from(req.search.unwrap_or_default()) {
            Ok(s) => Some(s),
            Err(inner) => {
                if let Err(ServiceError::InvalidArgument(list)) = inner.finish() {
                    for f in list {
                        v.add(&format!("search.{}", f.field), f.description);
                    }
                }
                None
            }
        };
        match (search, action) {
            (Some(search), Some(action)) if v.is_empty() => Ok(Batch {
                search,
                action,
                note,
            }),
            _ => Err(v),
        }
    }
}

/// The failed (doing) steps of a case, in plan order.
fn failed(steps: &[StepRecord]) -> Vec<String> {
    steps
        .iter()
        .filter(|s| StepState::parse(&s.state) == Some(StepState::Failed))
        .map(|s| s.step.clone())
        .collect()
}

pub(super) async fn handle(
    api: &OneMatterApi,
    request: Request<pb::BatchOperateCasesRequest>,
) -> Result<Response<pb::BatchOperateCasesResponse>, Status> {
    let executor = api.executor.clone();
    let answer = api
        .rpc
        .write(
            request,
            async |c, req| {
                let region = req.search.as_ref().map(|s| s.region.as_str()).unwrap_or("");
                scope(c, region)
            },
            async |c, mut batch: Batch, region| {
                batch.search.resolve_person(c);
                let cases = selected(c, &batch, region).await?;
                c.object(format!("{} cases", cases.len()));
                c.purpose(format!("batch {:?}", batch.action));
                let mut outcomes = Vec::with_capacity(cases.len());
                for case_id in &cases {
                    outcomes.push(operate_one(c, &executor, &batch, case_id).await?);
                }
                let applied = outcomes.iter().filter(|o| o.applied).count();
                Ok(pb::BatchOperateCasesResponse {
                    outcomes,
                    applied_count: i32::try_from(applied).unwrap_or(i32::MAX),
                })
            },
        )
        .await?;
    for o in answer.get_ref().outcomes.iter().filter(|o| o.applied) {
        api.executor
            .signals()
            .notify(o.case.trim_start_matches("cases/"));
    }
    Ok(answer)
}

/// The ids of the cases the search selects in the caller's region; more than [`MAX_CASES`]
/// is refused rather than cut, so an operator never acts on a silently truncated list.
async fn selected(
    c: &mut Call,
    batch: &Batch,
    region: String,
) -> Result<Vec<String>, ServiceError> {
    let mut search = batch.search.search.clone();
    search.region_prefix = region;
    search.overdue_at_ms = batch.search.overdue.then(|| c.now_ms());
    let cases = store::search_cases(c.db(), &search, MAX_CASES + 1).await?;
    if cases.len() as i64 > MAX_CASES {
        return Err(ServiceError::refused(
            "ONEMATTER_BATCH_TOO_LARGE",
            format!("the search selects more than {MAX_CASES} cases; narrow it"),
        ));
    }
    Ok(cases.into_iter().map(|case| case.id).collect())
}

/// One case of the batch on its own savepoint: a refusal leaves that case untouched and is
/// reported in its outcome; any other error aborts the whole batch.
async fn operate_one(
    c: &mut Call,
    executor: &Executor,
    batch: &Batch,
    case_id: &str,
) -> Result<pb::BatchOutcome, ServiceError> {
    savepoint(c, "SAVEPOINT batch_case").await?;
    let done = apply(c, executor, batch, case_id).await;
    let case = format!("cases/{case_id}");
    match done {
        Ok(()) => {
            savepoint(c, "RELEASE SAVEPOINT batch_case").await?;
            c.also_audit(case.clone());
            Ok(pb::BatchOutcome {
                case,
                applied: true,
                reason: String::new(),
            })
        }
        Err(EngineError::Refused { reason, .. }) => {
            savepoint(c, "ROLLBACK TO SAVEPOINT batch_case").await?;
            savepoint(c, "RELEASE SAVEPOINT batch_case").await?;
            Ok(pb::BatchOutcome {
                case,
                applied: false,
                reason: reason.to_owned(),
            })
        }
        Err(other) => Err(other.into()),
    }
}

async fn savepoint(c: &mut Call, statement: &'static str) -> Result<(), ServiceError> {
    sqlx::query(statement).execute(&mut *c.db()).await?;
    Ok(())
}

/// The batch's action on one case, through the same engine calls as the single-case RPCs.
async fn apply(
    c: &mut Call,
    executor: &Executor,
    batch: &Batch,
    case_id: &str,
) -> Result<(), EngineError> {
    let actor = c.principal().subject.clone();
    match batch.action {
        Action::RetryFailedSteps => {
            let record = store::load_case(c.db(), case_id).await?;
            let steps = record.map(|r| failed(&r.steps)).unwrap_or_default();
            if steps.is_empty() {
                return Err(EngineError::Refused {
                    reason: "ONEMATTER_STEP_NOT_RETRYABLE",
                    message: "no failed step".into(),
                });
            }
            for step in &steps {
                executor.retry_step(c.db(), case_id, step, &actor).await?;
            }
            Ok(())
        }
        Action::Resume => {
            executor
                .resume(c.db(), case_id, &actor, &batch.note, &[])
                .await
        }
        Action::Cancel => executor.cancel(c.db(), case_id, &actor, &batch.note).await,
    }
}
