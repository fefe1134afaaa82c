//! Paying assistance money: the roll's lifecycle (maker -> checker), the bank disbursement file
//! (format `CIVILPAY/1`, docs/payments/bank-file-v1.md), the bank's return file, and re-issue
//! of failed lines (RULES.md "Second round" §4; 一卡通 practice, 财办〔2020〕37号).
//!
//! Plain types and functions: the service loads and stores, these decide.

use std::collections::{HashMap, HashSet};

use sha2::{Digest, Sha256};

/// Version tag of the bank disbursement file this module writes.
pub const BANK_FILE_FORMAT: &str = "CIVILPAY";
/// Version tag of the bank return file this module reads.
pub const RETURN_FILE_FORMAT: &str = "CIVILPAYRET";
/// The format version of both files.
pub const FILE_VERSION: &str = "1";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RollState {
    Draft,
    Submitted,
    Approved,
    Exported,
    Reconciled,
    PartlyFailed,
}

impl RollState {
    pub fn as_str(self) -> &'static str {
        match self {
            RollState::Draft => "draft",
            RollState::Submitted => "submitted",
            RollState::Approved => "approved",
            RollState::Exported => "exported",
            RollState::Reconciled => "reconciled",
            RollState::PartlyFailed => "partly_failed",
        }
    }

    pub fn parse(text: &str) -> Option<RollState> {
        [
            RollState::Draft,
            RollState::Submitted,
            RollState::Approved,
            RollState::Exported,
            RollState::Reconciled,
            RollState::PartlyFailed,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }

    /// Whether the roll is frozen: approved or later. A frozen roll is never generated again.
    pub fn is_frozen(self) -> bool {
        !matches!(self, RollState::Draft | RollState::Submitted)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineStatus {
    Pending,
    Paid,
    Failed,
    /// Failed, then put on a supplementary roll.
    Reissued,
}

impl LineStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LineStatus::Pending => "pending",
            LineStatus::Paid => "paid",
            LineStatus::Failed => "failed",
            LineStatus::Reissued => "reissued",
        }
    }

    pub fn parse(text: &str) -> Option<LineStatus> {
        [
            LineStatus::Pending,
            LineStatus::Paid,
            LineStatus::Failed,
            LineStatus::Reissued,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// Why a step of the payment procedure is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentRefusal {
    #[error("the roll is {0}; only a draft can be submitted")]
    NotDraft(&'static str),
    #[error("the roll has no lines")]
    Empty,
    #[error(
        "{0} line(s) have no account to pay into; record the accounts and generate the draft again"
    )]
    AccountsMissing(usize),
    #[error("the roll is {0}; only a submitted roll can be approved")]
    NotSubmitted(&'static str),
    #[error("the roll is {0}; only an approved roll can be exported")]
    NotApproved(&'static str),
    #[error("the roll's lines no longer match the hash fixed at approval")]
    Altered,
    #[error("the roll is {0}; a return file is imported for an exported roll")]
    NotExported(&'static str),
    #[error("this return file was already imported")]
    AlreadyImported,
    #[error("the roll's return file was already imported; a different file is refused")]
    AlreadyReconciled,
    #[error("the return file is for roll {0}, not this one")]
    WrongRoll(String),
    #[error("line {0} of the return file is not a line of this roll")]
    UnknownLine(String),
    #[error("line {0} appears more than once in the return file")]
    DuplicateLine(String),
    #[error("{0} line(s) of the roll are missing from the return file, e.g. {1}")]
    LinesMissing(usize, String),
    #[error("line {0}: the return file says {1} fen, the roll {2} fen")]
    AmountMismatch(String, i64, i64),
    #[error("the return file's totals do not match its lines: {0}")]
    TotalsMismatch(String),
    #[error("no failed line has a corrected account to re-issue")]
    NothingToReissue,
}

impl PaymentRefusal {
    /// The stable ErrorInfo reason, as documented in payment.proto.
    pub fn reason(&self) -> &'static str {
        match self {
            PaymentRefusal::NotDraft(_) => "PAYMENT_ROLL_NOT_DRAFT",
            PaymentRefusal::Empty => "PAYMENT_ROLL_EMPTY",
            PaymentRefusal::AccountsMissing(_) => "PAYMENT_ROLL_ACCOUNTS_MISSING",
            PaymentRefusal::NotSubmitted(_) => "PAYMENT_ROLL_NOT_SUBMITTED",
            PaymentRefusal::NotApproved(_) => "PAYMENT_ROLL_NOT_APPROVED",
            PaymentRefusal::Altered => "PAYMENT_ROLL_ALTERED",
            PaymentRefusal::NotExported(_) => "PAYMENT_ROLL_NOT_EXPORTED",
            PaymentRefusal::AlreadyImported => "PAYMENT_RETURN_ALREADY_IMPORTED",
            PaymentRefusal::AlreadyReconciled => "PAYMENT_ROLL_ALREADY_RECONCILED",
            PaymentRefusal::WrongRoll(_) => "PAYMENT_RETURN_WRONG_ROLL",
            PaymentRefusal::UnknownLine(_) => "PAYMENT_RETURN_UNKNOWN_LINE",
            PaymentRefusal::DuplicateLine(_) => "PAYMENT_RETURN_DUPLICATE_LINE",
            PaymentRefusal::LinesMissing(..) => "PAYMENT_RETURN_LINES_MISSING",
            PaymentRefusal::AmountMismatch(..) => "PAYMENT_RETURN_AMOUNT_MISMATCH",
            PaymentRefusal::TotalsMismatch(_) => "PAYMENT_RETURN_TOTALS_MISMATCH",
            PaymentRefusal::NothingToReissue => "PAYMENT_NOTHING_TO_REISSUE",
        }
    }
}

/// Maker: a draft with lines, every one with an account, is submitted for checking.
pub fn submit(
    state: RollState,
    lines: usize,
    without_account: usize,
) -> Result<(), PaymentRefusal> {
    if state != RollState::Draft {
        return Err(PaymentRefusal::NotDraft(state.as_str()));
    }
    if lines == 0 {
        return Err(PaymentRefusal::Empty);
    }
    if without_account > 0 {
        return Err(PaymentRefusal::AccountsMissing(without_account));
    }
    Ok(())
}

/// Checker: only a submitted roll is approved (that the checker is another person is checked
/// by `auth::ensure_different_person`).
pub fn approve(state: RollState) -> Result<(), PaymentRefusal> {
    if state != RollState::Submitted {
        return Err(PaymentRefusal::NotSubmitted(state.as_str()));
    }
    Ok(())
}

/// The bank file is written from an approved roll whose lines still hash to the approved hash;
/// an exported roll gives the same file again.
pub fn export(state: RollState, approved_hash: &str, hash_now: &str) -> Result<(), PaymentRefusal> {
    if !matches!(state, RollState::Approved | RollState::Exported) {
        return Err(PaymentRefusal::NotApproved(state.as_str()));
    }
    if approved_hash != hash_now {
        return Err(PaymentRefusal::Altered);
    }
    Ok(())
}

/// What the approval hash covers of one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashedLine<'a> {
    pub line_id: &'a str,
    pub benefit_id: &'a str,
    pub for_month: &'a str,
    pub amount_fen: i64,
    pub policy_version: &'a str,
    /// The account as held (plain text), empty when none.
    pub account: &'a str,
    /// SHA-256 of the line's inputs (household, computation, decision).
    pub inputs_sha256: &'a str,
    pub reissue_of: &'a str,
}

/// SHA-256 (hex) over the roll id and its lines in order: any change of a line, an amount, an
/// account or an input changes it.
pub fn roll_hash<'a>(roll_id: &str, lines: impl IntoIterator<Item = HashedLine<'a>>) -> String {
    let mut h = Sha256::new();
    h.update(roll_id.as_bytes());
    h.update([0]);
    for l in lines {
        for field in [
            l.line_id,
            l.benefit_id,
            l.for_month,
            &l.amount_fen.to_string(),
            l.policy_version,
            l.account,
            l.inputs_sha256,
            l.reissue_of,
        ] {
            h.update(field.as_bytes());
            h.update([0x1f]);
        }
        h.update([0x1e]);
    }
    hex::encode(h.finalize())
}

