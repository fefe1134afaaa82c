//! A death's effects on the benefits of the deceased: ended, or the household recalculated.
//! The outcome is stored per person, so any later call (another request id, a retried workflow
//! step) returns the same answer.

use auth::Role;
use base64::Engine as _;
use contracts::civil::assistance::v1 as pb;
use kit::ServiceError;
use kit::rpc::Call;
use prost::Message;

use crate::benefits::{forget_benefit, forget_statuses};
use crate::convert::kind_to_proto;
use crate::domain::benefit::{self, DeathOutcome, TerminationReason};
use crate::domain::policy::Policy;
use crate::records::{BenefitRecord, BenefitState, TerminationRecord, fmt_date};
use crate::store;

/// A reported death: who (blind index and number) and when.
pub(crate) struct Death {
    pub id: civil_id::IdNumber,
    pub died: time::Date,
}

/// Ends or recalculates every benefit of the deceased, once per person.
pub(crate) async fn terminate_for_death(
    c: &mut Call,
    policy: &Policy,
    death: Death,
) -> Result<pb::TerminateForDeathResponse, ServiceError> {
    if death.died > c.today() {
        return Err(crate::api::refuse(
            "ASSISTANCE_DEATH_IN_FUTURE",
            "the date of death is after today",
        ));
    }
    let sealer = c.sealer().clone();
    let index = sealer.index(&death.id);
    c.object(index.clone());
    c.person(index.clone());
    if let Some(stored) = store::death_response(c.db(), &index).await? {
        return decode_death(&stored);
    }
    let mut response = pb::TerminateForDeathResponse::default();
    for mut rec in store::benefits_of_person(c.db(), &sealer, &index).await? {
        if !c.principal().has_role(Role::Service) {
            c.authorize(&[Role::CountyApprover], Some(rec.region()))?;
        }
        let Some(outcome) =
            benefit::record_death(&mut rec.terms, policy, death.id.as_str(), death.died)
        else {
            continue;
        };
        let effect = apply_death(c, &mut rec, outcome, policy).await?;
        let now = c.now_ms();
        store::update_benefit(c.db(), &sealer, &rec, now).await?;
        forget_benefit(c, &rec.id).await?;
        response.effects.push(effect);
    }
    let died = fmt_date(death.died);
    let now = c.now_ms();
    store::insert_death(c.db(), &index, &died, &encode(&response), now).await?;
    forget_statuses(c, std::slice::from_ref(&index)).await?;
    Ok(response)
}

/// Records a death's outcome on the benefit: its state, termination, computation, history and
/// event; the benefit is audited with the call.
async fn apply_death(
    c: &mut Call,
    rec: &mut BenefitRecord,
    outcome: DeathOutcome,
    policy: &Policy,
) -> Result<pb::DeathEffect, ServiceError> {
    let (today, subject) = (c.today(), c.principal().subject.clone());
    c.also_audit(rec.id.clone());
    let mut effect = pb::DeathEffect {
        benefit_id: rec.id.clone(),
        kind: kind_to_proto(rec.kind()),
        household_region: rec.region().to_owned(),
        ..Default::default()
    };
    match outcome {
        DeathOutcome::Terminated { from } => {
            rec.state = BenefitState::Terminated;
            rec.termination = Some(TerminationRecord {
                reason: TerminationReason::Death,
                effective_month: from,
                decided_by: subject.clone(),
                note: "death of the recipient".into(),
            });
            rec.record_history(from, "death of the recipient", &subject, today);
            let event = pb::BenefitTerminated {
                benefit_id: rec.id.clone(),
                reason: pb::TerminationReason::Death as i32,
                effective_month: from.to_string(),
            };
            let (topic, kind) = (
                "assistance.benefit_terminated",
                "civil.assistance.v1.BenefitTerminated",
            );
            c.publish(topic, kind, &rec.id, &event).await?;
            effect.outcome = pb::DeathOutcome::Terminated as i32;
            effect.effective_month = from.to_string();
        }
        DeathOutcome::Recalculated { from, amount_fen } => {
            if let Ok(Some(computation)) =
                rec.terms.amount_for(policy, from.max(rec.terms.paid_from))
            {
                rec.computation = computation;
            }
            rec.record_history(from, "member died", &subject, today);
            let event = pb::BenefitChanged {
                benefit_id: rec.id.clone(),
                from_month: from.to_string(),
                monthly_amount_fen: amount_fen.get(),
                reason: "member died".into(),
            };
            let (topic, kind) = (
                "assistance.benefit_changed",
                "civil.assistance.v1.BenefitChanged",
            );
            c.publish(topic, kind, &rec.id, &event).await?;
            effect.outcome = pb::DeathOutcome::Recalculated as i32;
            effect.effective_month = from.to_string();
            effect.monthly_amount_fen = amount_fen.get();
        }
    }
    Ok(effect)
}

fn encode(response: &pb::TerminateForDeathResponse) -> String {
    base64::engine::general_purpose::STANDARD.encode(response.encode_to_vec())
}

pub(crate) fn decode_death(stored: &str) -> Result<pb::TerminateForDeathResponse, ServiceError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(stored)
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("stored death outcome: {e}")))?;
    pb::TerminateForDeathResponse::decode(bytes.as_slice())
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("stored death outcome: {e}")))
}
