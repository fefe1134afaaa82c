//! Rolls and lines as answered, "why this amount", and payee accounts.

use contracts::civil::assistance::v1 as pb;
use kit::ServiceError;
use kit::rpc::Call;

use super::LineInputs;
use crate::domain::payment::{Account, LineStatus, RollState};
use crate::domain::policy::Area;
use crate::store::{self, LineRow, RollRow};

fn roll_state_to_proto(s: &str) -> i32 {
    (match RollState::parse(s) {
        Some(RollState::Draft) => pb::RollState::Draft,
        Some(RollState::Submitted) => pb::RollState::Submitted,
        Some(RollState::Approved) => pb::RollState::Approved,
        Some(RollState::Exported) => pb::RollState::Exported,
        Some(RollState::Reconciled) => pb::RollState::Reconciled,
        Some(RollState::PartlyFailed) => pb::RollState::PartlyFailed,
        None => pb::RollState::Unspecified,
    }) as i32
}

pub(crate) fn line_status_to_proto(s: &str) -> i32 {
    (match LineStatus::parse(s) {
        Some(LineStatus::Pending) => pb::LineStatus::Pending,
        Some(LineStatus::Paid) => pb::LineStatus::Paid,
        Some(LineStatus::Failed) => pb::LineStatus::Failed,
        Some(LineStatus::Reissued) => pb::LineStatus::Reissued,
        None => pb::LineStatus::Unspecified,
    }) as i32
}

pub(crate) fn line_status_from_proto(v: i32) -> Option<LineStatus> {
    match pb::LineStatus::try_from(v).ok()? {
        pb::LineStatus::Pending => Some(LineStatus::Pending),
        pb::LineStatus::Paid => Some(LineStatus::Paid),
        pb::LineStatus::Failed => Some(LineStatus::Failed),
        pb::LineStatus::Reissued => Some(LineStatus::Reissued),
        pb::LineStatus::Unspecified => None,
    }
}

fn kind_to_proto_text(kind: &str) -> i32 {
    (match kind {
        "minimum_living" => pb::BenefitKind::MinimumLivingAllowance,
        "extreme_poverty" => pb::BenefitKind::ExtremePovertySupport,
        "near_threshold" => pb::BenefitKind::NearThreshold,
        "temporary" => pb::BenefitKind::TemporaryAssistance,
        _ => pb::BenefitKind::Unspecified,
    }) as i32
}

/// A roll as answered: summary, reconciliation, and its lines of one status when asked.
pub(crate) async fn view(
    c: &mut Call,
    roll: &RollRow,
    lines_with: Option<LineStatus>,
) -> Result<pb::Roll, ServiceError> {
    let totals = store::line_totals(c.db(), &roll.id).await?;
    let of = |s: LineStatus| totals.get(s.as_str()).copied().unwrap_or((0, 0));
    let paid_twice = store::paid_twice(c.db(), &roll.id).await?;
    let without = store::lines_without_account(c.db(), &roll.id).await?;
    let sealer = c.sealer().clone();
    let mut lines = Vec::new();
    if let Some(status) = lines_with {
        for l in store::roll_lines(c.db(), &roll.id, Some(status.as_str())).await? {
            let account: Option<Account> = l
                .account_sealed
                .as_deref()
                .map(|s| store::open(&sealer, s))
                .transpose()?;
            lines.push(pb::RollLine {
                line_id: l.line_id,
                benefit_id: l.benefit_id,
                kind: kind_to_proto_text(&l.kind),
                region: l.region,
                for_month: l.for_month,
                amount_fen: l.amount_fen,
                policy_version: l.policy_version,
                status: line_status_to_proto(&l.status),
                account_number_masked: account.map(|a| a.masked()).unwrap_or_default(),
                bank_code: l.bank_code.unwrap_or_default(),
                bank_reason: l.bank_reason.unwrap_or_default(),
                reissue_of: l.reissue_of.unwrap_or_default(),
            });
        }
    }
    Ok(pb::Roll {
        id: roll.id.clone(),
        month: roll.month.clone(),
        kind: if roll.roll_kind == "regular" {
            pb::RollKind::Regular
        } else {
            pb::RollKind::Supplementary
        } as i32,
        state: roll_state_to_proto(&roll.state),
        line_count: roll.line_count,
        total_fen: roll.total_fen,
        created_by: roll.created_by.clone(),
        submitted_by: roll.submitted_by.clone(),
        approved_by: roll.approved_by.clone(),
        approved_hash: roll.approved_hash.clone(),
        reconciliation: Some(pb::Reconciliation {
            paid_lines: of(LineStatus::Paid).0,
            paid_fen: of(LineStatus::Paid).1,
            failed_lines: of(LineStatus::Failed).0,
            failed_fen: of(LineStatus::Failed).1,
            reissued_lines: of(LineStatus::Reissued).0,
            pending_lines: of(LineStatus::Pending).0,
            paid_twice,
        }),
        lines,
        lines_without_account: without,
    })
}

/// Why a line has its amount, from its frozen inputs.
pub(crate) async fn explain(
    c: &mut Call,
    line: LineRow,
) -> Result<pb::LineExplanation, ServiceError> {
    let sealer = c.sealer().clone();
    let inputs: LineInputs = store::open(&sealer, &line.inputs_sealed)?;
    let full = c.principal().sees_full_identity_numbers();
    Ok(pb::LineExplanation {
        line_id: line.line_id.clone(),
        roll_id: line.roll_id.clone(),
        benefit_id: line.benefit_id.clone(),
        for_month: line.for_month.clone(),
        amount_fen: line.amount_fen,
        policy_version: inputs.computation.policy_version.clone(),
        standard_fen: inputs.standard_fen,
        area: match inputs.area {
            Area::Urban => pb::AreaKind::Urban,
            Area::Rural => pb::AreaKind::Rural,
        } as i32,
        members: inputs
            .members
            .iter()
            .map(|m| pb::CountedMember {
                id_number: if full {
                    m.id_number.clone()
                } else {
                    civil_id::mask_id_number(&m.id_number)
                },
                relationship: crate::convert::relationship_to_proto(m.relationship),
                counted_income_fen: m.income_fen,
            })
            .collect(),
        items: crate::convert::lines_to_proto(&inputs.computation),
        phase_out: inputs.phase_out,
        application_id: inputs.application_id.clone().unwrap_or_default(),
        decided_by: inputs.decided_by.clone(),
        decided_on: inputs.decided_on.clone(),
        last_change: inputs.last_change.as_ref().map(|h| pb::AmountChange {
            from_month: h.from_month.to_string(),
            reason: h.reason.clone(),
            decided_by: h.decided_by.clone(),
            decided_on: h.decided_on.clone(),
            monthly_amount_fen: h.monthly_amount_fen.get(),
        }),
        inputs_sha256: line.inputs_sha256,
    })
}

/// Records a payee account for a benefit.
pub(crate) async fn set_account(
    c: &mut Call,
    benefit_id: &str,
    account: Account,
) -> Result<pb::PayeeAccount, ServiceError> {
    let sealer = c.sealer().clone();
    let sealed = store::seal(&sealer, &account)?;
    let (by, now) = (
        auth::duties::person_of(c.principal()).to_owned(),
        c.now_ms(),
    );
    let version = store::upsert_payee_account(c.db(), benefit_id, &sealed, &by, now).await?;
    c.purpose("payment");
    Ok(pb::PayeeAccount {
        benefit_id: benefit_id.to_owned(),
        bank_code: account.bank_code.clone(),
        account_number_masked: account.masked(),
        account_holder: account.holder.clone(),
        version,
    })
}
