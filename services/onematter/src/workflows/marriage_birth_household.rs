//! 婚育户一件事: after a marriage is registered, the household register records both spouses as
//! married, the couple is registered for birth services, and assistance opens a review of the
//! household composition of every benefit either spouse is a member of.
//!
//! The outside changes can be withdrawn: when one of them fails past its retries the ones made
//! are withdrawn in reverse order, so the couple is left with nothing half-done and may apply
//! again (the registration of the marriage itself is untouched).

use std::time::Duration;

use futures::FutureExt as _;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::json;

use contracts::civil::assistance::v1 as assistance;
use contracts::civil::common::v1::PersonRef;
use contracts::civil::external::v1 as ext;
use contracts::civil::marriage::v1 as marriage;
use contracts::civil::onematter::v1::MarriageBirthHouseholdMatter;

use super::{Deps, OUTSIDE_RETRY, SUITE_RETRY, matter, out_str};
use crate::executor::{
    OnFailure, Phase, Plan, StepCall, StepDef, StepError, StepOutcome, Workflow,
};

pub const KIND: &str = "marriage_birth_household";

pub const VERIFY: &str = "marriage_verify";
pub const ASSISTANCE: &str = "assistance_household_check";
pub const HOUSEHOLD: &str = "household_register_update";
pub const BIRTH: &str = "birth_service_registration";

static STEPS: [StepDef; 4] = [
    StepDef {
        name: VERIFY,
        depends_on: &[],
        retry: SUITE_RETRY,
        attempt_timeout: Duration::from_secs(15),
        deadline: Duration::from_secs(24 * 3600),
        compensable: false,
        read_only: true,
    },
    // Opens assistance's household reviews: not undone by the aggregator (a clerk closes them).
    StepDef {
        name: ASSISTANCE,
        depends_on: &[VERIFY],
        retry: SUITE_RETRY,
        attempt_timeout: Duration::from_secs(15),
        deadline: Duration::from_secs(3 * 24 * 3600),
        compensable: false,
        read_only: false,
    },
    StepDef {
        name: HOUSEHOLD,
        depends_on: &[VERIFY],
        retry: OUTSIDE_RETRY,
        attempt_timeout: Duration::from_secs(30),
        deadline: Duration::from_secs(7 * 24 * 3600),
        compensable: true,
        read_only: false,
    },
    StepDef {
        name: BIRTH,
        depends_on: &[VERIFY],
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
    on_failure: OnFailure::Compensate,
};

pub struct MarriageBirthHousehold(pub Deps);

impl Workflow for MarriageBirthHousehold {
    fn plan(&self) -> &'static Plan {
        &PLAN
    }

    fn run(&self, call: StepCall) -> BoxFuture<'_, Result<StepOutcome, StepError>> {
        async move {
            let m: MarriageBirthHouseholdMatter = matter(&call)?;
            match (call.step.as_str(), call.phase) {
                (VERIFY, _) => self.verify(&call, &m).await,
                (ASSISTANCE, _) => self.assistance(&call, &m).await,
                (HOUSEHOLD, Phase::Do) => self.household(&call, &m).await,
                (HOUSEHOLD, Phase::Undo) => self.withdraw_household(&call).await,
                (BIRTH, Phase::Do) => self.birth(&call, &m).await,
                (BIRTH, Phase::Undo) => self.cancel_birth(&call).await,
                (other, _) => Err(StepError::terminal(format!("unknown step {other}"))),
            }
        }
        .boxed()
    }
}

/// What the verification step keeps for the later steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verified {
    /// `YYYY-MM-DD`.
    pub registration_date: String,
    /// The spouses as the record names them, sealed.
    #[serde(default)]
    pub party_a: String,
    #[serde(default)]
    pub party_b: String,
}

/// Whether the certificate's parties are the two declared (in either order).
fn same_couple(record: &marriage::Marriage, m: &MarriageBirthHouseholdMatter) -> bool {
    let id = |p: Option<&contracts::civil::common::v1::PersonRef>| {
        p.map(|p| p.id_number.to_ascii_uppercase())
            .unwrap_or_default()
    };
    let on_record = [
        id(record.party_a.as_ref().and_then(|p| p.person.as_ref())),
        id(record.party_b.as_ref().and_then(|p| p.person.as_ref())),
    ];
    let declared = [id(m.party_a.as_ref()), id(m.party_b.as_ref())];
    !declared[0].is_empty()
        && (on_record == declared || on_record == [declared[1].clone(), declared[0].clone()])
}

