//! The portal API: decode -> authorize -> executor/store -> encode.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::Stream;
use prost::Message;
use tonic::{Request, Response, Status};

use auth::audit::{AuditEntry, AuditWriter};
use auth::{Principal, Role};
use contracts::civil::common::v1::PersonRef;
use contracts::civil::onematter::v1 as pb;
use kit::{ServiceContext, ServiceError};
use pb::one_matter_service_server::OneMatterService;

use crate::executor::store::{self, CaseFilter, CaseRecord, NewCase, case_state};
use crate::executor::{Engine, Executor, Phase, runner::to_pb_state};
use crate::validate::{self, Validated};

pub struct OneMatterApi {
    ctx: ServiceContext,
    executor: Arc<Executor>,
    audit: AuditWriter,
}

impl OneMatterApi {
    pub fn new(ctx: ServiceContext, executor: Arc<Executor>) -> Self {
        let audit = AuditWriter::spawn(executor.db().pool.clone());
        Self {
            ctx,
            executor,
            audit,
        }
    }

    async fn load(&self, name: &str) -> Result<CaseRecord, Status> {
        let id = case_id(name)?;
        self.executor
            .case(&id)
            .await
            .map_err(ServiceError::from)?
            .ok_or_else(|| Status::not_found("no such case"))
    }
}

/// `cases/{id}` -> id.
fn case_id(name: &str) -> Result<String, Status> {
    match name.strip_prefix("cases/") {
        Some(id) if !id.is_empty() && id.len() <= 64 => Ok(id.to_owned()),
        _ => Err(ServiceError::invalid("name", "must be cases/{case}").into()),
    }
}

/// Citizens read the cases they applied for; operators the cases of their region.
fn may_read(p: &Principal, case: &CaseRecord) -> Result<(), Status> {
    if p.has_role(Role::Operator) && p.covers_region(&case.region) {
        return Ok(());
    }
    if p.has_role(Role::Citizen) && !case.applicant.is_empty() && case.applicant == p.subject {
        return Ok(());
    }
    Err(Status::permission_denied(
        "the case is neither the caller's own nor in the caller's region",
    ))
}

fn operator(p: &Principal, case: &CaseRecord) -> Result<(), Status> {
    p.authorize(&[Role::Operator], Some(&case.region))
}

fn audit_entry(p: &Principal, action: &str, case_id: &str) -> AuditEntry {
    AuditEntry::new(p, action, &format!("cases/{case_id}"))
        .with_trace_id(kit::telemetry::current_trace_id())
}

fn kind_name(kind: pb::MatterKind) -> Option<&'static str> {
    match kind {
        pb::MatterKind::AfterDeath => Some(crate::workflows::after_death::KIND),
        pb::MatterKind::MarriageBirthHousehold => {
            Some(crate::workflows::marriage_birth_household::KIND)
        }
        pb::MatterKind::OneApplicationManyBenefits => Some(crate::workflows::many_benefits::KIND),
        pb::MatterKind::Unspecified => None,
    }
}

fn kind_of(name: &str) -> pb::MatterKind {
    pb::MatterKind::from_str_name(&format!("MATTER_KIND_{}", name.to_ascii_uppercase()))
        .unwrap_or_default()
}

fn state_name(state: pb::CaseState) -> Option<&'static str> {
    match state {
        pb::CaseState::Running => Some(case_state::RUNNING),
        pb::CaseState::Parked => Some(case_state::PARKED),
        pb::CaseState::Compensating => Some(case_state::COMPENSATING),
        pb::CaseState::Completed => Some(case_state::COMPLETED),
        pb::CaseState::Compensated => Some(case_state::COMPENSATED),
        pb::CaseState::Cancelled => Some(case_state::CANCELLED),
        pb::CaseState::Unspecified => None,
    }
}

