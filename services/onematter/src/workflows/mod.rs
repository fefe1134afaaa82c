//! The one-matter workflows (RULES.md, "One-matter workflows the aggregator runs"): each is a
//! static [`Plan`](crate::executor::Plan) and the code of its steps. Each step calls one service
//! (or outside system through an adapter) with the step's idempotency key as `request_id`.

pub mod after_death;
pub mod many_benefits;
pub mod marriage_birth_household;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use prost::Message;
use tonic::Code;

use contracts::civil::common::v1::{Date, PersonRef};
use kit::ServiceContext;

use crate::adapters::Externals;
use crate::executor::{Registry, RetryPolicy, StepCall, StepError};

/// Retry policy for calls to services of the suite.
pub const SUITE_RETRY: RetryPolicy = RetryPolicy {
    max_attempts: 6,
    initial_backoff: Duration::from_secs(2),
    max_backoff: Duration::from_secs(300),
    multiplier: 3,
    jitter: 0.3,
};

/// Retry policy for outside systems (slower to recover, often down for maintenance at night).
pub const OUTSIDE_RETRY: RetryPolicy = RetryPolicy {
    max_attempts: 10,
    initial_backoff: Duration::from_secs(10),
    max_backoff: Duration::from_secs(3600),
    multiplier: 3,
    jitter: 0.3,
};

pub const DAY: Duration = Duration::from_secs(24 * 3600);

/// What every workflow holds: the context (channels, credential, sealer) and the adapters.
#[derive(Clone)]
pub struct Deps {
    pub ctx: ServiceContext,
    pub externals: Externals,
}

impl Deps {
    /// An outgoing request carrying the aggregator's credential, the applicant it acts for and
    /// the current (step) trace context.
    pub fn request<T>(&self, call: &StepCall, message: T) -> tonic::Request<T> {
        self.ctx.outbound(message, &call.on_behalf_of)
    }

    /// Seals a person for a step output (outputs are stored; personal data only sealed).
    pub fn seal_person(&self, person: &PersonRef) -> String {
        self.ctx
            .sealer
            .seal(&base64::engine::general_purpose::STANDARD.encode(person.encode_to_vec()))
    }

    pub fn open_person(&self, sealed: &str) -> Result<PersonRef, StepError> {
        let text = self
            .ctx
            .sealer
            .open(sealed)
            .map_err(|_| StepError::terminal("a sealed person cannot be opened"))?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|_| StepError::terminal("a sealed person is corrupted"))?;
        PersonRef::decode(bytes.as_slice())
            .map_err(|_| StepError::terminal("a sealed person is corrupted"))
    }
}

/// All workflows, for the executor.
pub fn registry(deps: Deps) -> Registry {
    Registry::new()
        .with(Arc::new(after_death::AfterDeath(deps.clone())))
        .with(Arc::new(marriage_birth_household::MarriageBirthHousehold(
            deps.clone(),
        )))
        .with(Arc::new(many_benefits::ManyBenefits(deps)))
}

/// Decodes the case's matter.
pub fn matter<M: Message + Default>(call: &StepCall) -> Result<M, StepError> {
    M::decode(call.input.as_slice())
        .map_err(|_| StepError::terminal("the case's matter cannot be read"))
}

/// `YYYY-MM-DD` of a proto date.
pub fn date_text(d: &Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)
}

/// A proto date from `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<Date> {
    let mut parts = s.split('-').map(|p| p.parse::<i32>().ok());
    Some(Date {
        year: parts.next()??,
        month: parts.next()??,
        day: parts.next()??,
    })
}

/// A string field of a step output.
pub fn out_str<'a>(call: &'a StepCall, step: &str, field: &str) -> Result<&'a str, StepError> {
    call.output(step)
        .and_then(|o| o.get(field))
        .and_then(|v| v.as_str())
        .ok_or_else(|| {
            StepError::new(
                Code::FailedPrecondition,
                format!("output {field} of step {step} is missing"),
            )
        })
}

/// The refusal reason of a status (ErrorInfo), if any.
pub fn reason(status: &tonic::Status) -> Option<String> {
    kit::error::reason_of(status)
}

/// One version of a workflow kind's plan.
pub fn plan_at(kind: &str, version: i64) -> Option<&'static crate::executor::Plan> {
    versions(kind)
        .into_iter()
        .find(|p| i64::from(p.version) == version)
}

/// Every version of a workflow kind's plan this build runs, oldest first.
pub fn versions(kind: &str) -> Vec<&'static crate::executor::Plan> {
    match kind {
        after_death::KIND => vec![&after_death::PLAN, &after_death::PLAN_V2],
        _ => plan(kind).into_iter().collect(),
    }
}

/// The plan of a workflow kind (its first version: every version has its steps).
pub fn plan(kind: &str) -> Option<&'static crate::executor::Plan> {
    match kind {
        after_death::KIND => Some(&after_death::PLAN),
        marriage_birth_household::KIND => Some(&marriage_birth_household::PLAN),
        many_benefits::KIND => Some(&many_benefits::PLAN),
        _ => None,
    }
}