impl MarriageBirthHousehold {
    /// The marriage must be on record, in effect, between the two declared persons.
    async fn verify(
        &self,
        call: &StepCall,
        m: &MarriageBirthHouseholdMatter,
    ) -> Result<StepOutcome, StepError> {
        let mut client = marriage::marriage_service_client::MarriageServiceClient::new(
            self.0.ctx.channel("marriage"),
        );
        let req = marriage::GetMarriageRequest {
            certificate_number: m.marriage_certificate_number.clone(),
        };
        let record = client
            .get_marriage(self.0.request(call, req))
            .await?
            .into_inner();
        if record.state() != marriage::MarriageState::InEffect {
            return Err(StepError::terminal("the marriage is not in effect"));
        }
        // A case the registration started (免申即享) declares no spouses: the record names them.
        let declared = m.party_a.is_some() || m.party_b.is_some();
        if declared && !same_couple(&record, m) {
            return Err(StepError::terminal(
                "the certificate does not name the declared spouses",
            ));
        }
        let party = |p: Option<&marriage::CertificateParty>| {
            p.and_then(|p| p.person.as_ref())
                .map(|p| self.0.seal_person(p))
                .unwrap_or_default()
        };
        let output = Verified {
            registration_date: record
                .registration_date
                .map(|d| super::date_text(&d))
                .unwrap_or_default(),
            party_a: party(record.party_a.as_ref()),
            party_b: party(record.party_b.as_ref()),
        };
        let summary = format!("marriage {} verified", record.certificate_number);
        Ok(StepOutcome::typed(summary, &output))
    }

    /// The spouses: as declared, or as the verified record names them.
    fn parties(
        &self,
        call: &StepCall,
        m: &MarriageBirthHouseholdMatter,
    ) -> Result<(Option<PersonRef>, Option<PersonRef>), StepError> {
        if m.party_a.is_some() || m.party_b.is_some() {
            return Ok((m.party_a.clone(), m.party_b.clone()));
        }
        let v: Verified = call.output_as(VERIFY)?;
        let open = |s: &str| (!s.is_empty()).then(|| self.0.open_person(s)).transpose();
        Ok((open(&v.party_a)?, open(&v.party_b)?))
    }

    /// Opens a household-composition review in assistance for every benefit either spouse is a
    /// member of (the marriage changes who is in the household); the township clerk records the
    /// new composition. One key per spouse under the step's key: a re-run opens nothing twice.
    async fn assistance(
        &self,
        call: &StepCall,
        m: &MarriageBirthHouseholdMatter,
    ) -> Result<StepOutcome, StepError> {
        let mut client = assistance::assistance_service_client::AssistanceServiceClient::new(
            self.0.ctx.channel("assistance"),
        );
        let verified: Verified = call.output_as(VERIFY)?;
        let mut reviews = Vec::new();
        let (a, b) = self.parties(call, m)?;
        for (tag, party) in [("a", a), ("b", b)] {
            let Some(party) = party else { continue };
            let req = assistance::OpenHouseholdReviewRequest {
                request_id: format!("{}:{tag}", call.key),
                id_number: party.id_number.clone(),
                cause: assistance::HouseholdReviewCause::Marriage as i32,
                reference: m.marriage_certificate_number.clone(),
                changed_on: super::parse_date(&verified.registration_date),
            };
            let opened = client
                .open_household_review(self.0.request(call, req))
                .await?
                .into_inner();
            reviews.extend(opened.reviews.into_iter().map(|r| r.review_id));
        }
        reviews.sort();
        reviews.dedup();
        let summary = if reviews.is_empty() {
            "neither spouse is in an assistance household".to_owned()
        } else {
            format!(
                "{} household review(s) opened in assistance for the township clerk",
                reviews.len()
            )
        };
        Ok(StepOutcome::with_output(
            summary,
            json!({ "reviews": reviews }),
        ))
    }