fn step_state(state: &str, phase: Phase) -> pb::StepState {
    use store::step_state as s;
    match (state, phase) {
        (s::BLOCKED, _) => pb::StepState::Blocked,
        (s::READY | s::RUNNING, Phase::Undo) => pb::StepState::Compensating,
        (s::READY, Phase::Do) => pb::StepState::Ready,
        (s::RUNNING, Phase::Do) => pb::StepState::Running,
        (s::SUCCEEDED, _) => pb::StepState::Succeeded,
        (s::FAILED, _) => pb::StepState::Failed,
        (s::COMPENSATED, _) => pb::StepState::Compensated,
        (s::SKIPPED, _) => pb::StepState::Skipped,
        (s::CANCELLED, _) => pb::StepState::Cancelled,
        _ => pb::StepState::Unspecified,
    }
}

/// Opens a sealed person and masks it for a response.
fn masked_person(sealer: &kit::pii::Sealer, sealed: &str) -> Option<PersonRef> {
    use base64::Engine as _;
    if sealed.is_empty() {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(sealer.open(sealed).ok()?)
        .ok()?;
    let person = PersonRef::decode(bytes.as_slice()).ok()?;
    let id_number = civil_id::IdNumber::parse(&person.id_number)
        .map(|id| id.masked())
        .unwrap_or_default();
    let mut chars = person.name.chars();
    let name = chars
        .next()
        .map(|first| format!("{first}{}", "*".repeat(chars.count())))
        .unwrap_or_default();
    Some(PersonRef { id_number, name })
}

/// The case as the portal sees it; identity numbers masked.
fn to_pb(case: &CaseRecord, sealer: &kit::pii::Sealer) -> pb::Case {
    let plan = crate::workflows::plan(&case.kind);
    // A case started from an event learns its person from the death case step.
    let subject = masked_person(sealer, &case.subject_sealed).or_else(|| {
        let from_step = case.steps.iter().find_map(|s| {
            s.output
                .get("person")
                .and_then(|p| p.as_str())
                .map(str::to_owned)
        })?;
        masked_person(sealer, &from_step)
    });
    pb::Case {
        name: format!("cases/{}", case.id),
        kind: kind_of(&case.kind) as i32,
        state: to_pb_state(&case.state) as i32,
        region: case.region.clone(),
        applicant: case.applicant.clone(),
        declarant: masked_person(sealer, &case.declarant_sealed),
        declarant_relationship: case.declarant_relationship.clone(),
        subject,
        reason: case.reason.clone(),
        steps: case
            .steps
            .iter()
            .map(|s| pb::Step {
                name: s.step.clone(),
                state: step_state(&s.state, s.phase) as i32,
                attempts: s.attempts as i32,
                max_attempts: s.max_attempts as i32,
                depends_on: plan
                    .and_then(|p| p.step(&s.step))
                    .map(|d| d.depends_on.iter().map(|x| (*x).to_owned()).collect())
                    .unwrap_or_default(),
                summary: s.summary.clone(),
                last_error: s.last_error.clone(),
                started_at_ms: s.started_at_ms.unwrap_or(0),
                finished_at_ms: s.finished_at_ms.unwrap_or(0),
                next_attempt_at_ms: if s.state == store::step_state::READY {
                    s.next_run_at_ms
                } else {
                    0
                },
            })
            .collect(),
        origin: case.origin.clone(),
        created_at_ms: case.created_at_ms,
        updated_at_ms: case.updated_at_ms,
        // traceparent = version-traceid-spanid-flags
        trace_id: case
            .traceparent
            .split('-')
            .nth(1)
            .unwrap_or_default()
            .to_owned(),
    }
}

type UpdateStream = Pin<Box<dyn Stream<Item = Result<pb::CaseUpdate, Status>> + Send>>;

#[tonic::async_trait]
impl OneMatterService for OneMatterApi {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn start_case(
        &self,
        request: Request<pb::StartCaseRequest>,
    ) -> Result<Response<pb::Case>, Status> {
        let p = auth::principal(&request)?.clone();
        p.authorize(&[Role::Citizen, Role::Operator], None)?;
        let req = request.into_inner();
        let v: Validated = validate::start_case(&req, &self.ctx.config.county, kit::today_cst())
            .map_err(kit::to_status)?;
        if !p.has_role(Role::Citizen) {
            p.authorize(&[Role::Operator], Some(&v.region))?;
        }
        let kind = kind_name(v.kind).ok_or_else(|| Status::invalid_argument("kind"))?;
        let sealer = self.ctx.sealer.clone();
        let seal_person = |person: &PersonRef| {
            use base64::Engine as _;
            sealer.seal(&base64::engine::general_purpose::STANDARD.encode(person.encode_to_vec()))
        };
        let id = uuid::Uuid::now_v7().to_string();
        let new = NewCase {
            id: id.clone(),
            kind,
            dedupe_key: v.dedupe_key(&self.ctx.sealer, &id),
            region: v.region.clone(),
            applicant: p.subject.clone(),
            declarant_sealed: seal_person(&v.declarant.1),
            declarant_index: self.ctx.sealer.index(&v.declarant.0),
            declarant_relationship: req.declarant_relationship.trim().to_owned(),
            subject_sealed: seal_person(&v.subject.1),
            subject_index: self.ctx.sealer.index(&v.subject.0),
            input_sealed: self.executor.seal_input(&v.input),
            facts: serde_json::json!({}),
            origin: "application".into(),
            traceparent: kit::telemetry::current_traceparent(),
        };
        let executor = self.executor.clone();
        let principal = p.clone();
        let case = kit::idempotency::once(
            &self.executor.db().clone(),
            "StartCase",
            &req.request_id,
            &req,
            move |tx| {
                Box::pin(async move {
                    let case_id = if executor.create_case(tx, &new).await? {
                        auth::audit::append(
                            tx,
                            &[audit_entry(&principal, "onematter.case.start", &new.id)],
                        )
                        .await?;
                        new.id.clone()
                    } else {
                        let existing = store::find_by_dedupe_key(tx, &new.dedupe_key)
                            .await?
                            .ok_or_else(|| ServiceError::Aborted("retry".into()))?;
                        let found = store::load_case(tx, &existing)
                            .await?
                            .ok_or_else(|| ServiceError::Aborted("retry".into()))?;
                        if found.applicant.is_empty() {
                            store::adopt(
                                tx,
                                &existing,
                                &principal.subject,
                                &new.declarant_sealed,
                                &new.declarant_index,
                                &new.declarant_relationship,
                            )
                            .await?;
                            store::append_event(
                                tx,
                                &existing,
                                "case_joined",
                                "",
                                "the family applied for the case started without application",
                                kit::now_ms(),
                            )
                            .await?;
                            auth::audit::append(
                                tx,
                                &[audit_entry(&principal, "onematter.case.join", &existing)],
                            )
                            .await?;
                        } else if found.applicant != principal.subject {
                            return Err(ServiceError::refused(
                                "ONEMATTER_CASE_EXISTS",
                                format!("a case for this matter exists: cases/{existing}"),
                            ));
                        }
                        existing
                    };
                    let record = store::load_case(tx, &case_id)
                        .await?
                        .ok_or_else(|| ServiceError::not_found("case"))?;
                    Ok(to_pb(&record, executor.sealer()))
                })
            },
        )
        .await
        .map_err(kit::to_status)?;
        Ok(Response::new(case))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn get_case(
        &self,
        request: Request<pb::GetCaseRequest>,
    ) -> Result<Response<pb::Case>, Status> {
        let p = auth::principal(&request)?.clone();
        p.authorize(&[Role::Citizen, Role::Operator], None)?;
        let case = self.load(&request.get_ref().name).await?;
        may_read(&p, &case)?;
        self.audit
            .record(audit_entry(&p, "onematter.case.read", &case.id))
            .await;
        Ok(Response::new(to_pb(&case, &self.ctx.sealer)))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn list_cases(
        &self,
        request: Request<pb::ListCasesRequest>,
    ) -> Result<Response<pb::ListCasesResponse>, Status> {
        let p = auth::principal(&request)?.clone();
        p.authorize(&[Role::Citizen, Role::Operator], None)?;
        let req = request.into_inner();
        let mut filter = CaseFilter {
            state: state_name(req.state()).map(str::to_owned),
            kind: kind_name(req.kind()).map(str::to_owned),
            before_id: (!req.page_token.is_empty()).then(|| req.page_token.clone()),
            ..Default::default()
        };
        if p.has_role(Role::Operator) {
            let region = if req.region.is_empty() {
                p.region.clone()
            } else {
                req.region.clone()
            };
            if !p.covers_region(&region) {
                return Err(Status::permission_denied(
                    "the region is outside the caller's scope",
                ));
            }
            filter.region_prefix = Some(region);
            filter.applicant = (!req.applicant.is_empty()).then(|| req.applicant.clone());
        } else {
            if !req.applicant.is_empty() && req.applicant != p.subject {
                return Err(Status::permission_denied(
                    "citizens list only their own cases",
                ));
            }
            filter.applicant = Some(p.subject.clone());
            filter.region_prefix = (!req.region.is_empty()).then(|| req.region.clone());
        }
        let size = if req.page_size <= 0 {
            20
        } else {
            req.page_size.min(100)
        } as i64;
        let mut conn = self
            .executor
            .db()
            .pool
            .acquire()
            .await
            .map_err(ServiceError::from)?;
        let mut cases = store::list_cases(&mut conn, &filter, size + 1)
            .await
            .map_err(ServiceError::from)?;
        drop(conn);
        let next_page_token = if cases.len() as i64 > size {
            cases.truncate(size as usize);
            cases.last().map(|c| c.id.clone()).unwrap_or_default()
        } else {
            String::new()
        };
        self.audit
            .record(audit_entry(
                &p,
                "onematter.case.list",
                &format!("{} cases", cases.len()),
            ))
            .await;
        Ok(Response::new(pb::ListCasesResponse {
            cases: cases.iter().map(|c| to_pb(c, &self.ctx.sealer)).collect(),
            next_page_token,
        }))
    }

    type WatchCaseStream = UpdateStream;

    #[tracing::instrument(level = "debug", skip_all)]
    async fn watch_case(
        &self,
        request: Request<pb::WatchCaseRequest>,
    ) -> Result<Response<Self::WatchCaseStream>, Status> {
        let p = auth::principal(&request)?.clone();
        p.authorize(&[Role::Citizen, Role::Operator], None)?;
        let req = request.into_inner();
        let case = self.load(&req.name).await?;
        may_read(&p, &case)?;
        self.audit
            .record(audit_entry(&p, "onematter.case.watch", &case.id))
            .await;
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        let executor = self.executor.clone();
        let shutdown = self.ctx.shutdown.clone();
        tokio::spawn(async move {
            let mut last = req.after_seq.max(0);
            loop {
                let events = match executor.events_after(&case.id, last).await {
                    Ok(e) => e,
                    Err(e) => {
                        let _ = tx.send(Err(Status::from(ServiceError::from(e)))).await;
                        return;
                    }
                };
                let idle = events.is_empty();
                for e in events {
                    last = e.seq;
                    let final_update =
                        case_state::is_final(&e.case_state) && e.kind.starts_with("case_");
                    let update = pb::CaseUpdate {
                        r#case: format!("cases/{}", e.case_id),
                        seq: e.seq,
                        kind: e.kind,
                        step: e.step,
                        message: e.message,
                        case_state: to_pb_state(&e.case_state) as i32,
                        at_ms: e.at_ms,
                    };
                    if tx.send(Ok(update)).await.is_err() {
                        return;
                    }
                    if final_update {
                        return;
                    }
                }
                if idle {
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tx.closed() => return,
                        _ = tokio::time::sleep(Duration::from_millis(150)) => {}
                    }
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn retry_step(
        &self,
        request: Request<pb::RetryStepRequest>,
    ) -> Result<Response<pb::Case>, Status> {
        let p = auth::principal(&request)?.clone();
        p.authorize(&[Role::Operator], None)?;
        let req = request.into_inner();
        let case = self.load(&req.name).await?;
        operator(&p, &case)?;
        let (executor, step) = (self.executor.clone(), req.step.clone());
        let out = kit::idempotency::once(
            &self.executor.db().clone(),
            "RetryStep",
            &req.request_id,
            &req,
            move |tx| {
                Box::pin(async move {
                    executor.retry_step(tx, &case.id, &step, &p.subject).await?;
                    auth::audit::append(
                        tx,
                        &[audit_entry(&p, "onematter.step.retry", &case.id).with_purpose(&step)],
                    )
                    .await?;
                    let record = store::load_case(tx, &case.id)
                        .await?
                        .ok_or_else(|| ServiceError::not_found("case"))?;
                    Ok(to_pb(&record, executor.sealer()))
                })
            },
        )
        .await
        .map_err(kit::to_status)?;
        Ok(Response::new(out))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn resume_case(
        &self,
        request: Request<pb::ResumeCaseRequest>,
    ) -> Result<Response<pb::Case>, Status> {
        let p = auth::principal(&request)?.clone();
        p.authorize(&[Role::Operator], None)?;
        let req = request.into_inner();
        if req.note.trim().is_empty() {
            return Err(
                ServiceError::invalid("note", "say what was done about the failure").into(),
            );
        }
        let case = self.load(&req.name).await?;
        operator(&p, &case)?;
        let executor = self.executor.clone();
        let (note, by_hand) = (req.note.clone(), req.completed_by_hand.clone());
        let out = kit::idempotency::once(
            &self.executor.db().clone(),
            "ResumeCase",
            &req.request_id,
            &req,
            move |tx| {
                Box::pin(async move {
                    executor
                        .resume(tx, &case.id, &p.subject, &note, &by_hand)
                        .await?;
                    auth::audit::append(tx, &[audit_entry(&p, "onematter.case.resume", &case.id)])
                        .await?;
                    let record = store::load_case(tx, &case.id)
                        .await?
                        .ok_or_else(|| ServiceError::not_found("case"))?;
                    Ok(to_pb(&record, executor.sealer()))
                })
            },
        )
        .await
        .map_err(kit::to_status)?;
        Ok(Response::new(out))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn cancel_case(
        &self,
        request: Request<pb::CancelCaseRequest>,
    ) -> Result<Response<pb::Case>, Status> {
        let p = auth::principal(&request)?.clone();
        p.authorize(&[Role::Operator], None)?;
        let req = request.into_inner();
        if req.reason.trim().is_empty() {
            return Err(ServiceError::invalid("reason", "is required").into());
        }
        let case = self.load(&req.name).await?;
        operator(&p, &case)?;
        let executor = self.executor.clone();
        let reason = req.reason.clone();
        let out = kit::idempotency::once(
            &self.executor.db().clone(),
            "CancelCase",
            &req.request_id,
            &req,
            move |tx| {
                Box::pin(async move {
                    executor.cancel(tx, &case.id, &p.subject, &reason).await?;
                    auth::audit::append(tx, &[audit_entry(&p, "onematter.case.cancel", &case.id)])
                        .await?;
                    let record = store::load_case(tx, &case.id)
                        .await?
                        .ok_or_else(|| ServiceError::not_found("case"))?;
                    Ok(to_pb(&record, executor.sealer()))
                })
            },
        )
        .await
        .map_err(kit::to_status)?;
        Ok(Response::new(out))
    }
}
