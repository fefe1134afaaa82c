use std::collections::{BTreeMap, HashMap};

use proptest::prelude::*;

use super::*;

fn account() -> Account {
    Account {
        bank_code: "402331000007".into(),
        number: "6222021234567890123".into(),
        holder: "张三".into(),
    }
}

fn return_file(roll_id: &str, lines: &[(&str, i64, bool)]) -> String {
    let total: i64 = lines.iter().map(|l| l.1).sum();
    let paid: i64 = lines.iter().filter(|l| l.2).map(|l| l.1).sum();
    let mut text = format!("CIVILPAYRET|1|{roll_id}|{}|{total}\n", lines.len());
    for (id, amount, ok) in lines {
        if *ok {
            text.push_str(&format!("{id}|{amount}|PAID\n"));
        } else {
            text.push_str(&format!("{id}|{amount}|FAILED|E05|账户已销户\n"));
        }
    }
    text.push_str(&format!("END|{}|{paid}|{}\n", lines.len(), total - paid));
    text
}

fn roll_lines(lines: &[(&str, i64)]) -> HashMap<String, i64> {
    lines.iter().map(|(id, a)| ((*id).to_owned(), *a)).collect()
}

fn checked(
    roll: &str,
    lines: &[(&str, i64)],
    text: &str,
) -> Result<Vec<ReturnLine>, PaymentRefusal> {
    let file = parse_return(text).expect("well formed");
    check_return(roll, &roll_lines(lines), &file).map(|v| v.into_iter().cloned().collect())
}

#[test]
fn only_a_draft_is_submitted() {
    assert_eq!(submit(RollState::Draft, 3, 0), Ok(()));
    assert_eq!(
        submit(RollState::Approved, 3, 0).map_err(|e| e.reason()),
        Err("PAYMENT_ROLL_NOT_DRAFT")
    );
}

#[test]
fn an_empty_roll_or_a_line_without_an_account_is_not_submitted() {
    assert_eq!(submit(RollState::Draft, 0, 0), Err(PaymentRefusal::Empty));
    assert_eq!(
        submit(RollState::Draft, 5, 2),
        Err(PaymentRefusal::AccountsMissing(2))
    );
}

#[test]
fn only_a_submitted_roll_is_approved() {
    assert_eq!(approve(RollState::Submitted), Ok(()));
    for state in [RollState::Draft, RollState::Approved, RollState::Reconciled] {
        assert!(matches!(
            approve(state),
            Err(PaymentRefusal::NotSubmitted(_))
        ));
    }
}

#[test]
fn approval_freezes_the_roll() {
    assert!(!RollState::Draft.is_frozen());
    assert!(!RollState::Submitted.is_frozen());
    assert!(RollState::Approved.is_frozen());
    assert!(RollState::PartlyFailed.is_frozen());
}

#[test]
fn the_bank_file_is_written_only_from_an_approved_roll_that_still_matches_its_hash() {
    assert_eq!(export(RollState::Approved, "h", "h"), Ok(()));
    assert_eq!(
        export(RollState::Exported, "h", "h"),
        Ok(()),
        "downloaded again"
    );
    assert!(matches!(
        export(RollState::Submitted, "h", "h"),
        Err(PaymentRefusal::NotApproved(_))
    ));
    assert_eq!(
        export(RollState::Approved, "h", "x"),
        Err(PaymentRefusal::Altered)
    );
}

#[test]
fn the_hash_covers_amounts_accounts_and_inputs() {
    let line = |amount, account, inputs| HashedLine {
        line_id: "L1",
        benefit_id: "B1",
        for_month: "2026-07",
        amount_fen: amount,
        policy_version: "v1",
        account,
        inputs_sha256: inputs,
        reissue_of: "",
    };
    let base = roll_hash("R", [line(100, "6222", "i")]);
    assert_eq!(base, roll_hash("R", [line(100, "6222", "i")]));
    assert_ne!(base, roll_hash("R", [line(101, "6222", "i")]));
    assert_ne!(base, roll_hash("R", [line(100, "6223", "i")]));
    assert_ne!(base, roll_hash("R", [line(100, "6222", "j")]));
    assert_ne!(base, roll_hash("S", [line(100, "6222", "i")]));
}

