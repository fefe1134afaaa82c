//! Proto <-> stored forms: matter kinds, case and step states, people (sealed at rest, masked
//! in answers), and the case as the portal sees it.

use base64::Engine as _;
use prost::Message;

use contracts::civil::common::v1::PersonRef;
use contracts::civil::onematter::v1 as pb;

use crate::executor::store::{CaseRecord, StepRecord};
use crate::executor::{CaseState, Phase, StepState};
use crate::family::Evidence;
use crate::workflows;

/// The stored workflow kind of a proto matter kind.
pub fn kind_name(kind: pb::MatterKind) -> Option<&'static str> {
    match kind {
        pb::MatterKind::AfterDeath => Some(workflows::after_death::KIND),
        pb::MatterKind::MarriageBirthHousehold => Some(workflows::marriage_birth_household::KIND),
        pb::MatterKind::OneApplicationManyBenefits => Some(workflows::many_benefits::KIND),
        pb::MatterKind::Unspecified => None,
    }
}

/// The proto matter kind of a stored workflow kind.
pub fn kind_of(name: &str) -> pb::MatterKind {
    pb::MatterKind::from_str_name(&format!("MATTER_KIND_{}", name.to_ascii_uppercase()))
        .unwrap_or_default()
}

/// The case state of a proto filter value.
pub fn case_state_of(state: pb::CaseState) -> Option<CaseState> {
    match state {
        pb::CaseState::Running => Some(CaseState::Running),
        pb::CaseState::Parked => Some(CaseState::Parked),
        pb::CaseState::Compensating => Some(CaseState::Compensating),
        pb::CaseState::Completed => Some(CaseState::Completed),
        pb::CaseState::Compensated => Some(CaseState::Compensated),
        pb::CaseState::Cancelled => Some(CaseState::Cancelled),
        pb::CaseState::Unspecified => None,
    }
}

/// The proto state of a case state.
pub fn case_state(state: CaseState) -> pb::CaseState {
    match state {
        CaseState::Running => pb::CaseState::Running,
        CaseState::Parked => pb::CaseState::Parked,
        CaseState::Compensating => pb::CaseState::Compensating,
        CaseState::Completed => pb::CaseState::Completed,
        CaseState::Compensated => pb::CaseState::Compensated,
        CaseState::Cancelled => pb::CaseState::Cancelled,
    }
}

/// The proto state of a stored case state ("unspecified" for an unknown one).
pub fn case_state_text(state: &str) -> pb::CaseState {
    CaseState::parse(state).map(case_state).unwrap_or_default()
}

fn step_state(state: StepState, phase: Phase) -> pb::StepState {
    match (state, phase) {
        (StepState::Blocked, _) => pb::StepState::Blocked,
        (StepState::Ready | StepState::Running, Phase::Undo) => pb::StepState::Compensating,
        (StepState::Ready, Phase::Do) => pb::StepState::Ready,
        (StepState::Running, Phase::Do) => pb::StepState::Running,
        (StepState::Succeeded, _) => pb::StepState::Succeeded,
        (StepState::Failed, _) => pb::StepState::Failed,
        (StepState::Compensated, _) => pb::StepState::Compensated,
        (StepState::Skipped, _) => pb::StepState::Skipped,
        (StepState::Cancelled, _) => pb::StepState::Cancelled,
    }
}

/// Seals a person for storage (protobuf bytes, base64, sealed).
pub fn seal_person(sealer: &kit::pii::Sealer, person: &PersonRef) -> String {
    sealer.seal(&base64::engine::general_purpose::STANDARD.encode(person.encode_to_vec()))
}

