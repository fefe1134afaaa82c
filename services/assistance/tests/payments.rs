//! gRPC tests of the PaymentRollService service (payment.proto), served by the assistance process:
//! SQLite by default, PostgreSQL when CIVIL_TEST_PG is set. Benefits are made the way a county
//! makes them (application to approval through the assistance API).

#[path = "support/checking_centre.rs"]
mod checking_centre;
#[path = "support/fixture.rs"]
mod fixture;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use assistance::domain::month::Month;
use contracts::civil::assistance::v1 as pb;
use contracts::civil::assistance::v1::payment_roll_service_client::PaymentRollServiceClient;
use kit::testing::Role;
use tonic::Code;
use tonic::transport::Channel;

use fixture::*;

const BIG: usize = 64 * 1024 * 1024;

fn pay(f: &Fixture) -> PaymentRollServiceClient<Channel> {
    PaymentRollServiceClient::new(f.suite.channel.clone())
        .max_decoding_message_size(BIG)
        .max_encoding_message_size(BIG)
}

fn checker(f: &Fixture) -> String {
    f.suite
        .token_for("approver-2", &[Role::CountyApprover], COUNTY)
}

/// A distinct valid identity number per `n`.
fn person(n: usize) -> String {
    let base = time::macros::date!(1960 - 01 - 01);
    let birth = base + time::Duration::days((n % 9000) as i64);
    let seq = 100 + n / 9000;
    let first17 = format!(
        "{COUNTY}{:04}{:02}{:02}{seq:03}",
        birth.year(),
        u8::from(birth.month()),
        birth.day()
    );
    format!("{first17}{}", civil_id::IdNumber::check_char(&first17))
}

/// A 低保 household of two (applicant and spouse, no income) approved today: paid from next
/// month. Returns (benefit id, spouse's identity number).
async fn benefit(f: &Fixture, n: usize) -> (String, String) {
    let (a, b) = (person(2 * n), person(2 * n + 1));
    let members = vec![
        member(&a, pb::Relationship::Applicant, 0),
        member(&b, pb::Relationship::Spouse, 0),
    ];
    let tag = format!("h{n}");
    let app_id = through_notice(f, &tag, members).await;
    (approve(f, &tag, &app_id).await.benefit_id, b)
}

async fn set_account(f: &Fixture, benefit_id: &str, tag: &str, number: &str) -> pb::PayeeAccount {
    pay(f)
        .set_payee_account(f.req(
            pb::SetPayeeAccountRequest {
                request_id: format!("acct-{tag}"),
                benefit_id: benefit_id.into(),
                bank_code: "402331000007".into(),
                account_number: number.into(),
                account_holder: "张三".into(),
            },
            &f.clerk,
        ))
        .await
        .expect("account")
        .into_inner()
}

/// `n` benefits with accounts, made 8 at a time.
async fn benefits_with_accounts(f: &Arc<Fixture>, n: usize) -> Vec<String> {
    let next = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let (f, next) = (f.clone(), next.clone());
            tokio::spawn(async move {
                let mut done = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break done;
                    }
                    let (id, _) = benefit(&f, i).await;
                    set_account(&f, &id, &format!("{i}"), &format!("62220200{i:08}")).await;
                    done.push(id);
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.expect("worker"));
    }
    all
}

async fn generate(f: &Fixture, tag: &str, month: Month) -> pb::Roll {
    pay(f)
        .generate_roll(f.req(
            pb::GenerateRollRequest {
                request_id: format!("gen-{tag}"),
                month: month.to_string(),
            },
            &f.approver,
        ))
        .await
        .expect("generate")
        .into_inner()
}

async fn submit(f: &Fixture, tag: &str, roll_id: &str) -> Result<pb::Roll, tonic::Status> {
    pay(f)
        .submit_roll(f.req(
            pb::SubmitRollRequest {
                request_id: format!("submit-{tag}"),
                roll_id: roll_id.into(),
            },
            &f.approver,
        ))
        .await
        .map(|r| r.into_inner())
}

async fn approve_roll(
    f: &Fixture,
    tag: &str,
    roll_id: &str,
    token: &str,
) -> Result<pb::Roll, tonic::Status> {
    pay(f)
        .approve_roll(f.req(
            pb::ApproveRollRequest {
                request_id: format!("approve-{tag}"),
                roll_id: roll_id.into(),
            },
            token,
        ))
        .await
        .map(|r| r.into_inner())
}