#[test]
fn the_bank_file_has_a_header_one_line_per_payee_and_a_trailer_with_the_total() {
    let a = account();
    let lines = [
        BankLine {
            line_id: "L1",
            account: &a,
            amount_fen: 120_000,
            program: "minimum_living",
            for_month: "2026-07",
        },
        BankLine {
            line_id: "L2",
            account: &a,
            amount_fen: 35_050,
            program: "extreme_poverty",
            for_month: "2026-07",
        },
    ];
    let header = BankFileHeader {
        roll_id: "R1",
        county: "330723",
        month: "2026-07",
        roll_kind: "regular",
    };
    let text = bank_file(&header, &lines).expect("fits");
    assert_eq!(
        text,
        "CIVILPAY|1|R1|330723|2026-07|regular|2|155050\n\
         L1|402331000007|6222021234567890123|张三|120000|minimum_living|2026-07\n\
         L2|402331000007|6222021234567890123|张三|35050|extreme_poverty|2026-07\n\
         END|2|155050\n"
    );
}

#[test]
fn an_account_is_masked_but_for_its_first_and_last_four_digits() {
    assert_eq!(account().masked(), "6222***********0123");
}

#[test]
fn an_account_with_letters_or_a_separator_in_the_name_is_refused() {
    let bad = Account {
        bank_code: "40a".into(),
        number: "12".into(),
        holder: "张|三".into(),
    };
    let fields: Vec<&str> = account_problems(&bad).iter().map(|p| p.0).collect();
    assert_eq!(fields, ["bank_code", "account_number", "account_holder"]);
    assert!(account_problems(&account()).is_empty());
}

#[test]
fn a_return_file_gives_each_line_paid_or_failed_with_the_banks_reason() {
    let lines = [("L1", 100), ("L2", 200)];
    let out = checked(
        "R",
        &lines,
        &return_file("R", &[("L1", 100, true), ("L2", 200, false)]),
    )
    .expect("ok");
    assert_eq!(out[0].outcome, Outcome::Paid);
    assert_eq!(
        out[1].outcome,
        Outcome::Failed {
            code: "E05".into(),
            reason: "账户已销户".into()
        }
    );
}

#[test]
fn a_malformed_return_file_reports_every_bad_line() {
    let problems =
        parse_return("CIVILPAYRET|1|R|x|0\nL1|abc|PAID\nL2|5|MAYBE\nEND|2|0|0\n").expect_err("bad");
    assert_eq!(problems.len(), 3, "{problems:?}");
}

#[test]
fn a_return_file_of_another_roll_is_refused() {
    let r = checked("R", &[("L1", 100)], &return_file("S", &[("L1", 100, true)]));
    assert_eq!(r.map_err(|e| e.reason()), Err("PAYMENT_RETURN_WRONG_ROLL"));
}

#[test]
fn an_unknown_line_is_refused() {
    let r = checked(
        "R",
        &[("L1", 100)],
        &return_file("R", &[("L1", 100, true), ("L9", 5, true)]),
    );
    assert_eq!(r, Err(PaymentRefusal::UnknownLine("L9".into())));
}

#[test]
fn a_duplicate_line_is_refused() {
    let r = checked(
        "R",
        &[("L1", 100), ("L2", 5)],
        &return_file("R", &[("L1", 100, true), ("L1", 100, false)]),
    );
    assert_eq!(r, Err(PaymentRefusal::DuplicateLine("L1".into())));
}

#[test]
fn a_missing_line_is_refused() {
    let r = checked(
        "R",
        &[("L1", 100), ("L2", 5)],
        &return_file("R", &[("L1", 100, true)]),
    );
    assert_eq!(r, Err(PaymentRefusal::LinesMissing(1, "L2".into())));
}

#[test]
fn an_amount_other_than_the_rolls_is_refused() {
    let r = checked("R", &[("L1", 100)], &return_file("R", &[("L1", 99, true)]));
    assert_eq!(r, Err(PaymentRefusal::AmountMismatch("L1".into(), 99, 100)));
}

#[test]
fn totals_that_do_not_add_up_are_refused() {
    let text = return_file("R", &[("L1", 100, true)]).replace("END|1|100|0", "END|1|90|10");
    let r = checked("R", &[("L1", 100)], &text);
    assert_eq!(
        r.map_err(|e| e.reason()),
        Err("PAYMENT_RETURN_TOTALS_MISMATCH")
    );
    let text = return_file("R", &[("L1", 100, true)])
        .replace("CIVILPAYRET|1|R|1|100", "CIVILPAYRET|1|R|1|1000");
    assert_eq!(
        checked("R", &[("L1", 100)], &text).map_err(|e| e.reason()),
        Err("PAYMENT_RETURN_TOTALS_MISMATCH")
    );
}

