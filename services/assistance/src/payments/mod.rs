//! The effects of the PaymentRollService: generating a roll (frozen inputs per line), the
//! maker and checker steps, the bank file, the bank's return, re-issue. The rules are in
//! [`crate::domain::payment`]; this loads, seals and stores.

use std::collections::HashMap;

use contracts::civil::assistance::v1 as pb;
use kit::ServiceError;
use kit::rpc::{Call, Refusal};
use serde::{Deserialize, Serialize};

use crate::domain::allowance::Computation;
use crate::domain::benefit::BenefitKind;
use crate::domain::household::Relationship;
use crate::domain::month::Month;
use crate::domain::payment::{self as rules, LineStatus, PaymentRefusal, RollState};
use crate::domain::policy::{Area, Policy};
use crate::procedure::amount_out_of_range;
use crate::records::{BenefitRecord, ChangeRecord, kind_str};
use crate::store::{self, LineRow, RollRow};

impl Refusal for PaymentRefusal {
    fn reason(&self) -> &'static str {
        PaymentRefusal::reason(self)
    }
}

/// A counted member, as frozen with a line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputMember {
    pub id_number: String,
    pub relationship: Relationship,
    pub income_fen: i64,
}

/// What a line's amount rests on, frozen when the roll is made (sealed; its SHA-256 is in the
/// approved hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineInputs {
    pub benefit_version: i64,
    pub application_id: Option<String>,
    pub decided_by: String,
    pub decided_on: String,
    pub area: Area,
    pub standard_fen: i64,
    pub members: Vec<InputMember>,
    pub computation: Computation,
    pub phase_out: bool,
    pub last_change: Option<ChangeRecord>,
}

/// The frozen inputs of a benefit's amount for `month`, if it pays then.
fn inputs_for(
    policy: &Policy,
    rec: &BenefitRecord,
    month: Month,
) -> Result<Option<LineInputs>, ServiceError> {
    let Some(computation) = rec
        .terms
        .amount_for(policy, month)
        .map_err(|_| amount_out_of_range())?
    else {
        return Ok(None);
    };
    let version = policy.in_force_for_month(month);
    let revision = rec.terms.revision_for(month);
    let area = revision.household.area;
    let standard_fen = match rec.kind() {
        BenefitKind::ExtremePoverty => version.extreme_poverty.basic_support_fen.get(),
        _ => version.standard_fen(area).get(),
    };
    let members = rec
        .terms
        .covered_in(month)
        .into_iter()
        .map(|m| InputMember {
            id_number: m.id_number.clone(),
            relationship: m.relationship,
            income_fen: m.monthly_income_fen().map_or(i64::MAX, money::Fen::get),
        })
        .collect();
    let last_change = rec
        .history
        .iter()
        .rev()
        .find(|h| h.from_month <= month)
        .cloned();
    Ok(Some(LineInputs {
        benefit_version: rec.version,
        application_id: rec.application_id.clone(),
        decided_by: rec.approved_by.clone(),
        decided_on: rec.approved_on.clone(),
        area,
        standard_fen,
        members,
        phase_out: revision.frozen_amount_fen.is_some(),
        computation,
        last_change,
    }))
}