async fn export(f: &Fixture, tag: &str, roll_id: &str) -> pb::BankFile {
    pay(f)
        .export_bank_file(f.req(
            pb::ExportBankFileRequest {
                request_id: format!("export-{tag}"),
                roll_id: roll_id.into(),
            },
            &f.approver,
        ))
        .await
        .expect("export")
        .into_inner()
}

async fn import(
    f: &Fixture,
    tag: &str,
    roll_id: &str,
    content: &str,
) -> Result<pb::Roll, tonic::Status> {
    pay(f)
        .import_bank_return(f.req(
            pb::ImportBankReturnRequest {
                request_id: format!("import-{tag}"),
                roll_id: roll_id.into(),
                content: content.into(),
            },
            &f.approver,
        ))
        .await
        .map(|r| r.into_inner())
}

async fn get(f: &Fixture, roll_id: &str, lines: pb::LineStatus) -> pb::Roll {
    pay(f)
        .get_roll(f.req(
            pb::GetRollRequest {
                roll_id: roll_id.into(),
                lines_with_status: lines as i32,
            },
            &f.approver,
        ))
        .await
        .expect("get")
        .into_inner()
}

/// (line id, account number, amount) of each line of a bank file.
fn file_lines(file: &pb::BankFile) -> Vec<(String, String, i64)> {
    let rows: Vec<&str> = file.content.lines().collect();
    rows[1..rows.len() - 1]
        .iter()
        .map(|r| {
            let f: Vec<&str> = r.split('|').collect();
            (
                f[0].to_owned(),
                f[2].to_owned(),
                f[4].parse().expect("amount"),
            )
        })
        .collect()
}

/// The bank's return of a file: the lines whose ids are in `failed` returned.
fn bank_return(file: &pb::BankFile, failed: &[&str]) -> String {
    let lines = file_lines(file);
    let total: i64 = lines.iter().map(|l| l.2).sum();
    let failed_fen: i64 = lines
        .iter()
        .filter(|l| failed.contains(&l.0.as_str()))
        .map(|l| l.2)
        .sum();
    let mut out = format!("CIVILPAYRET|1|{}|{}|{total}\n", file.roll_id, lines.len());
    for (id, _, amount) in &lines {
        if failed.contains(&id.as_str()) {
            out.push_str(&format!("{id}|{amount}|FAILED|E05|账户已销户\n"));
        } else {
            out.push_str(&format!("{id}|{amount}|PAID\n"));
        }
    }
    out.push_str(&format!(
        "END|{}|{}|{failed_fen}\n",
        lines.len(),
        total - failed_fen
    ));
    out
}

/// Generated, submitted by approver-1, approved by approver-2, exported.
async fn through_export(f: &Fixture, tag: &str, month: Month) -> (pb::Roll, pb::BankFile) {
    let roll = generate(f, tag, month).await;
    submit(f, tag, &roll.id).await.expect("submit");
    let approved = approve_roll(f, tag, &roll.id, &checker(f))
        .await
        .expect("approve");
    let file = export(f, tag, &roll.id).await;
    (approved, file)
}

// ---------------------------------------------------------------- tests