#[test]
fn a_roll_is_reconciled_when_every_line_is_paid_else_partly_failed() {
    let paid = ReturnLine {
        line_id: "L1".into(),
        amount_fen: 1,
        outcome: Outcome::Paid,
    };
    let failed = ReturnLine {
        line_id: "L2".into(),
        amount_fen: 1,
        outcome: Outcome::Failed {
            code: "E".into(),
            reason: String::new(),
        },
    };
    assert_eq!(state_after_return(&[&paid]), RollState::Reconciled);
    assert_eq!(
        state_after_return(&[&paid, &failed]),
        RollState::PartlyFailed
    );
}

#[test]
fn a_failed_line_is_reissued_only_after_its_account_was_corrected() {
    let failed = vec![
        FailedLine {
            line_id: "L1".into(),
            account_version_then: 1,
            account_version_now: Some(2),
        },
        FailedLine {
            line_id: "L2".into(),
            account_version_then: 1,
            account_version_now: Some(1),
        },
    ];
    let chosen: Vec<&str> = to_reissue(&failed)
        .expect("one")
        .iter()
        .map(|l| l.line_id.as_str())
        .collect();
    assert_eq!(chosen, ["L1"]);
    assert_eq!(
        to_reissue(&failed[1..]),
        Err(PaymentRefusal::NothingToReissue)
    );
}

// ------------------------------------------------------------------ property

/// One step of a county's year.
#[derive(Debug, Clone)]
enum Step {
    /// A benefit's amount changes (from the next roll made).
    Change { benefit: usize, amount: i64 },
    /// The month's roll is made, approved and paid; `fail` picks lines the bank returns.
    Roll { fail: Vec<bool> },
    /// A payee's account is corrected.
    Correct { benefit: usize },
    /// A supplementary roll of the failed lines with corrected accounts, paid; `fail` as above.
    Reissue { fail: Vec<bool> },
    /// A return file with a duplicated line is offered for the last roll.
    BadReturn,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0..4usize, 1..200_000i64).prop_map(|(benefit, amount)| Step::Change { benefit, amount }),
        prop::collection::vec(any::<bool>(), 4).prop_map(|fail| Step::Roll { fail }),
        (0..4usize).prop_map(|benefit| Step::Correct { benefit }),
        prop::collection::vec(any::<bool>(), 8).prop_map(|fail| Step::Reissue { fail }),
        Just(Step::BadReturn),
    ]
}

#[derive(Debug, Clone)]
struct Line {
    id: String,
    benefit: usize,
    month: u32,
    amount: i64,
    status: LineStatus,
    account_version: i64,
}

#[derive(Default)]
struct County {
    amounts: [i64; 4],
    accounts: [i64; 4],
    lines: Vec<Line>,
    rolls: Vec<Vec<usize>>,
    owed: BTreeMap<usize, i64>,
    month: u32,
}

impl County {
    /// Pays a roll (line indexes) through the bank file's return: `fail[i]` fails line i.
    fn pay(&mut self, roll: usize, fail: &[bool]) {
        let idx = self.rolls[roll].clone();
        let expected: HashMap<String, i64> = idx
            .iter()
            .map(|&i| (self.lines[i].id.clone(), self.lines[i].amount))
            .collect();
        let rows: Vec<(&str, i64, bool)> = idx
            .iter()
            .enumerate()
            .map(|(k, &i)| {
                (
                    self.lines[i].id.as_str(),
                    self.lines[i].amount,
                    !fail.get(k).copied().unwrap_or(false),
                )
            })
            .collect();
        let file = parse_return(&return_file(&format!("R{roll}"), &rows)).expect("well formed");
        let outcomes =
            check_return(&format!("R{roll}"), &expected, &file).expect("a true return is accepted");
        let by_id: HashMap<&str, &Outcome> = outcomes
            .iter()
            .map(|l| (l.line_id.as_str(), &l.outcome))
            .collect();
        for &i in &idx {
            self.lines[i].status = match by_id[self.lines[i].id.as_str()] {
                Outcome::Paid => LineStatus::Paid,
                Outcome::Failed { .. } => LineStatus::Failed,
            };
        }
    }

