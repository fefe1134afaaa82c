//! The maker and checker steps, the bank file and the bank's return.

use std::collections::HashMap;

use contracts::civil::assistance::v1 as pb;
use kit::ServiceError;
use kit::rpc::Call;

use super::{state_of, view};
use crate::domain::payment::{
    self as rules, Account, HashedLine, LineStatus, PaymentRefusal, RollState,
};
use crate::procedure::amount_out_of_range;
use crate::store::{self, LineRow, RollRow};

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