#[tokio::test]
async fn a_roll_goes_from_draft_to_reconciled_behind_a_maker_and_another_checker() {
    let f = fixture().await;
    let (b1, _) = benefit(&f, 1).await;
    let (b2, _) = benefit(&f, 2).await;
    set_account(&f, &b1, "1", "6222020000000001").await;
    set_account(&f, &b2, "2", "6222020000000002").await;
    let month = Month::of(f.today).next();

    let clerk_tries = pay(&f)
        .generate_roll(f.req(
            pb::GenerateRollRequest {
                request_id: "gen-clerk".into(),
                month: month.to_string(),
            },
            &f.clerk,
        ))
        .await
        .expect_err("a clerk does not make the roll");
    assert_eq!(clerk_tries.code(), Code::PermissionDenied);

    let draft = generate(&f, "m", month).await;
    assert_eq!(draft.state, pb::RollState::Draft as i32);
    assert_eq!(draft.kind, pb::RollKind::Regular as i32);
    assert_eq!(draft.line_count, 2);
    assert!(draft.approved_hash.is_empty());

    let submitted = submit(&f, "m", &draft.id).await.expect("submit");
    assert_eq!(submitted.state, pb::RollState::Submitted as i32);
    assert_eq!(submitted.submitted_by, "approver-1");

    let own = approve_roll(&f, "own", &draft.id, &f.approver)
        .await
        .expect_err("maker is not checker");
    assert_eq!(own.code(), Code::FailedPrecondition);
    assert_eq!(reason(&own), "MAKER_CHECKER_SAME_PERSON");
    assert_eq!(
        get(&f, &draft.id, pb::LineStatus::Unspecified).await.state,
        pb::RollState::Submitted as i32
    );

    let early = pay(&f)
        .export_bank_file(f.req(
            pb::ExportBankFileRequest {
                request_id: "export-early".into(),
                roll_id: draft.id.clone(),
            },
            &f.approver,
        ))
        .await
        .expect_err("not approved yet");
    assert_eq!(reason(&early), "PAYMENT_ROLL_NOT_APPROVED");

    let approved = approve_roll(&f, "m", &draft.id, &checker(&f))
        .await
        .expect("approve");
    assert_eq!(approved.state, pb::RollState::Approved as i32);
    assert_eq!(approved.approved_by, "approver-2");
    assert_eq!(approved.approved_hash.len(), 64);

    let file = export(&f, "m", &draft.id).await;
    assert_eq!(file.format, "CIVILPAY/1");
    let rows: Vec<&str> = file.content.lines().collect();
    assert_eq!(
        rows[0],
        format!(
            "CIVILPAY|1|{}|{COUNTY}|{month}|regular|2|{}",
            draft.id, draft.total_fen
        )
    );
    assert_eq!(rows[3], format!("END|2|{}", draft.total_fen));
    let accounts: Vec<String> = file_lines(&file).into_iter().map(|l| l.1).collect();
    assert!(
        accounts.contains(&"6222020000000001".to_owned()),
        "the full account goes to the bank"
    );
    assert_eq!(
        get(&f, &draft.id, pb::LineStatus::Unspecified).await.state,
        pb::RollState::Exported as i32
    );
    let again = export(&f, "m-again", &draft.id).await;
    assert_eq!(again.content, file.content, "the same file again");

    let done = import(&f, "m", &draft.id, &bank_return(&file, &[]))
        .await
        .expect("import");
    assert_eq!(done.state, pb::RollState::Reconciled as i32);
    let rec = done.reconciliation.expect("reconciliation");
    assert_eq!(
        (
            rec.paid_lines,
            rec.paid_fen,
            rec.failed_lines,
            rec.paid_twice
        ),
        (2, draft.total_fen, 0, 0)
    );
}

#[tokio::test]
async fn a_draft_with_a_payee_without_an_account_is_not_submitted_until_generated_again() {
    let f = fixture().await;
    let (b1, _) = benefit(&f, 1).await;
    let month = Month::of(f.today).next();
    let draft = generate(&f, "1", month).await;
    assert_eq!(draft.lines_without_account, 1);
    let refused = submit(&f, "1", &draft.id).await.expect_err("no account");
    assert_eq!(reason(&refused), "PAYMENT_ROLL_ACCOUNTS_MISSING");
    set_account(&f, &b1, "1", "6222020000000001").await;
    let again = generate(&f, "2", month).await;
    assert_eq!(again.id, draft.id, "the month's draft, generated again");
    assert_eq!(again.lines_without_account, 0);
    submit(&f, "2", &draft.id).await.expect("submit");
    let bad = pay(&f)
        .set_payee_account(f.req(
            pb::SetPayeeAccountRequest {
                request_id: "acct-bad".into(),
                benefit_id: b1.clone(),
                bank_code: "x".into(),
                account_number: "12ab".into(),
                account_holder: String::new(),
            },
            &f.clerk,
        ))
        .await
        .expect_err("bad account");
    assert_eq!(
        kit::error::violated_fields(&bad),
        vec!["account_holder", "bank_code", "account_number"]
    );
}