    fn new_line(&mut self, benefit: usize, month: u32, amount: i64) -> usize {
        let id = format!("L{}", self.lines.len());
        self.lines.push(Line {
            id,
            benefit,
            month,
            amount,
            status: LineStatus::Pending,
            account_version: self.accounts[benefit],
        });
        self.lines.len() - 1
    }

    fn reissue(&mut self, fail: &[bool]) {
        let failed: Vec<FailedLine> = self
            .lines
            .iter()
            .filter(|l| l.status == LineStatus::Failed)
            .map(|l| FailedLine {
                line_id: l.id.clone(),
                account_version_then: l.account_version,
                account_version_now: Some(self.accounts[l.benefit]),
            })
            .collect();
        let Ok(chosen) = to_reissue(&failed) else {
            return;
        };
        let chosen: Vec<String> = chosen.iter().map(|l| l.line_id.clone()).collect();
        let mut roll = Vec::new();
        for id in chosen {
            let i = self.lines.iter().position(|l| l.id == id).expect("known");
            self.lines[i].status = LineStatus::Reissued;
            let (b, m, a) = (
                self.lines[i].benefit,
                self.lines[i].month,
                self.lines[i].amount,
            );
            roll.push(self.new_line(b, m, a));
        }
        self.rolls.push(roll);
        self.pay(self.rolls.len() - 1, fail);
    }
}

proptest! {
    #[test]
    fn every_fen_owed_is_paid_once_whatever_fails_and_is_reissued(
        start in prop::array::uniform4(1..200_000i64),
        steps in prop::collection::vec(step(), 1..40),
    ) {
        let mut county = County { amounts: start, ..Default::default() };
        for s in steps {
            match s {
                Step::Change { benefit, amount } => county.amounts[benefit] = amount,
                Step::Roll { fail } => {
                    county.month += 1;
                    let month = county.month;
                    // Approval freezes the amounts: what is owed for the month is the roll's.
                    let roll: Vec<usize> = (0..4).map(|b| {
                        let amount = county.amounts[b];
                        *county.owed.entry(b).or_default() += amount;
                        county.new_line(b, month, amount)
                    }).collect();
                    county.rolls.push(roll);
                    county.pay(county.rolls.len() - 1, &fail);
                }
                Step::Correct { benefit } => county.accounts[benefit] += 1,
                Step::Reissue { fail } => county.reissue(&fail),
                Step::BadReturn => {
                    if let Some(roll) = county.rolls.last() {
                        let before: Vec<LineStatus> = county.lines.iter().map(|l| l.status).collect();
                        let first = &county.lines[roll[0]];
                        let expected: HashMap<String, i64> = roll.iter().map(|&i| (county.lines[i].id.clone(), county.lines[i].amount)).collect();
                        let mut rows: Vec<(&str, i64, bool)> = roll.iter().map(|&i| (county.lines[i].id.as_str(), county.lines[i].amount, true)).collect();
                        rows.push((first.id.as_str(), first.amount, true));
                        let name = format!("R{}", county.rolls.len() - 1);
                        let file = parse_return(&return_file(&name, &rows)).expect("parses");
                        let refused = check_return(&name, &expected, &file).is_err();
                        prop_assert!(refused, "a file with a duplicate line is refused");
                        let after: Vec<LineStatus> = county.lines.iter().map(|l| l.status).collect();
                        prop_assert_eq!(before, after, "a refused file changes nothing");
                    }
                }
            }
        }
        // Every account corrected, re-issued until the bank pays everything.
        for b in 0..4 { county.accounts[b] += 1; }
        county.reissue(&[]);
        let mut paid_per_person: BTreeMap<usize, i64> = BTreeMap::new();
        let mut paid_per_month: BTreeMap<(usize, u32), usize> = BTreeMap::new();
        for l in county.lines.iter().filter(|l| l.status == LineStatus::Paid) {
            *paid_per_person.entry(l.benefit).or_default() += l.amount;
            *paid_per_month.entry((l.benefit, l.month)).or_default() += 1;
        }
        prop_assert_eq!(&paid_per_person, &county.owed.iter().filter(|(_, v)| **v > 0).map(|(k, v)| (*k, *v)).collect::<BTreeMap<_, _>>());
        prop_assert!(paid_per_month.values().all(|&n| n == 1), "no benefit-month paid twice");
        prop_assert_eq!(paid_per_month.len(), 4 * county.month as usize);
    }
}
