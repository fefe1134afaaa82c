//! 社会救助一件事: one application, many benefits. The application opens the 低保 (or 特困)
//! case in assistance; the review is a human procedure of weeks (home visit, economic check,
//! public notice), so the decision step looks again every few hours until the application is
//! decided. On approval the linked entitlements follow without new applications:
//! - medical assistance (医疗救助) through the medical insurance adapter;
//! - the funeral fee waiver needs no step: funeral decides it from assistance's records when a
//!   death is registered;
//! - the advanced-age allowance needs no step: eldercare grants it without application.

use futures::FutureExt as _;
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::json;

use contracts::civil::assistance::v1 as assistance;
use contracts::civil::external::v1 as ext;
use contracts::civil::onematter::v1::ManyBenefitsMatter;

use super::{Deps, OUTSIDE_RETRY, SUITE_RETRY, matter, out_str};
use crate::executor::{
    OnFailure, Phase, Plan, StepCall, StepDef, StepError, StepOutcome, Workflow,
};

pub const KIND: &str = "one_application_many_benefits";

pub const APPLY: &str = "assistance_application";
pub const DECISION: &str = "assistance_decision";
pub const MEDICAL: &str = "medical_assistance";

/// How often the decision step looks again while the application is under review.
pub const RECHECK: Duration = Duration::from_secs(4 * 3600);

static STEPS: [StepDef; 3] = [
    StepDef {
        name: APPLY,
        depends_on: &[],
        retry: SUITE_RETRY,
        attempt_timeout: Duration::from_secs(15),
        deadline: Duration::from_secs(3 * 24 * 3600),
        compensable: false,
        read_only: false,
    },
    // The national review limit is 30 working days, extendable to 45: about 70 calendar days.
    StepDef {
        name: DECISION,
        depends_on: &[APPLY],
        retry: SUITE_RETRY,
        attempt_timeout: Duration::from_secs(15),
        deadline: Duration::from_secs(75 * 24 * 3600),
        compensable: false,
        read_only: true,
    },
    StepDef {
        name: MEDICAL,
        depends_on: &[DECISION],
        retry: OUTSIDE_RETRY,
        attempt_timeout: Duration::from_secs(30),
        deadline: Duration::from_secs(7 * 24 * 3600),
        compensable: true,
        read_only: false,
    },
];

pub static PLAN: Plan = Plan {
    kind: KIND,
    version: 1,
    steps: &STEPS,
    on_failure: OnFailure::Park,
};

pub struct ManyBenefits(pub Deps);

impl Workflow for ManyBenefits {
    fn plan(&self) -> &'static Plan {
        &PLAN
    }

    fn run(&self, call: StepCall) -> BoxFuture<'_, Result<StepOutcome, StepError>> {
        async move {
            match (call.step.as_str(), call.phase) {
                (APPLY, _) => self.apply(&call).await,
                (DECISION, _) => self.decision(&call).await,
                (MEDICAL, Phase::Do) => self.medical(&call).await,
                (MEDICAL, Phase::Undo) => self.withdraw_medical(&call).await,
                (other, _) => Err(StepError::terminal(format!("unknown step {other}"))),
            }
        }
        .boxed()
    }
}

fn client(
    deps: &Deps,
) -> assistance::assistance_service_client::AssistanceServiceClient<tonic::transport::Channel> {
    assistance::assistance_service_client::AssistanceServiceClient::new(
        deps.ctx.channel("assistance"),
    )
}

/// The first month after the decision ("YYYY-MM"): a benefit approved in a month is paid from the next.
fn month_after(d: &contracts::civil::common::v1::Date) -> String {
    if d.month >= 12 {
        format!("{:04}-01", d.year + 1)
    } else {
        format!("{:04}-{:02}", d.year, d.month + 1)
    }
}

impl ManyBenefits {
    async fn apply(&self, call: &StepCall) -> Result<StepOutcome, StepError> {
        let m: ManyBenefitsMatter = matter(call)?;
        let req = assistance::SubmitApplicationRequest {
            request_id: call.key.clone(),
            kind: m.kind,
            channel: assistance::Channel::Online as i32,
            household: m.household,
            individual_member_id_number: String::new(),
            institutional_care: m.institutional_care,
            staff_relations: Vec::new(),
        };
        let app = client(&self.0)
            .submit_application(self.0.request(call, req))
            .await?
            .into_inner();
        Ok(StepOutcome::with_output(
            format!("application {} submitted", app.id),
            json!({ "application": app.id }),
        ))
    }