    async fn household(
        &self,
        call: &StepCall,
        m: &MarriageBirthHouseholdMatter,
    ) -> Result<StepOutcome, StepError> {
        let (party_a, party_b) = self.parties(call, m)?;
        let verified: Verified = call.output_as(VERIFY)?;
        let req = ext::UpdateMaritalStatusRequest {
            request_id: call.key.clone(),
            party_a,
            party_b,
            marriage_certificate_number: m.marriage_certificate_number.clone(),
            registration_date: super::parse_date(&verified.registration_date),
        };
        let r = self
            .0
            .externals
            .household_register
            .update_marital_status(self.0.request(call, req))
            .await?;
        Ok(StepOutcome::with_output(
            "household register: marital status updated",
            json!({ "receipt": r.receipt_id }),
        ))
    }

    async fn withdraw_household(&self, call: &StepCall) -> Result<StepOutcome, StepError> {
        let req = ext::WithdrawChangeRequest {
            request_id: call.key.clone(),
            receipt_id: out_str(call, HOUSEHOLD, "receipt")?.to_owned(),
            reason: "婚育户一件事 could not be completed".into(),
        };
        self.0
            .externals
            .household_register
            .withdraw_change(self.0.request(call, req))
            .await?;
        Ok(StepOutcome::done("household register change withdrawn"))
    }

    async fn birth(
        &self,
        call: &StepCall,
        m: &MarriageBirthHouseholdMatter,
    ) -> Result<StepOutcome, StepError> {
        if !m.register_birth_service {
            return Ok(StepOutcome::with_output(
                "birth-service registration not requested",
                json!({ "registration": "" }),
            ));
        }
        let (party_a, party_b) = self.parties(call, m)?;
        let req = ext::RegisterCoupleRequest {
            request_id: call.key.clone(),
            party_a,
            party_b,
            marriage_certificate_number: m.marriage_certificate_number.clone(),
            region: call.region.clone(),
        };
        let r = self
            .0
            .externals
            .birth_service
            .register_couple(self.0.request(call, req))
            .await?;
        Ok(StepOutcome::with_output(
            "registered for birth services",
            json!({ "registration": r.registration_id }),
        ))
    }

    async fn cancel_birth(&self, call: &StepCall) -> Result<StepOutcome, StepError> {
        let registration = out_str(call, BIRTH, "registration")?.to_owned();
        if registration.is_empty() {
            return Ok(StepOutcome::done("nothing to cancel"));
        }
        let req = ext::CancelRegistrationRequest {
            request_id: call.key.clone(),
            registration_id: registration,
            reason: "婚育户一件事 could not be completed".into(),
        };
        self.0
            .externals
            .birth_service
            .cancel_registration(self.0.request(call, req))
            .await?;
        Ok(StepOutcome::done("birth-service registration cancelled"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use contracts::civil::common::v1::PersonRef;

    fn person(id: &str) -> Option<PersonRef> {
        Some(PersonRef {
            id_number: id.into(),
            name: String::new(),
        })
    }

    #[test]
    fn the_certificate_must_name_the_declared_spouses_in_either_order() {
        let party = |id: &str| {
            Some(marriage::CertificateParty {
                person: person(id),
                ..Default::default()
            })
        };
        let record = marriage::Marriage {
            party_a: party("A1"),
            party_b: party("B1"),
            ..Default::default()
        };
        let m = |a: &str, b: &str| MarriageBirthHouseholdMatter {
            party_a: person(a),
            party_b: person(b),
            ..Default::default()
        };
        assert!(same_couple(&record, &m("A1", "B1")));
        assert!(same_couple(&record, &m("B1", "A1")));
        assert!(!same_couple(&record, &m("A1", "C1")));
    }

    #[test]
    fn only_the_outside_changes_are_undone() {
        let undoable: Vec<_> = PLAN
            .steps
            .iter()
            .filter(|s| s.compensable)
            .map(|s| s.name)
            .collect();
        assert_eq!(undoable, vec![HOUSEHOLD, BIRTH]);
        assert_eq!(PLAN.on_failure, OnFailure::Compensate);
    }
}