/// The month's regular roll: a draft is (re)generated from today's benefits and accounts; a
/// submitted or later roll is returned as it is.
pub(crate) async fn generate(
    c: &mut Call,
    policy: &Policy,
    month: Month,
) -> Result<pb::Roll, ServiceError> {
    let key = month.to_string();
    let existing = store::regular_roll(c.db(), &key).await?;
    if let Some(roll) = &existing {
        c.object(roll.id.clone());
        if roll.state != RollState::Draft.as_str() {
            return view(c, roll, None).await;
        }
    }
    let sealer = c.sealer().clone();
    let benefits = store::benefits_paying_in(c.db(), &sealer, &key).await?;
    let accounts = store::payee_accounts(c.db()).await?;
    let roll_id = existing
        .as_ref()
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), |r| r.id.clone());
    let mut lines = Vec::with_capacity(benefits.len());
    let mut total = money::Fen::ZERO;
    for rec in &benefits {
        let Some(inputs) = inputs_for(policy, rec, month)? else {
            continue;
        };
        let json = serde_json::to_string(&inputs)
            .map_err(|e| ServiceError::Internal(anyhow::anyhow!("encode inputs: {e}")))?;
        total = total
            .checked_add(inputs.computation.total_fen)
            .ok_or_else(amount_out_of_range)?;
        let account = accounts.get(&rec.id);
        lines.push(LineRow {
            line_id: uuid::Uuid::now_v7().to_string(),
            roll_id: roll_id.clone(),
            seq: i64::try_from(lines.len()).unwrap_or(i64::MAX),
            benefit_id: rec.id.clone(),
            kind: kind_str(rec.kind()).to_owned(),
            region: rec.region().to_owned(),
            for_month: key.clone(),
            amount_fen: inputs.computation.total_fen.get(),
            policy_version: inputs.computation.policy_version.clone(),
            account_sealed: account.map(|a| a.0.clone()),
            account_version: account.map(|a| a.1),
            inputs_sha256: rules::sha256_hex(json.as_bytes()),
            inputs_sealed: sealer.seal(&json),
            status: LineStatus::Pending.as_str().to_owned(),
            bank_code: None,
            bank_reason: None,
            reissue_of: None,
        });
    }
    let count = i64::try_from(lines.len()).unwrap_or(i64::MAX);
    let (by, now) = (
        auth::duties::person_of(c.principal()).to_owned(),
        c.now_ms(),
    );
    match &existing {
        Some(roll) => store::reset_draft(c.db(), roll, count, total.get(), &by, now).await?,
        None => {
            store::insert_pay_roll(
                c.db(),
                &roll_id,
                &key,
                "regular",
                count,
                total.get(),
                &by,
                now,
            )
            .await?
        }
    }
    store::insert_lines(c.db(), &lines).await?;
    c.object(roll_id.clone());
    let roll = store::load_roll(c.db(), &roll_id).await?;
    view(c, &roll, None).await
}

/// A supplementary roll of the failed lines whose account was corrected since.
pub(crate) async fn supplementary(c: &mut Call) -> Result<pb::Roll, ServiceError> {
    let failed = store::failed_lines(c.db()).await?;
    let candidates: Vec<rules::FailedLine> = failed
        .iter()
        .map(|(l, now)| rules::FailedLine {
            line_id: l.line_id.clone(),
            account_version_then: l.account_version.unwrap_or(0),
            account_version_now: *now,
        })
        .collect();
    let chosen: Vec<&str> = rules::to_reissue(&candidates)?
        .iter()
        .map(|l| l.line_id.as_str())
        .collect();
    let by_id: HashMap<&str, &LineRow> = failed
        .iter()
        .map(|(l, _)| (l.line_id.as_str(), l))
        .collect();
    let accounts = store::payee_accounts(c.db()).await?;
    let roll_id = uuid::Uuid::now_v7().to_string();
    let mut lines = Vec::with_capacity(chosen.len());
    let mut total = money::Fen::ZERO;
    for id in &chosen {
        let old = by_id[id];
        let account = accounts.get(&old.benefit_id);
        total = total
            .checked_add(money::Fen::new(old.amount_fen))
            .ok_or_else(amount_out_of_range)?;
        lines.push(LineRow {
            line_id: uuid::Uuid::now_v7().to_string(),
            roll_id: roll_id.clone(),
            seq: i64::try_from(lines.len()).unwrap_or(i64::MAX),
            account_sealed: account.map(|a| a.0.clone()),
            account_version: account.map(|a| a.1),
            status: LineStatus::Pending.as_str().to_owned(),
            bank_code: None,
            bank_reason: None,
            reissue_of: Some(old.line_id.clone()),
            ..old.clone()
        });
    }
    let (by, now) = (
        auth::duties::person_of(c.principal()).to_owned(),
        c.now_ms(),
    );
    let month = Month::of(c.today()).to_string();
    let count = i64::try_from(lines.len()).unwrap_or(i64::MAX);
    store::insert_pay_roll(
        c.db(),
        &roll_id,
        &month,
        "supplementary",
        count,
        total.get(),
        &by,
        now,
    )
    .await?;
    store::set_lines_status(
        c.db(),
        &chosen,
        LineStatus::Failed.as_str(),
        LineStatus::Reissued.as_str(),
    )
    .await?;
    store::insert_lines(c.db(), &lines).await?;
    c.object(roll_id.clone());
    let roll = store::load_roll(c.db(), &roll_id).await?;
    view(c, &roll, None).await
}

mod lifecycle;
mod view;

pub(crate) use lifecycle::{ReturnImport, approve, export, import_return, submit};
pub(crate) use view::{explain, line_status_from_proto, set_account, view};

pub(super) fn state_of(roll: &RollRow) -> Result<RollState, ServiceError> {
    RollState::parse(&roll.state)
        .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("roll state {}", roll.state)))
}