/// SHA-256 (hex) of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The account a payee is paid into (一卡通).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Account {
    /// The bank's institution code (e.g. the 12-digit CNAPS code of the branch).
    pub bank_code: String,
    pub number: String,
    /// The account holder's name, as the bank holds it.
    pub holder: String,
}

impl Account {
    /// `6222********1234`: first 4 and last 4 digits.
    pub fn masked(&self) -> String {
        let n = self.number.chars().count();
        if n <= 8 {
            return "*".repeat(n);
        }
        let head: String = self.number.chars().take(4).collect();
        let tail: String = self.number.chars().skip(n - 4).collect();
        format!("{head}{}{tail}", "*".repeat(n - 8))
    }
}

/// Problems of an account as entered: digits only, lengths, and no field separator.
pub fn account_problems(a: &Account) -> Vec<(&'static str, &'static str)> {
    let mut v = Vec::new();
    if !(a.bank_code.len() >= 3
        && a.bank_code.len() <= 12
        && a.bank_code.chars().all(|c| c.is_ascii_digit()))
    {
        v.push(("bank_code", "must be 3-12 digits"));
    }
    if !(a.number.len() >= 8
        && a.number.len() <= 32
        && a.number.chars().all(|c| c.is_ascii_digit()))
    {
        v.push(("account_number", "must be 8-32 digits"));
    }
    if a.holder.contains('|') {
        v.push(("account_holder", "must not contain '|'"));
    }
    v
}

