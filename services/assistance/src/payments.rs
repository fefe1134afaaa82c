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
use crate::domain::payment::{
    self as rules, Account, HashedLine, LineStatus, PaymentRefusal, RollState,
};
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

fn state_of(roll: &RollRow) -> Result<RollState, ServiceError> {
    RollState::parse(&roll.state)
        .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("roll state {}", roll.state)))
}

/// Maker: submits a draft.
pub(crate) async fn submit(c: &mut Call, roll: RollRow) -> Result<pb::Roll, ServiceError> {
    let missing = store::lines_without_account(c.db(), &roll.id).await?;
    rules::submit(
        state_of(&roll)?,
        usize::try_from(roll.line_count).unwrap_or(0),
        usize::try_from(missing).unwrap_or(usize::MAX),
    )?;
    let (by, now) = (
        auth::duties::person_of(c.principal()).to_owned(),
        c.now_ms(),
    );
    store::set_roll_state(
        c.db(),
        &roll,
        RollState::Submitted.as_str(),
        &[("submitted_by", by), ("submitted_at_ms", now.to_string())],
    )
    .await?;
    let roll = store::load_roll(c.db(), &roll.id).await?;
    view(c, &roll, None).await
}

/// The roll's hash now, and its lines with their accounts opened.
async fn hash_now(
    c: &mut Call,
    roll: &RollRow,
) -> Result<(String, Vec<(LineRow, Option<Account>)>), ServiceError> {
    let sealer = c.sealer().clone();
    let lines = store::roll_lines(c.db(), &roll.id, None).await?;
    let mut opened = Vec::with_capacity(lines.len());
    for l in lines {
        let account: Option<Account> = l
            .account_sealed
            .as_deref()
            .map(|s| store::open(&sealer, s))
            .transpose()?;
        opened.push((l, account));
    }
    let texts: Vec<String> = opened
        .iter()
        .map(|(_, a)| {
            a.as_ref()
                .map(|a| format!("{}|{}|{}", a.bank_code, a.number, a.holder))
                .unwrap_or_default()
        })
        .collect();
    let hash = rules::roll_hash(
        &roll.id,
        opened
            .iter()
            .zip(&texts)
            .map(|((l, _), account)| HashedLine {
                line_id: &l.line_id,
                benefit_id: &l.benefit_id,
                for_month: &l.for_month,
                amount_fen: l.amount_fen,
                policy_version: &l.policy_version,
                account,
                inputs_sha256: &l.inputs_sha256,
                reissue_of: l.reissue_of.as_deref().unwrap_or_default(),
            }),
    );
    Ok((hash, opened))
}

/// Checker: approves a submitted roll made by another person; freezes it by its hash.
pub(crate) async fn approve(c: &mut Call, roll: RollRow) -> Result<pb::Roll, ServiceError> {
    rules::approve(state_of(&roll)?)?;
    auth::ensure_different_person(&roll.submitted_by, c.principal())
        .map_err(ServiceError::Status)?;
    let (hash, _) = hash_now(c, &roll).await?;
    let (by, now) = (
        auth::duties::person_of(c.principal()).to_owned(),
        c.now_ms(),
    );
    store::set_roll_state(
        c.db(),
        &roll,
        RollState::Approved.as_str(),
        &[
            ("approved_by", by),
            ("approved_at_ms", now.to_string()),
            ("approved_hash", hash),
        ],
    )
    .await?;
    let roll = store::load_roll(c.db(), &roll.id).await?;
    view(c, &roll, None).await
}