/// Opens a sealed person.
pub fn open_person(sealer: &kit::pii::Sealer, sealed: &str) -> Option<PersonRef> {
    if sealed.is_empty() {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(sealer.open(sealed).ok()?)
        .ok()?;
    PersonRef::decode(bytes.as_slice()).ok()
}

/// Opens a sealed person and masks it for a response.
fn masked_person(sealer: &kit::pii::Sealer, sealed: &str) -> Option<PersonRef> {
    let person = open_person(sealer, sealed)?;
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

fn step(s: &StepRecord, plan: Option<&crate::executor::Plan>) -> pb::Step {
    let state = StepState::parse(&s.state);
    pb::Step {
        name: s.step.clone(),
        state: state.map(|st| step_state(st, s.phase)).unwrap_or_default() as i32,
        attempts: i32::try_from(s.attempts).unwrap_or(i32::MAX),
        max_attempts: i32::try_from(s.max_attempts).unwrap_or(i32::MAX),
        depends_on: plan
            .and_then(|p| p.step(&s.step))
            .map(|d| d.depends_on.iter().map(|x| (*x).to_owned()).collect())
            .unwrap_or_default(),
        summary: s.summary.clone(),
        last_error: s.last_error.clone(),
        started_at_ms: s.started_at_ms.unwrap_or(0),
        finished_at_ms: s.finished_at_ms.unwrap_or(0),
        next_attempt_at_ms: if state == Some(StepState::Ready) {
            s.next_run_at_ms
        } else {
            0
        },
    }
}

/// The case as the portal sees it; identity numbers masked.
pub fn case(case: &CaseRecord, sealer: &kit::pii::Sealer) -> pb::Case {
    let plan = workflows::plan_at(&case.kind, case.plan_version);
    // A case started from an event learns its person from the death case step.
    let subject = masked_person(sealer, &case.subject_sealed).or_else(|| {
        let sealed = case
            .steps
            .iter()
            .find_map(|s| workflows::after_death::DeathCaseOutput::sealed_person(&s.output))?;
        masked_person(sealer, &sealed)
    });
    let evidence = if case.applicant.is_empty() {
        Evidence::None
    } else {
        Evidence::parse(&case.applicant_evidence)
    };
    pb::Case {
        name: format!("cases/{}", case.id),
        kind: kind_of(&case.kind) as i32,
        state: case_state_text(&case.state) as i32,
        region: case.region.clone(),
        applicant: case.applicant.clone(),
        declarant: masked_person(sealer, &case.declarant_sealed),
        declarant_relationship: case.declarant_relationship.clone(),
        subject,
        reason: case.reason.clone(),
        steps: case.steps.iter().map(|s| step(s, plan)).collect(),
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
        applicant_evidence: evidence.to_pb() as i32,
        undo_by_hand: case
            .facts
            .get(crate::executor::UNDO_BY_HAND)
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default(),
        plan_version: i32::try_from(case.plan_version).unwrap_or(0),
        forked_from: named(&case.forked_from),
        fork_step: case.fork_step.clone(),
        forks: case.forks.iter().map(|f| named(f)).collect(),
        purged_at_ms: case.purged_at_ms.unwrap_or(0),
    }
}

/// `cases/{id}`, or empty for no case.
fn named(id: &str) -> String {
    if id.is_empty() {
        String::new()
    } else {
        format!("cases/{id}")
    }
}

/// A 补件 request as the portal sees it (never the answer); overdue on `today` when open past
/// its due date.
pub fn family_request(
    r: &crate::executor::store::FamilyRequest,
    today: time::Date,
) -> pb::FamilyRequest {
    let due = kit::clock::parse_date(&r.due_date);
    let open = r.state == "open";
    pb::FamilyRequest {
        name: format!("cases/{}/requests/{}", r.case_id, r.step),
        case: format!("cases/{}", r.case_id),
        step: r.step.clone(),
        what: r.what.clone(),
        due_date: due.map(|d| contracts::civil::common::v1::Date {
            year: d.year(),
            month: i32::from(u8::from(d.month())),
            day: i32::from(d.day()),
        }),
        state: if open {
            pb::FamilyRequestState::Open
        } else {
            pb::FamilyRequestState::Answered
        } as i32,
        overdue: open && due.is_some_and(|d| d < today),
        requested_at_ms: r.requested_at_ms,
        answered_at_ms: r.answered_at_ms.unwrap_or(0),
        region: r.region.clone(),
    }
}
