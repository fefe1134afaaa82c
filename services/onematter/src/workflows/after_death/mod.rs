//! 身后一件事: after-death affairs. One application from the family (or none: the funeral
//! registration starts the case, 免申即享); every step visible; nothing twice.
//!
//! The death case comes first (funeral registers it, or it already exists); every other step
//! needs only the deceased and the date of death, so they all run concurrently after it.
//! Nothing here can be undone (a death is a fact): a step failing past its retries parks the
//! case for an operator.

use futures::FutureExt as _;
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::json;
use tonic::Code;

use contracts::civil::assistance::v1 as assistance;
use contracts::civil::eldercare::v1 as eldercare;
use contracts::civil::external::v1 as ext;
use contracts::civil::funeral::v1 as funeral;
use contracts::civil::marriage::v1 as marriage;
use contracts::civil::onematter::v1::AfterDeathMatter;
use contracts::civil::socialorg::v1 as socialorg;

use super::{Deps, date_text, matter, parse_date, reason};
use crate::executor::{OnFailure, Plan, StepCall, StepDef, StepError, StepOutcome, Workflow};

pub const KIND: &str = "after_death";

pub const DEATH_CASE: &str = "funeral_death_case";
pub const DISPOSAL: &str = "funeral_disposal";
pub const FEE_WAIVER: &str = "funeral_fee_waiver";
pub const ASSISTANCE: &str = "assistance_terminate";
pub const ELDERCARE: &str = "eldercare_stop";
pub const MARRIAGE: &str = "marriage_record_death";
pub const SOCIALORG: &str = "socialorg_representatives";
pub const HOUSEHOLD: &str = "household_deregistration";
pub const PENSION: &str = "pension_stop";
pub const MEDICAL: &str = "medical_insurance_end";

/// The funeral step waits (without spending attempts) for the funeral home to cremate; past
/// 60 days without a cremation or burial the case parks for an operator.
pub(super) const WAIT_FOR_FUNERAL: StepDef = StepDef {
    deadline: Duration::from_secs(60 * 24 * 3600),
    ..suite(DISPOSAL, &[DEATH_CASE])
};

static STEPS: [StepDef; 10] = [
    suite(DEATH_CASE, &[]),
    WAIT_FOR_FUNERAL,
    suite(FEE_WAIVER, &[DEATH_CASE]),
    suite(ASSISTANCE, &[DEATH_CASE]),
    suite(ELDERCARE, &[DEATH_CASE]),
    suite(MARRIAGE, &[DEATH_CASE]),
    suite(SOCIALORG, &[DEATH_CASE]),
    // Public security deregisters on the cremation certificate (or after the burial).
    outside(HOUSEHOLD, &[DEATH_CASE, DISPOSAL]),
    outside(PENSION, &[DEATH_CASE]),
    outside(MEDICAL, &[DEATH_CASE]),
];

pub static PLAN: Plan = Plan {
    kind: KIND,
    version: 1,
    steps: &STEPS,
    on_failure: OnFailure::Park,
};

pub struct AfterDeath(pub Deps);

impl Workflow for AfterDeath {
    fn plan(&self) -> &'static Plan {
        &PLAN_V2
    }
    fn versions(&self) -> Vec<&'static Plan> {
        vec![&PLAN, &PLAN_V2]
    }

    fn run(&self, call: StepCall) -> BoxFuture<'_, Result<StepOutcome, StepError>> {
        async move {
            match call.step.as_str() {
                DEATH_CASE => self.death_case(&call).await,
                DISPOSAL => self.disposal(&call).await,
                FEE_WAIVER => self.fee_waiver(&call).await,
                ASSISTANCE => self.assistance(&call).await,
                ELDERCARE => self.eldercare(&call).await,
                MARRIAGE => self.marriage(&call).await,
                SOCIALORG => self.socialorg(&call).await,
                HOUSEHOLD => self.household(&call).await,
                PENSION => self.pension(&call).await,
                MEDICAL => self.medical(&call).await,
                ID_CARD => self.id_card(&call),
                other => Err(StepError::terminal(format!("unknown step {other}"))),
            }
        }
        .boxed()
    }
}

mod defs;
mod disposal;
mod output;
mod v2;
use defs::{outside, suite};
pub use disposal::DisposalOutput;
pub use output::DeathCaseOutput;
use output::{Deceased, named_case};
pub use v2::{ID_CARD, PLAN_V2};

