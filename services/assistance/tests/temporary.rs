//! 临时救助 amounts through gRPC (issue 19 item 7): expenditure type computed from the
//! out-of-pocket spending by the county's rate, and the household's yearly limit holding over
//! several grants. SQLite by default, PostgreSQL when CIVIL_TEST_PG is set.

#[path = "support/checking_centre.rs"]
mod checking_centre;
#[path = "support/fixture.rs"]
mod fixture;

use assistance::domain::policy::Policy;
use contracts::civil::assistance::v1 as pb;
use tonic::Code;

use fixture::*;

fn grant(
    tag: &str,
    members: Vec<pb::Member>,
    emergency: bool,
) -> pb::GrantTemporaryAssistanceRequest {
    pb::GrantTemporaryAssistanceRequest {
        request_id: format!("tmp-{tag}"),
        emergency,
        household: Some(household(members)),
        amount_fen: 0,
        circumstances: "住院自付费用".into(),
        out_of_pocket_fen: 0,
    }
}

async fn send(
    f: &Fixture,
    req: pb::GrantTemporaryAssistanceRequest,
    token: &str,
) -> Result<pb::Benefit, tonic::Status> {
    f.client()
        .grant_temporary_assistance(f.req(req, token))
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn grants_of_one_household_in_a_year_never_pass_the_yearly_limit_together() {
    let f = fixture().await;
    let version = Policy::default_policy().in_force_on(f.today).clone();
    let t = &version.temporary;
    let rate = t.expenditure_rate_percent.expect("example policy rate");
    let limit = t
        .household_yearly_limit_fen
        .expect("example policy limit")
        .get();
    let (emergency_max, expenditure_max) = (t.emergency_max_fen.get(), t.expenditure_max_fen.get());
    let (a, b, other) = (id("19700101", 81), id("19710202", 82), id("19720303", 83));
    let head = || member(&a, pb::Relationship::Applicant, 0);

    // 急难型 first, by the township: a stated amount.
    let mut first = grant("1", vec![head()], true);
    first.amount_fen = emergency_max;
    let g1 = send(&f, first, &f.clerk).await.expect("emergency grant");
    assert_eq!(g1.monthly_amount_fen, emergency_max);

    // 支出型 computed: spending x rate, at most the type's maximum.
    let mut second = grant("2", vec![head()], false);
    second.out_of_pocket_fen = 100_000;
    let g2 = send(&f, second, &f.approver).await.expect("computed");
    assert_eq!(g2.monthly_amount_fen, 100_000 * rate / 100);

    // A large spending: the type's maximum, not spending x rate.
    let mut big = grant("2b", vec![head()], false);
    big.out_of_pocket_fen = 2 * expenditure_max * 100 / rate;
    let g2b = send(&f, big, &f.approver)
        .await
        .expect("at the type's maximum");
    assert_eq!(g2b.monthly_amount_fen, expenditure_max);

    // The same household again (listed with the spouse): the next computed grant is cut to what
    // the yearly limit leaves.
    let left = limit - emergency_max - g2.monthly_amount_fen - expenditure_max;
    assert!(
        left > 0 && left < expenditure_max,
        "the example policy leaves a remainder"
    );
    let mut third = grant(
        "3",
        vec![head(), member(&b, pb::Relationship::Spouse, 0)],
        false,
    );
    third.out_of_pocket_fen = expenditure_max * 100 / rate;
    let g3 = send(&f, third, &f.approver)
        .await
        .expect("cut to the limit");
    assert_eq!(g3.monthly_amount_fen, left);
    assert_eq!(
        g1.monthly_amount_fen
            + g2.monthly_amount_fen
            + g2b.monthly_amount_fen
            + g3.monthly_amount_fen,
        limit
    );

    // Nothing is left: a computed grant, or a stated one through the spouse, is refused.
    let mut fourth = grant("4", vec![member(&b, pb::Relationship::Applicant, 0)], false);
    fourth.out_of_pocket_fen = 100_000;
    let err = send(&f, fourth, &f.approver)
        .await
        .expect_err("limit reached");
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "ASSISTANCE_TEMPORARY_YEARLY_LIMIT");
    let mut fifth = grant("5", vec![member(&b, pb::Relationship::Applicant, 0)], true);
    fifth.amount_fen = t.min_fen.get();
    let err = send(&f, fifth, &f.clerk).await.expect_err("limit reached");
    assert_eq!(reason(&err), "ASSISTANCE_TEMPORARY_YEARLY_LIMIT");

    // Another household is not affected.
    let mut elsewhere = grant(
        "6",
        vec![member(&other, pb::Relationship::Applicant, 0)],
        true,
    );
    elsewhere.amount_fen = emergency_max;
    send(&f, elsewhere, &f.clerk)
        .await
        .expect("another household");
}

