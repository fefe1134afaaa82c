//! Paying assistance money: the roll's lifecycle (maker -> checker), the bank disbursement file
//! (format `CIVILPAY/1`, docs/payments/bank-file-v1.md), the bank's return file, and re-issue
//! of failed lines (RULES.md "Second round" §4; 一卡通 practice, 财办〔2020〕37号).
//!
//! Plain types and functions: the service loads and stores, these decide.

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

mod bank_file;
pub use bank_file::*;

#[cfg(test)]
mod tests;