#[tokio::test]
async fn a_benefit_changed_after_approval_reaches_only_the_next_roll() {
    let f = fixture().await;
    let (b1, spouse) = benefit(&f, 1).await;
    set_account(&f, &b1, "1", "6222020000000001").await;
    let month = Month::of(f.today).next();
    let (approved, file) = through_export(&f, "m", month).await;
    let before = file_lines(&file)[0].2;

    // Recorded today: in force from next month, the month of the approved roll.
    let change = pb::RecordIncomeChangeRequest {
        request_id: "income".into(),
        benefit_id: b1.clone(),
        member_id_number: spouse,
        incomes: vec![pb::IncomeItem {
            kind: pb::IncomeKind::Pension as i32,
            monthly_fen: 10_000,
        }],
        from_employment: false,
    };
    f.client()
        .record_income_change(f.req(change, &f.clerk))
        .await
        .expect("change");

    let same = generate(&f, "m-again", month).await;
    assert_eq!(same.id, approved.id);
    assert_eq!(
        same.approved_hash, approved.approved_hash,
        "the approved roll is frozen"
    );
    assert_eq!(same.total_fen, before);
    assert_eq!(
        export(&f, "m-again", &approved.id).await.content,
        file.content
    );

    let next = generate(&f, "next", month.next()).await;
    assert_eq!(
        next.total_fen,
        before - 10_000,
        "the change reaches the next roll"
    );
    let line = get(&f, &next.id, pb::LineStatus::Pending)
        .await
        .lines
        .remove(0);
    let why = pay(&f)
        .explain_line(f.req(
            pb::ExplainLineRequest {
                line_id: line.line_id.clone(),
            },
            &f.approver,
        ))
        .await
        .expect("explain")
        .into_inner();
    let last = why.last_change.expect("last change");
    assert_eq!(last.from_month, month.to_string());
    assert_eq!(last.monthly_amount_fen, before - 10_000);
    assert_eq!(last.decided_by, "clerk-1");
}