impl AfterDeath {
    fn funeral(
        &self,
    ) -> funeral::funeral_service_client::FuneralServiceClient<tonic::transport::Channel> {
        funeral::funeral_service_client::FuneralServiceClient::new(self.0.ctx.channel("funeral"))
    }

    fn deceased(&self, call: &StepCall) -> Result<Deceased, StepError> {
        let recorded: DeathCaseOutput = call.output_as(DEATH_CASE)?;
        let person = self.0.open_person(&recorded.person)?;
        let date_of_death = parse_date(&recorded.date_of_death)
            .ok_or_else(|| StepError::terminal("the date of death is not readable"))?;
        Ok(Deceased {
            person,
            date_of_death,
            recorded,
        })
    }

    /// Registers the death with funeral, or reads the death case that already exists (started
    /// from the funeral registration, or registered earlier by the funeral home).
    async fn death_case(&self, call: &StepCall) -> Result<StepOutcome, StepError> {
        let m: AfterDeathMatter = matter(call)?;
        let (case, registered) = self.find_or_register(call, &m).await?;
        let person = case
            .deceased
            .clone()
            .or(m.deceased)
            .ok_or_else(|| StepError::terminal("the death case names no person"))?;
        let date = case
            .certificate
            .as_ref()
            .and_then(|c| c.date_of_death)
            .or(m.certificate.as_ref().and_then(|c| c.date_of_death))
            .ok_or_else(|| StepError::terminal("no date of death"))?;
        let certificate_number = case
            .certificate
            .as_ref()
            .map(|c| c.number.clone())
            .unwrap_or_default();
        let summary = if registered {
            format!("death registered: {}", case.name)
        } else {
            format!("death case found: {}", case.name)
        };
        let output = DeathCaseOutput {
            death_case: case.name,
            person: self.0.seal_person(&person),
            date_of_death: date_text(&date),
            death_certificate_number: certificate_number,
            cremation_certificate_number: case.cremation_certificate_number,
        };
        Ok(StepOutcome::typed(summary, &output))
    }

    /// The death case the event named (or the family gave), else funeral registers the death;
    /// a person funeral already has a case for is answered with that case (error details).
    async fn find_or_register(
        &self,
        call: &StepCall,
        m: &AfterDeathMatter,
    ) -> Result<(funeral::DeathCase, bool), StepError> {
        let known = call
            .facts
            .get("death_case")
            .and_then(|v| v.as_str())
            .map(str::to_owned)
            .filter(|s| !s.is_empty());
        if let Some(name) = known.or_else(|| Some(m.death_case.clone()).filter(|s| !s.is_empty())) {
            return Ok((self.get_death_case(call, name).await?, false));
        }
        let req = funeral::RegisterDeathRequest {
            request_id: call.key.clone(),
            deceased: m.deceased.clone(),
            certificate: m.certificate.clone(),
            region: call.region.clone(),
            ethnicity: m.ethnicity,
            ..Default::default()
        };
        match self
            .funeral()
            .register_death(self.0.request(call, req))
            .await
        {
            Ok(r) => Ok((r.into_inner(), true)),
            Err(s) if s.code() == Code::AlreadyExists => {
                let name = named_case(&s).ok_or_else(|| StepError::from(s.clone()))?;
                Ok((self.get_death_case(call, name).await?, false))
            }
            Err(s) => Err(s.into()),
        }
    }

    async fn get_death_case(
        &self,
        call: &StepCall,
        name: String,
    ) -> Result<funeral::DeathCase, StepError> {
        let req = funeral::GetDeathCaseRequest { name };
        Ok(self
            .funeral()
            .get_death_case(self.0.request(call, req))
            .await?
            .into_inner())
    }

    /// The basic-service fee waiver, decided by funeral from assistance's records.
    async fn fee_waiver(&self, call: &StepCall) -> Result<StepOutcome, StepError> {
        let req = funeral::DecideFeeWaiverRequest {
            request_id: call.key.clone(),
            death_case: call.output_as::<DeathCaseOutput>(DEATH_CASE)?.death_case,
        };
        let w = self
            .funeral()
            .decide_fee_waiver(self.0.request(call, req))
            .await?
            .into_inner();
        let summary = if w.waived {
            let grounds: Vec<_> = w
                .grounds()
                .map(|g| {
                    g.as_str_name()
                        .trim_start_matches("WAIVER_GROUND_")
                        .to_ascii_lowercase()
                })
                .collect();
            format!("basic funeral services free ({})", grounds.join(", "))
        } else {
            "no fee waiver".to_owned()
        };
        Ok(StepOutcome::with_output(
            summary,
            json!({ "waived": w.waived }),
        ))
    }