/// The bank file of an approved roll; the roll becomes exported.
pub(crate) async fn export(
    c: &mut Call,
    county: &str,
    roll: RollRow,
) -> Result<pb::BankFile, ServiceError> {
    let state = state_of(&roll)?;
    if !matches!(state, RollState::Approved | RollState::Exported) {
        return Err(PaymentRefusal::NotApproved(state.as_str()).into());
    }
    let (hash, lines) = hash_now(c, &roll).await?;
    rules::export(state, &roll.approved_hash, &hash)?;
    let missing = Account {
        bank_code: String::new(),
        number: String::new(),
        holder: String::new(),
    };
    let bank_lines: Vec<rules::BankLine<'_>> = lines
        .iter()
        .map(|(l, a)| rules::BankLine {
            line_id: &l.line_id,
            account: a.as_ref().unwrap_or(&missing),
            amount_fen: l.amount_fen,
            program: &l.kind,
            for_month: &l.for_month,
        })
        .collect();
    let header = rules::BankFileHeader {
        roll_id: &roll.id,
        county,
        month: &roll.month,
        roll_kind: &roll.roll_kind,
    };
    let content = rules::bank_file(&header, &bank_lines).map_err(|_| amount_out_of_range())?;
    let sha256 = rules::sha256_hex(content.as_bytes());
    if state == RollState::Approved {
        let now = c.now_ms();
        store::set_roll_state(
            c.db(),
            &roll,
            RollState::Exported.as_str(),
            &[
                ("exported_at_ms", now.to_string()),
                ("file_sha256", sha256.clone()),
            ],
        )
        .await?;
    }
    Ok(pb::BankFile {
        roll_id: roll.id.clone(),
        format: format!("{}/{}", rules::BANK_FILE_FORMAT, rules::FILE_VERSION),
        file_name: format!(
            "CIVILPAY_{}_{}_{}.txt",
            county,
            roll.month.replace('-', ""),
            roll.id
        ),
        content,
        line_count: roll.line_count,
        total_fen: roll.total_fen,
        sha256,
    })
}

/// A return file as decoded: its hash and its lines.
pub(crate) struct ReturnImport {
    pub sha256: String,
    pub file: rules::ReturnFile,
}

/// Applies the bank's return to an exported roll, whole or not at all.
pub(crate) async fn import_return(
    c: &mut Call,
    roll: RollRow,
    import: ReturnImport,
) -> Result<pb::Roll, ServiceError> {
    if store::return_imported(c.db(), &import.sha256)
        .await?
        .is_some()
    {
        return Err(PaymentRefusal::AlreadyImported.into());
    }
    let state = state_of(&roll)?;
    match state {
        RollState::Reconciled | RollState::PartlyFailed => {
            return Err(PaymentRefusal::AlreadyReconciled.into());
        }
        RollState::Exported => {}
        other => return Err(PaymentRefusal::NotExported(other.as_str()).into()),
    }
    let lines = store::roll_lines(c.db(), &roll.id, None).await?;
    let expected: HashMap<String, i64> = lines
        .iter()
        .map(|l| (l.line_id.clone(), l.amount_fen))
        .collect();
    let outcomes = rules::check_return(&roll.id, &expected, &import.file)?;
    let next = rules::state_after_return(&outcomes);
    let mut paid = Vec::new();
    let (mut paid_fen, mut failed_fen) = (0i64, 0i64);
    for line in &outcomes {
        match &line.outcome {
            rules::Outcome::Paid => {
                paid.push(line.line_id.as_str());
                paid_fen = paid_fen.saturating_add(line.amount_fen);
            }
            rules::Outcome::Failed { code, reason } => {
                store::fail_line(c.db(), &line.line_id, code, reason).await?;
                failed_fen = failed_fen.saturating_add(line.amount_fen);
            }
        }
    }
    // The store's unique index refuses a second paid line for a benefit and month.
    store::set_lines_status(
        c.db(),
        &paid,
        LineStatus::Pending.as_str(),
        LineStatus::Paid.as_str(),
    )
    .await?;
    let (by, now) = (
        auth::duties::person_of(c.principal()).to_owned(),
        c.now_ms(),
    );
    let count = i64::try_from(outcomes.len()).unwrap_or(i64::MAX);
    store::insert_return(
        c.db(),
        &import.sha256,
        &roll.id,
        count,
        paid_fen,
        failed_fen,
        &by,
        now,
    )
    .await?;
    store::set_roll_state(
        c.db(),
        &roll,
        next.as_str(),
        &[("reconciled_at_ms", now.to_string())],
    )
    .await?;
    let roll = store::load_roll(c.db(), &roll.id).await?;
    view(c, &roll, None).await
}

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