#[tokio::test]
async fn why_this_amount_names_the_policy_version_the_members_and_the_decision() {
    let f = fixture().await;
    let (b1, _) = benefit(&f, 1).await;
    set_account(&f, &b1, "1", "6222020000000001").await;
    let month = Month::of(f.today).next();
    let roll = generate(&f, "m", month).await;
    let line = get(&f, &roll.id, pb::LineStatus::Pending)
        .await
        .lines
        .remove(0);
    let why = pay(&f)
        .explain_line(f.req(
            pb::ExplainLineRequest {
                line_id: line.line_id.clone(),
            },
            &f.approver,
        ))
        .await
        .expect("explain")
        .into_inner();
    let policy = assistance::domain::policy::Policy::default_policy();
    let version = policy.in_force_for_month(month);
    assert_eq!(why.policy_version, version.id);
    assert_eq!(why.standard_fen, version.rural_standard_fen.get());
    assert_eq!(why.area, pb::AreaKind::Rural as i32);
    assert_eq!(why.members.len(), 2);
    let ids: Vec<&str> = why.members.iter().map(|m| m.id_number.as_str()).collect();
    assert_eq!(
        ids,
        [person(2), person(3)],
        "the county approver sees the members in full"
    );
    assert!(why.members.iter().all(|m| m.counted_income_fen == 0));
    assert_eq!(why.decided_by, "approver-1");
    assert!(!why.application_id.is_empty());
    assert_eq!(why.amount_fen, line.amount_fen);
    assert!(why.items.iter().any(|i| i.item == "gap"), "{:?}", why.items);
    assert_eq!(why.last_change.expect("approval").reason, "approved");
    assert_eq!(why.inputs_sha256.len(), 64);
    let clerk = pay(&f)
        .explain_line(f.req(
            pb::ExplainLineRequest {
                line_id: line.line_id,
            },
            &f.clerk,
        ))
        .await
        .expect_err("county approvers only");
    assert_eq!(clerk.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn a_return_file_imported_twice_is_refused_and_changes_nothing() {
    let f = fixture().await;
    for n in 1..=3 {
        let (b, _) = benefit(&f, n).await;
        set_account(&f, &b, &n.to_string(), &format!("622202000000000{n}")).await;
    }
    let (roll, file) = through_export(&f, "m", Month::of(f.today).next()).await;
    let first_line = file_lines(&file)[0].0.clone();
    let content = bank_return(&file, &[&first_line]);
    let once = import(&f, "1", &roll.id, &content).await.expect("import");
    assert_eq!(once.state, pb::RollState::PartlyFailed as i32);

    let twice = import(&f, "2", &roll.id, &content)
        .await
        .expect_err("twice");
    assert_eq!(reason(&twice), "PAYMENT_RETURN_ALREADY_IMPORTED");
    let other = import(&f, "3", &roll.id, &bank_return(&file, &[]))
        .await
        .expect_err("another file");
    assert_eq!(reason(&other), "PAYMENT_ROLL_ALREADY_RECONCILED");
    let after = get(&f, &roll.id, pb::LineStatus::Failed).await;
    assert_eq!(after.state, pb::RollState::PartlyFailed as i32);
    assert_eq!(after.reconciliation, once.reconciliation, "nothing changed");
    assert_eq!(after.lines.len(), 1);
    assert_eq!(after.lines[0].bank_code, "E05");
    assert_eq!(after.lines[0].bank_reason, "账户已销户");
}

#[tokio::test]
async fn a_wrong_return_file_is_refused_with_its_reason_and_changes_nothing() {
    let f = fixture().await;
    for n in 1..=2 {
        let (b, _) = benefit(&f, n).await;
        set_account(&f, &b, &n.to_string(), &format!("622202000000000{n}")).await;
    }
    let month = Month::of(f.today).next();
    let draft = generate(&f, "m", month).await;
    let not_exported = import(
        &f,
        "early",
        &draft.id,
        &format!("CIVILPAYRET|1|{}|0|0\nEND|0|0|0\n", draft.id),
    )
    .await
    .expect_err("not exported");
    assert_eq!(reason(&not_exported), "PAYMENT_ROLL_NOT_EXPORTED");
    submit(&f, "m", &draft.id).await.expect("submit");
    approve_roll(&f, "m", &draft.id, &checker(&f))
        .await
        .expect("approve");
    let file = export(&f, "m", &draft.id).await;
    let good = bank_return(&file, &[]);
    let lines = file_lines(&file);
    let (l1, a1) = (&lines[0].0, lines[0].2);
    let cases = [
        (
            "unknown",
            good.replacen(l1.as_str(), "00000000-0000-0000-0000-000000000000", 1),
            "PAYMENT_RETURN_UNKNOWN_LINE",
        ),
        (
            "duplicate",
            good.replacen(lines[1].0.as_str(), l1, 1),
            "PAYMENT_RETURN_DUPLICATE_LINE",
        ),
        (
            "totals",
            good.replace("END|2|", "END|3|"),
            "PAYMENT_RETURN_TOTALS_MISMATCH",
        ),
        (
            "amount",
            good.replacen(&format!("{l1}|{a1}|"), &format!("{l1}|{}|", a1 + 1), 1),
            "PAYMENT_RETURN_AMOUNT_MISMATCH",
        ),
        (
            "missing",
            good.lines()
                .filter(|r| !r.starts_with(l1.as_str()))
                .collect::<Vec<_>>()
                .join("\n"),
            "PAYMENT_RETURN_LINES_MISSING",
        ),
        (
            "roll",
            good.replacen(&draft.id, "another-roll", 1),
            "PAYMENT_RETURN_WRONG_ROLL",
        ),
    ];
    for (tag, content, expected) in cases {
        let refused = import(&f, tag, &draft.id, &content).await.expect_err(tag);
        assert_eq!(refused.code(), Code::FailedPrecondition, "{tag}");
        assert_eq!(reason(&refused), expected, "{tag}");
    }
    let malformed = import(&f, "bad", &draft.id, "hello")
        .await
        .expect_err("malformed");
    assert_eq!(malformed.code(), Code::InvalidArgument);
    let after = get(&f, &draft.id, pb::LineStatus::Unspecified).await;
    assert_eq!(after.state, pb::RollState::Exported as i32);
    assert_eq!(
        after.reconciliation.expect("r").pending_lines,
        2,
        "nothing changed"
    );
    let done = import(&f, "good", &draft.id, &good)
        .await
        .expect("the right file");
    assert_eq!(done.state, pb::RollState::Reconciled as i32);
}

/// [`fixture`] with a longer request deadline: one request carries the whole roll (5,000 lines in CI's PostgreSQL run),
/// and a debug build on a loaded machine may need more than the default 30 s.
async fn patient_fixture() -> Fixture {
    let centre = checking_centre::Centre::default();
    let url = checking_centre::start_centre(centre.clone()).await;
    let suite = kit::testing::spawn_with(&[assistance::SERVICE], |config| {
        config.upstreams.insert("checking_centre".into(), url);
        config.request_timeout_ms = 300_000;
    })
    .await;
    Fixture {
        clerk: suite.token_for("clerk-1", &[Role::TownshipClerk], TOWNSHIP),
        approver: suite.token_for("approver-1", &[Role::CountyApprover], COUNTY),
        service: suite.token_for("svc-onematter", &[Role::Service], ""),
        today: kit::today_cst(),
        suite,
        centre,
    }
}

/// Lines of the big roll: 1,000 by default (the README test command stays quick in a debug
/// build); `.ci/run` sets CIVIL_TEST_ROLL_LINES=5000 for the PostgreSQL run, the issue's size.
fn big_roll_lines() -> usize {
    std::env::var("CIVIL_TEST_ROLL_LINES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000)
        .max(3)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_failed_lines_of_a_big_roll_are_reissued_once_and_reconciled() {
    let f = Arc::new(patient_fixture().await);
    let n = big_roll_lines();
    benefits_with_accounts(&f, n).await;
    let month = Month::of(f.today).next();
    let (roll, file) = through_export(&f, "m", month).await;
    assert_eq!(roll.line_count as usize, n);
    let lines = file_lines(&file);
    let failed: Vec<&str> = [0, n / 2, n - 1]
        .iter()
        .map(|&i| lines[i].0.as_str())
        .collect();
    let partly = import(&f, "m", &roll.id, &bank_return(&file, &failed))
        .await
        .expect("import");
    assert_eq!(partly.state, pb::RollState::PartlyFailed as i32);
    let rec = partly.reconciliation.expect("r");
    assert_eq!((rec.paid_lines as usize, rec.failed_lines), (n - 3, 3));

    let supplementary = |tag: &'static str| {
        let f = f.clone();
        async move {
            pay(&f)
                .generate_supplementary_roll(f.req(
                    pb::GenerateSupplementaryRollRequest {
                        request_id: format!("supp-{tag}"),
                    },
                    &f.approver,
                ))
                .await
        }
    };
    let early = supplementary("early")
        .await
        .expect_err("accounts not corrected");
    assert_eq!(reason(&early), "PAYMENT_NOTHING_TO_REISSUE");

    // The accounts of the failed lines are corrected.
    let failed_lines = get(&f, &roll.id, pb::LineStatus::Failed).await.lines;
    for (k, l) in failed_lines.iter().enumerate() {
        let fixed = set_account(
            &f,
            &l.benefit_id,
            &format!("fix{k}"),
            &format!("62170000{k:08}"),
        )
        .await;
        assert_eq!(fixed.version, 2);
    }
    let supp = supplementary("1")
        .await
        .expect("supplementary")
        .into_inner();
    assert_eq!(supp.kind, pb::RollKind::Supplementary as i32);
    assert_eq!(supp.line_count, 3);
    let again = supplementary("2")
        .await
        .expect_err("each failed line is re-issued once");
    assert_eq!(reason(&again), "PAYMENT_NOTHING_TO_REISSUE");

    submit(&f, "s", &supp.id).await.expect("submit");
    approve_roll(&f, "s", &supp.id, &checker(&f))
        .await
        .expect("approve");
    let supp_file = export(&f, "s", &supp.id).await;
    let supp_lines = file_lines(&supp_file);
    assert!(
        supp_lines.iter().all(|l| l.1.starts_with("6217")),
        "paid into the corrected accounts"
    );
    let reissued = get(&f, &supp.id, pb::LineStatus::Pending).await.lines;
    let mut reissue_of: Vec<&str> = reissued.iter().map(|l| l.reissue_of.as_str()).collect();
    let mut expected = failed.clone();
    reissue_of.sort_unstable();
    expected.sort_unstable();
    assert_eq!(reissue_of, expected);
    assert!(reissued.iter().all(|l| l.for_month == month.to_string()));

    let done = import(&f, "s", &supp.id, &bank_return(&supp_file, &[]))
        .await
        .expect("import");
    assert_eq!(done.state, pb::RollState::Reconciled as i32);
    let original = get(&f, &roll.id, pb::LineStatus::Unspecified)
        .await
        .reconciliation
        .expect("r");
    let supp_rec = done.reconciliation.expect("r");
    assert_eq!(original.reissued_lines, 3);
    assert_eq!(original.failed_lines, 0);
    assert_eq!(
        original.paid_twice + supp_rec.paid_twice,
        0,
        "no benefit-month paid twice"
    );
    assert_eq!(
        original.paid_fen + supp_rec.paid_fen,
        roll.total_fen,
        "every fen of the roll paid once"
    );
}