    /// Ends assistance benefits: a one-member household's ends the month after the death, a
    /// larger household's is recalculated without the member.
    async fn assistance(&self, call: &StepCall) -> Result<StepOutcome, StepError> {
        let d = self.deceased(call)?;
        let req = assistance::TerminateForDeathRequest {
            request_id: call.key.clone(),
            id_number: d.person.id_number,
            date_of_death: Some(d.date_of_death),
        };
        let mut client = assistance::assistance_service_client::AssistanceServiceClient::new(
            self.0.ctx.channel("assistance"),
        );
        let r = client
            .terminate_for_death(self.0.request(call, req))
            .await?
            .into_inner();
        let ended = r
            .effects
            .iter()
            .filter(|e| e.outcome() == assistance::DeathOutcome::Terminated)
            .count();
        let recalculated = r
            .effects
            .iter()
            .filter(|e| e.outcome() == assistance::DeathOutcome::Recalculated)
            .count();
        let summary = if r.effects.is_empty() {
            "no assistance benefits".to_owned()
        } else {
            format!("{ended} benefit(s) ended, {recalculated} household(s) recalculated")
        };
        Ok(StepOutcome::with_output(
            summary,
            json!({ "ended": ended, "recalculated": recalculated }),
        ))
    }

    /// Stops the advanced-age allowance (the month of death is paid) and releases any bed.
    async fn eldercare(&self, call: &StepCall) -> Result<StepOutcome, StepError> {
        let d = self.deceased(call)?;
        let req = eldercare::StopForDeathRequest {
            request_id: call.key.clone(),
            id_number: d.person.id_number,
            date_of_death: Some(d.date_of_death),
        };
        let mut client = eldercare::eldercare_service_client::EldercareServiceClient::new(
            self.0.ctx.channel("eldercare"),
        );
        let r = client
            .stop_for_death(self.0.request(call, req))
            .await?
            .into_inner();
        let summary = match (r.elder_known, r.allowance_stopped, r.bed_released) {
            (false, _, _) => "not a registered elder".to_owned(),
            (true, stopped, released) => format!(
                "allowance {}, bed {}",
                if stopped {
                    "stopped after the month of death"
                } else {
                    "not running"
                },
                if released { "released" } else { "none" }
            ),
        };
        Ok(StepOutcome::with_output(
            summary,
            json!({ "allowance_stopped": r.allowance_stopped, "bed_released": r.bed_released }),
        ))
    }

    /// Records the death with the marriage registry: a marriage in effect ends, the spouse is widowed.
    async fn marriage(&self, call: &StepCall) -> Result<StepOutcome, StepError> {
        let d = self.deceased(call)?;
        let req = marriage::RecordDeathRequest {
            request_id: call.key.clone(),
            person: Some(d.person),
            date_of_death: Some(d.date_of_death),
        };
        let mut client = marriage::marriage_service_client::MarriageServiceClient::new(
            self.0.ctx.channel("marriage"),
        );
        let r = client
            .record_death(self.0.request(call, req))
            .await?
            .into_inner();
        let widowed = r.widowed_spouse.is_some_and(|s| !s.id_number.is_empty());
        let summary = if widowed {
            "spouse recorded as widowed".to_owned()
        } else {
            "no marriage in effect".to_owned()
        };
        Ok(StepOutcome::with_output(
            summary,
            json!({ "spouse_widowed": widowed, "marriage": r.marriage_certificate_number }),
        ))
    }

