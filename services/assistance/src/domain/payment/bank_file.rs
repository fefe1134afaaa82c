//! The bank disbursement file (CIVILPAY/1, docs/payments/bank-file-v1.md) and the bank's
//! return file (CIVILPAYRET/1): writing, parsing, checking, and what follows for the lines.

use std::collections::{HashMap, HashSet};

use super::{
    Account, BANK_FILE_FORMAT, FILE_VERSION, PaymentRefusal, RETURN_FILE_FORMAT, RollState,
};

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