    async fn decision(&self, call: &StepCall) -> Result<StepOutcome, StepError> {
        let req = assistance::GetApplicationRequest {
            application_id: out_str(call, APPLY, "application")?.to_owned(),
        };
        let app = client(&self.0)
            .get_application(self.0.request(call, req))
            .await?
            .into_inner();
        match app.state() {
            assistance::ApplicationState::Approved => {
                let from = app
                    .decision
                    .as_ref()
                    .and_then(|d| d.decided_on.as_ref())
                    .map(month_after)
                    .unwrap_or_default();
                Ok(StepOutcome::with_output(
                    "approved",
                    json!({ "approved": true, "benefit": app.benefit_id, "kind": app.kind, "from_month": from }),
                ))
            }
            assistance::ApplicationState::Refused => Ok(StepOutcome::with_output(
                "refused (the written reasons were notified)",
                json!({ "approved": false }),
            )),
            state => Ok(StepOutcome::Pending {
                summary: format!(
                    "under review ({})",
                    state
                        .as_str_name()
                        .trim_start_matches("APPLICATION_STATE_")
                        .to_ascii_lowercase()
                ),
                recheck_after: RECHECK,
            }),
        }
    }

    async fn medical(&self, call: &StepCall) -> Result<StepOutcome, StepError> {
        let approved = call
            .output(DECISION)
            .and_then(|o| o.get("approved"))
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        if !approved {
            return Ok(StepOutcome::with_output(
                "not applicable: the application was refused",
                json!({ "enrolment": "" }),
            ));
        }
        let m: ManyBenefitsMatter = matter(call)?;
        let category = match m.kind() {
            assistance::BenefitKind::ExtremePovertySupport => {
                ext::AssistanceCategory::ExtremePovertySupport
            }
            assistance::BenefitKind::NearThreshold => ext::AssistanceCategory::NearThreshold,
            _ => ext::AssistanceCategory::MinimumLivingAllowance,
        };
        let req = ext::EnrolMedicalAssistanceRequest {
            request_id: call.key.clone(),
            members: m
                .household
                .map(|h| h.members.into_iter().filter_map(|x| x.person).collect())
                .unwrap_or_default(),
            category: category as i32,
            benefit_reference: out_str(call, DECISION, "benefit")?.to_owned(),
            from_month: out_str(call, DECISION, "from_month")?.to_owned(),
        };
        let r = self
            .0
            .externals
            .medical_insurance
            .enrol_medical_assistance(self.0.request(call, req))
            .await?;
        Ok(StepOutcome::with_output(
            format!("{} member(s) enrolled in medical assistance", r.members),
            json!({ "enrolment": r.enrolment_id }),
        ))
    }

    async fn withdraw_medical(&self, call: &StepCall) -> Result<StepOutcome, StepError> {
        let enrolment = out_str(call, MEDICAL, "enrolment")?.to_owned();
        if enrolment.is_empty() {
            return Ok(StepOutcome::done("nothing to withdraw"));
        }
        let req = ext::WithdrawMedicalAssistanceRequest {
            request_id: call.key.clone(),
            enrolment_id: enrolment,
            reason: "case cancelled".into(),
        };
        self.0
            .externals
            .medical_insurance
            .withdraw_medical_assistance(self.0.request(call, req))
            .await?;
        Ok(StepOutcome::done("medical assistance withdrawn"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use contracts::civil::common::v1::Date;

    #[test]
    fn linked_benefits_start_the_month_after_the_decision() {
        assert_eq!(
            month_after(&Date {
                year: 2026,
                month: 3,
                day: 31
            }),
            "2026-04"
        );
        assert_eq!(
            month_after(&Date {
                year: 2026,
                month: 12,
                day: 1
            }),
            "2027-01"
        );
    }

    #[test]
    fn the_decision_waits_within_the_national_review_limit() {
        let decision = PLAN.step(DECISION).expect("step");
        assert!(
            decision.deadline >= Duration::from_secs(63 * 24 * 3600),
            "45 working days fit"
        );
        assert!(RECHECK < decision.deadline);
    }
}