/// One line of the bank file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankLine<'a> {
    pub line_id: &'a str,
    pub account: &'a Account,
    pub amount_fen: i64,
    /// The program code (`minimum_living`, `extreme_poverty`).
    pub program: &'a str,
    pub for_month: &'a str,
}

/// The header of the bank file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankFileHeader<'a> {
    pub roll_id: &'a str,
    pub county: &'a str,
    pub month: &'a str,
    pub roll_kind: &'a str,
}

/// Writes the bank disbursement file, format CIVILPAY/1 (docs/payments/bank-file-v1.md):
/// a header, one line per payee, a trailer with the count and total.
pub fn bank_file(
    header: &BankFileHeader<'_>,
    lines: &[BankLine<'_>],
) -> Result<String, money::Overflow> {
    let total = money::Fen::try_sum(lines.iter().map(|l| money::Fen::new(l.amount_fen)))?;
    let mut out = String::with_capacity(64 + lines.len() * 96);
    out.push_str(&format!(
        "{BANK_FILE_FORMAT}|{FILE_VERSION}|{}|{}|{}|{}|{}|{}\n",
        header.roll_id,
        header.county,
        header.month,
        header.roll_kind,
        lines.len(),
        total.get()
    ));
    for l in lines {
        out.push_str(&format!(
            "{}|{}|{}|{}|{}|{}|{}\n",
            l.line_id,
            l.account.bank_code,
            l.account.number,
            l.account.holder,
            l.amount_fen,
            l.program,
            l.for_month
        ));
    }
    out.push_str(&format!("END|{}|{}\n", lines.len(), total.get()));
    Ok(out)
}

/// What the bank says of one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Paid,
    Failed { code: String, reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnLine {
    pub line_id: String,
    pub amount_fen: i64,
    pub outcome: Outcome,
}

/// A parsed return file (CIVILPAYRET/1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnFile {
    pub roll_id: String,
    pub header_count: i64,
    pub header_total_fen: i64,
    pub lines: Vec<ReturnLine>,
    pub trailer_count: i64,
    pub trailer_paid_fen: i64,
    pub trailer_failed_fen: i64,
}

/// Parses a return file; every malformed line is reported (`line N: ...`).
pub fn parse_return(text: &str) -> Result<ReturnFile, Vec<String>> {
    let mut problems = Vec::new();
    let rows: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if rows.len() < 2 {
        return Err(vec!["a return file has a header and a trailer".into()]);
    }
    let int = |s: &str, what: &str, n: usize, problems: &mut Vec<String>| -> i64 {
        s.trim().parse::<i64>().unwrap_or_else(|_| {
            problems.push(format!("line {n}: {what} must be an integer"));
            0
        })
    };
    let head: Vec<&str> = rows[0].split('|').collect();
    let mut file = ReturnFile {
        roll_id: String::new(),
        header_count: 0,
        header_total_fen: 0,
        lines: Vec::new(),
        trailer_count: 0,
        trailer_paid_fen: 0,
        trailer_failed_fen: 0,
    };
    if head.len() != 5 || head[0] != RETURN_FILE_FORMAT || head[1] != FILE_VERSION {
        problems.push(format!(
            "line 1: the header must be {RETURN_FILE_FORMAT}|{FILE_VERSION}|roll_id|count|total_fen"
        ));
    } else {
        file.roll_id = head[2].to_owned();
        file.header_count = int(head[3], "the count", 1, &mut problems);
        file.header_total_fen = int(head[4], "the total", 1, &mut problems);
    }
    let last = rows.len() - 1;
    let tail: Vec<&str> = rows[last].split('|').collect();
    if tail.len() != 4 || tail[0] != "END" {
        problems.push(format!(
            "line {}: the trailer must be END|count|paid_fen|failed_fen",
            last + 1
        ));
    } else {
        file.trailer_count = int(tail[1], "the count", last + 1, &mut problems);
        file.trailer_paid_fen = int(tail[2], "the paid total", last + 1, &mut problems);
        file.trailer_failed_fen = int(tail[3], "the failed total", last + 1, &mut problems);
    }
    for (i, row) in rows.iter().enumerate().take(last).skip(1) {
        let n = i + 1;
        let f: Vec<&str> = row.split('|').collect();
        let outcome = match f.as_slice() {
            [_, _, "PAID"] | [_, _, "PAID", ""] => Outcome::Paid,
            [_, _, "FAILED", code, reason] if !code.trim().is_empty() => Outcome::Failed {
                code: code.trim().to_owned(),
                reason: reason.trim().to_owned(),
            },
            _ => {
                problems.push(format!(
                    "line {n}: a line is line_id|amount_fen|PAID or line_id|amount_fen|FAILED|code|reason"
                ));
                continue;
            }
        };
        let amount_fen = int(f[1], "the amount", n, &mut problems);
        file.lines.push(ReturnLine {
            line_id: f[0].trim().to_owned(),
            amount_fen,
            outcome,
        });
    }
    if problems.is_empty() {
        Ok(file)
    } else {
        Err(problems)
    }
}

/// Checks a return file against the roll's lines (id -> amount) and gives each line's outcome.
/// Refused as a whole, nothing applied: another roll's file, an unknown or duplicate line, a
/// missing line, an amount or a total that does not match.
pub fn check_return<'f>(
    roll_id: &str,
    roll_lines: &HashMap<String, i64>,
    file: &'f ReturnFile,
) -> Result<Vec<&'f ReturnLine>, PaymentRefusal> {
    if file.roll_id != roll_id {
        return Err(PaymentRefusal::WrongRoll(file.roll_id.clone()));
    }
    let mut seen = HashSet::with_capacity(file.lines.len());
    let (mut paid, mut failed, mut all) = (0i64, 0i64, 0i64);
    for line in &file.lines {
        let Some(&amount) = roll_lines.get(&line.line_id) else {
            return Err(PaymentRefusal::UnknownLine(line.line_id.clone()));
        };
        if !seen.insert(line.line_id.as_str()) {
            return Err(PaymentRefusal::DuplicateLine(line.line_id.clone()));
        }
        if line.amount_fen != amount {
            return Err(PaymentRefusal::AmountMismatch(
                line.line_id.clone(),
                line.amount_fen,
                amount,
            ));
        }
        let sum = |acc: i64| {
            acc.checked_add(amount)
                .ok_or_else(|| PaymentRefusal::TotalsMismatch("the amounts overflow".into()))
        };
        all = sum(all)?;
        match line.outcome {
            Outcome::Paid => paid = sum(paid)?,
            Outcome::Failed { .. } => failed = sum(failed)?,
        }
    }
    if seen.len() < roll_lines.len() {
        let mut missing: Vec<&String> = roll_lines
            .keys()
            .filter(|k| !seen.contains(k.as_str()))
            .collect();
        missing.sort();
        return Err(PaymentRefusal::LinesMissing(
            roll_lines.len() - seen.len(),
            missing.first().map(|s| s.to_string()).unwrap_or_default(),
        ));
    }
    let count = i64::try_from(file.lines.len()).unwrap_or(i64::MAX);
    let mut wrong = Vec::new();
    if file.header_count != count || file.trailer_count != count {
        wrong.push(format!(
            "{count} lines, the header says {}, the trailer {}",
            file.header_count, file.trailer_count
        ));
    }
    if file.header_total_fen != all {
        wrong.push(format!(
            "total {all} fen, the header says {}",
            file.header_total_fen
        ));
    }
    if file.trailer_paid_fen != paid || file.trailer_failed_fen != failed {
        wrong.push(format!(
            "paid {paid} / failed {failed} fen, the trailer says {} / {}",
            file.trailer_paid_fen, file.trailer_failed_fen
        ));
    }
    if !wrong.is_empty() {
        return Err(PaymentRefusal::TotalsMismatch(wrong.join("; ")));
    }
    Ok(file.lines.iter().collect())
}

/// The roll's state once its return is applied: reconciled when every line was paid.
pub fn state_after_return(outcomes: &[&ReturnLine]) -> RollState {
    if outcomes.iter().all(|l| l.outcome == Outcome::Paid) {
        RollState::Reconciled
    } else {
        RollState::PartlyFailed
    }
}

/// A failed line, and the version of its benefit's account then and now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedLine {
    pub line_id: String,
    pub account_version_then: i64,
    pub account_version_now: Option<i64>,
}

/// The failed lines to re-issue: those whose account was corrected since (RULES.md §4: failed
/// lines are re-issued after both check again). A line is re-issued once (the store's unique
/// index on `reissue_of` holds it).
pub fn to_reissue(failed: &[FailedLine]) -> Result<Vec<&FailedLine>, PaymentRefusal> {
    let chosen: Vec<&FailedLine> = failed
        .iter()
        .filter(|l| {
            l.account_version_now
                .is_some_and(|now| now > l.account_version_then)
        })
        .collect();
    if chosen.is_empty() {
        return Err(PaymentRefusal::NothingToReissue);
    }
    Ok(chosen)
}

#[cfg(test)]
mod tests;