#[tokio::test]
async fn out_of_pocket_spending_is_only_for_expenditure_grants_computed_by_the_county() {
    let f = fixture().await;
    let mut bad = grant(
        "b",
        vec![member(&id("19730404", 84), pb::Relationship::Applicant, 0)],
        true,
    );
    bad.out_of_pocket_fen = 100_000;
    bad.amount_fen = 50_000;
    let err = send(&f, bad, &f.clerk).await.expect_err("invalid");
    assert_eq!(err.code(), Code::InvalidArgument);
    let fields = kit::error::violated_fields(&err);
    assert!(
        fields.contains(&"out_of_pocket_fen".to_owned()),
        "{fields:?}"
    );
    assert!(fields.contains(&"amount_fen".to_owned()), "{fields:?}");
}

async fn settle(
    f: &Fixture,
    tag: &str,
    benefit_id: &str,
    completed: bool,
    note: &str,
) -> Result<pb::Benefit, tonic::Status> {
    let req = pb::SettleEmergencyGrantRequest {
        request_id: format!("settle-{tag}"),
        benefit_id: benefit_id.into(),
        completed,
        note: note.into(),
    };
    f.client()
        .settle_emergency_grant(f.req(req, &f.approver))
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn an_emergency_grant_paid_first_is_completed_or_recovered_by_the_county_once() {
    let f = fixture().await;
    let mut first = grant(
        "e1",
        vec![member(&id("19740505", 85), pb::Relationship::Applicant, 0)],
        true,
    );
    first.amount_fen = 100_000;
    let paid = send(&f, first, &f.clerk).await.expect("help first");
    assert_eq!(paid.paperwork, pb::EmergencyPaperwork::Pending as i32);

    // The township cannot settle; the county completes it.
    let req = pb::SettleEmergencyGrantRequest {
        request_id: "settle-clerk".into(),
        benefit_id: paid.id.clone(),
        completed: true,
        note: String::new(),
    };
    let denied = f
        .client()
        .settle_emergency_grant(f.req(req, &f.clerk))
        .await
        .expect_err("county only");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let done = settle(&f, "e1", &paid.id, true, "")
        .await
        .expect("completed");
    assert_eq!(done.paperwork, pb::EmergencyPaperwork::Completed as i32);
    assert_eq!(
        done.history.last().expect("history").reason,
        "paperwork completed"
    );
    let again = settle(&f, "e1b", &paid.id, false, "x")
        .await
        .expect_err("once");
    assert_eq!(reason(&again), "ASSISTANCE_PAPERWORK_SETTLED");

    // Another one is recovered, with the reason required.
    let mut second = grant(
        "e2",
        vec![member(&id("19750606", 86), pb::Relationship::Applicant, 0)],
        true,
    );
    second.amount_fen = 100_000;
    let paid = send(&f, second, &f.clerk).await.expect("help first");
    let bad = settle(&f, "e2-bad", &paid.id, false, "")
        .await
        .expect_err("reason");
    assert_eq!(bad.code(), Code::InvalidArgument);
    let recovered = settle(&f, "e2", &paid.id, false, "住院费用已由保险全额报销")
        .await
        .expect("recovered");
    assert_eq!(
        recovered.paperwork,
        pb::EmergencyPaperwork::Recovered as i32
    );
    assert!(
        recovered
            .history
            .last()
            .expect("h")
            .reason
            .contains("住院费用已由保险全额报销")
    );

    // An expenditure grant has no paperwork to settle.
    let mut third = grant(
        "e3",
        vec![member(&id("19760707", 87), pb::Relationship::Applicant, 0)],
        false,
    );
    third.amount_fen = 100_000;
    let spent = send(&f, third, &f.approver).await.expect("expenditure");
    assert_eq!(spent.paperwork, pb::EmergencyPaperwork::Unspecified as i32);
    let err = settle(&f, "e3", &spent.id, true, "")
        .await
        .expect_err("not emergency");
    assert_eq!(reason(&err), "ASSISTANCE_NOT_EMERGENCY");
}