    /// Opens a representative-change task for every active organisation the deceased represented.
    async fn socialorg(&self, call: &StepCall) -> Result<StepOutcome, StepError> {
        let d = self.deceased(call)?;
        let mut client = socialorg::social_org_service_client::SocialOrgServiceClient::new(
            self.0.ctx.channel("socialorg"),
        );
        let list = client
            .list_by_legal_representative(self.0.request(
                call,
                socialorg::ListByLegalRepresentativeRequest {
                    id_number: d.person.id_number,
                },
            ))
            .await?
            .into_inner();
        let mut opened = Vec::new();
        for org in list
            .organisations
            .iter()
            .filter(|o| o.status() == socialorg::OrganisationStatus::Active)
        {
            let req = socialorg::OpenRepresentativeChangeTaskRequest {
                // One key per organisation under the step's key: a re-run reopens nothing.
                request_id: format!("{}:{}", call.key, org.organisation_id),
                organisation_id: org.organisation_id.clone(),
                reason: "legal representative deceased".into(),
            };
            match client
                .open_representative_change_task(self.0.request(call, req))
                .await
            {
                Ok(task) => opened.push(task.into_inner().task_id),
                // Deregistered since the listing: nothing to replace.
                Err(s) if reason(&s).as_deref() == Some("SOCIALORG_NOT_ACTIVE") => {}
                Err(s) => return Err(s.into()),
            }
        }
        let summary = if opened.is_empty() {
            "not the legal representative of any active organisation".to_owned()
        } else {
            format!("{} representative-change task(s) opened", opened.len())
        };
        Ok(StepOutcome::with_output(
            summary,
            json!({ "tasks": opened }),
        ))
    }

    /// 户口注销 through the public security adapter.
    async fn household(&self, call: &StepCall) -> Result<StepOutcome, StepError> {
        let d = self.deceased(call)?;
        let disposal: DisposalOutput = call.output_as(DISPOSAL)?;
        let req = ext::DeregisterDeceasedRequest {
            request_id: call.key.clone(),
            person: Some(d.person),
            date_of_death: Some(d.date_of_death),
            death_certificate_number: d.recorded.death_certificate_number,
            cremation_certificate_number: disposal.cremation_certificate_number,
            region: call.region.clone(),
        };
        match self
            .0
            .externals
            .household_register
            .deregister_deceased(self.0.request(call, req))
            .await
        {
            Ok(r) => Ok(StepOutcome::with_output(
                "household registration deregistered",
                json!({ "receipt": r.receipt_id }),
            )),
            Err(s) if reason(&s).as_deref() == Some("HOUSEHOLD_ALREADY_DEREGISTERED") => Ok(
                StepOutcome::done("household registration was already deregistered"),
            ),
            Err(s) => Err(s.into()),
        }
    }

    /// 养老金停发 through the social insurance adapter.
    async fn pension(&self, call: &StepCall) -> Result<StepOutcome, StepError> {
        let d = self.deceased(call)?;
        let req = ext::StopPensionForDeathRequest {
            request_id: call.key.clone(),
            person: Some(d.person),
            date_of_death: Some(d.date_of_death),
        };
        let r = self
            .0
            .externals
            .social_insurance
            .stop_pension_for_death(self.0.request(call, req))
            .await?;
        let summary = if r.insured {
            format!(
                "pension stopped from {}{}",
                r.stopped_from_month,
                if r.survivor_benefits_claimable {
                    "; survivors' benefits claimable"
                } else {
                    ""
                }
            )
        } else {
            "no pension".to_owned()
        };
        Ok(StepOutcome::with_output(
            summary,
            json!({ "insured": r.insured, "stopped_from_month": r.stopped_from_month }),
        ))
    }

    /// Ends the medical insurance enrolment through the medical insurance adapter.
    async fn medical(&self, call: &StepCall) -> Result<StepOutcome, StepError> {
        let d = self.deceased(call)?;
        let req = ext::EndEnrolmentForDeathRequest {
            request_id: call.key.clone(),
            person: Some(d.person),
            date_of_death: Some(d.date_of_death),
        };
        let r = self
            .0
            .externals
            .medical_insurance
            .end_enrolment_for_death(self.0.request(call, req))
            .await?;
        let summary = match (&r.enrolled, &r.covered_until) {
            (true, Some(until)) => format!(
                "medical insurance ended, covered until {}",
                date_text(until)
            ),
            (true, None) => "medical insurance ended".to_owned(),
            (false, _) => "not enrolled in medical insurance".to_owned(),
        };
        Ok(StepOutcome::with_output(
            summary,
            json!({ "enrolled": r.enrolled }),
        ))
    }
}

#[cfg(test)]
mod tests;
