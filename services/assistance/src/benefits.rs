//! Effects on benefits: income changes, terminations and temporary assistance; each invalidates
//! the cached recipient status of the members in its own transaction.

use contracts::civil::assistance::v1 as pb;
use kit::ServiceError;
use kit::rpc::Call;

use crate::api::{refuse, status_key};
use crate::convert::kind_to_proto;
use crate::domain::allowance::{AmountLine, Computation};
use crate::domain::benefit::{
    self, BenefitKind, ChangeError, IncomeChangeOutcome, TerminationReason, Terms,
};
use crate::domain::household::{Household, Income};
use crate::domain::month::Month;
use crate::domain::policy::Policy;
use crate::domain::temporary::{TemporaryType, YearlyRefusal, check_stated, expenditure_amount};
use crate::procedure::{amount_out_of_range, covered_indexes, not_in_future};
use crate::records::{BenefitRecord, BenefitState, TerminationRecord, fmt_date};
use crate::store;

pub(crate) fn change_error(e: ChangeError) -> ServiceError {
    let reason = match e {
        ChangeError::NotAMember => "ASSISTANCE_NOT_A_MEMBER",
        ChangeError::Ended => "ASSISTANCE_BENEFIT_ENDED",
        ChangeError::InPhaseOut => "ASSISTANCE_IN_PHASE_OUT",
        ChangeError::NotApplicable => "ASSISTANCE_NOT_APPLICABLE",
        ChangeError::AmountOutOfRange => "ASSISTANCE_AMOUNT_OUT_OF_RANGE",
    };
    refuse(reason, e.to_string())
}

/// Records, in the write's transaction, that these people's cached status is stale.
pub(crate) async fn forget_statuses(c: &mut Call, indexes: &[String]) -> Result<(), ServiceError> {
    let cache = c.rpc().cache().clone();
    for index in indexes {
        cache.invalidate_durably(c.db(), &status_key(index)).await?;
    }
    Ok(())
}

/// [`forget_statuses`] of every member a benefit covers.
pub(crate) async fn forget_benefit(c: &mut Call, benefit_id: &str) -> Result<(), ServiceError> {
    let indexes = store::member_indexes(c.db(), benefit_id).await?;
    forget_statuses(c, &indexes).await
}

/// Loads a benefit and checks the caller's region scope covers it; names it as the audited
/// object.
pub(crate) async fn benefit_in_scope(
    c: &mut Call,
    roles: &[auth::Role],
    id: &str,
) -> Result<BenefitRecord, ServiceError> {
    let sealer = c.sealer().clone();
    let rec = store::load_benefit(c.db(), &sealer, id).await?;
    c.authorize(roles, Some(rec.region()))?;
    c.object(rec.id.clone());
    Ok(rec)
}

/// Stores a changed benefit with its event; invalidates its members' status.
pub(crate) async fn save_change(
    c: &mut Call,
    rec: &BenefitRecord,
    from: Month,
    reason: &str,
) -> Result<(), ServiceError> {
    record_change(c, rec, from, reason).await?;
    let sealer = c.sealer().clone();
    let now = c.now_ms();
    store::update_benefit(c.db(), &sealer, rec, now).await?;
    forget_benefit(c, &rec.id).await
}

/// A reported income change of one member (审核确认办法 art. 27; 渐退 after income from work).
pub(crate) struct IncomeChange {
    pub member: civil_id::IdNumber,
    pub incomes: Vec<Income>,
    pub from_employment: bool,
}

/// Applies an income change: recomputed, phase-out, or lapsed.
pub(crate) fn income_change(
    rec: &mut BenefitRecord,
    policy: &Policy,
    change: IncomeChange,
    subject: &str,
    today: time::Date,
) -> Result<(Month, &'static str), ServiceError> {
    let outcome = benefit::record_income_change(
        &mut rec.terms,
        policy,
        change.member.as_str(),
        change.incomes,
        change.from_employment,
        today,
    )
    .map_err(change_error)?;
    let (from, reason) = match outcome {
        IncomeChangeOutcome::Recomputed { from, .. } => (from, "income change"),
        IncomeChangeOutcome::PhaseOut { from, .. } => {
            rec.state = BenefitState::PhaseOut;
            (from, "phase-out after income from work")
        }
        IncomeChangeOutcome::Lapsed { from } => {
            rec.state = BenefitState::Terminated;
            rec.termination = Some(TerminationRecord {
                reason: TerminationReason::Lapsed,
                effective_month: from,
                decided_by: subject.to_owned(),
                note: "income no longer below the standard".into(),
            });
            (from, "lapsed")
        }
    };
    if let Some(computation) = rec
        .terms
        .amount_for(policy, from)
        .map_err(|_| amount_out_of_range())?
    {
        rec.computation = computation;
    }
    rec.record_history(from, reason, subject, today);
    Ok((from, reason))
}

/// Publishes BenefitTerminated when the benefit ended, else BenefitChanged.
async fn record_change(
    c: &mut Call,
    rec: &BenefitRecord,
    from: Month,
    reason: &str,
) -> Result<(), ServiceError> {
    if let Some(t) = rec
        .termination
        .as_ref()
        .filter(|_| rec.state == BenefitState::Terminated)
    {
        let event = pb::BenefitTerminated {
            benefit_id: rec.id.clone(),
            reason: termination_reason_to_i32(t.reason),
            effective_month: t.effective_month.to_string(),
        };
        c.publish(
            "assistance.benefit_terminated",
            "civil.assistance.v1.BenefitTerminated",
            &rec.id,
            &event,
        )
        .await
    } else {
        let event = pb::BenefitChanged {
            benefit_id: rec.id.clone(),
            from_month: from.to_string(),
            monthly_amount_fen: rec.computation.total_fen.get(),
            reason: reason.to_owned(),
        };
        c.publish(
            "assistance.benefit_changed",
            "civil.assistance.v1.BenefitChanged",
            &rec.id,
            &event,
        )
        .await
    }
}

/// A termination decided by the county (reason, the event's date, a note).
pub(crate) struct Termination {
    pub reason: TerminationReason,
    pub event: time::Date,
    pub note: String,
}

/// Ends a benefit from the month after the event.
pub(crate) fn terminate(
    rec: &mut BenefitRecord,
    t: Termination,
    subject: &str,
    today: time::Date,
) -> Result<Month, ServiceError> {
    not_in_future(t.event, today)?;
    if rec.state == BenefitState::Terminated {
        return Err(change_error(ChangeError::Ended));
    }
    let from = benefit::terminate(&mut rec.terms, t.event).map_err(change_error)?;
    rec.state = BenefitState::Terminated;
    let why = format!("terminated ({}): {}", termination_label(t.reason), t.note);
    rec.termination = Some(TerminationRecord {
        reason: t.reason,
        effective_month: from,
        decided_by: subject.to_owned(),
        note: t.note,
    });
    rec.record_history(from, &why, subject, today);
    Ok(from)
}

/// 临时救助 as granted: the household, why, the one-off amount, 急难型 or not.
pub(crate) struct TemporaryGrant {
    pub household: Household,
    pub circumstances: String,
    pub amount: money::Fen,
    /// 支出型: the out-of-pocket spending the amount is computed from.
    pub out_of_pocket: Option<money::Fen>,
    pub emergency: bool,
}

/// Most people one household's temporary grants are followed through (a bound on the walk).
const HOUSEHOLD_WALK_MAX: usize = 64;

/// What the household's temporary grants of `year` came to: every temporary benefit of the
/// year any member (by blind index) is in, and, through those grants, of the people listed
/// with them (a household is who was granted together), each grant counted once.
async fn granted_in_year(
    c: &mut Call,
    indexes: &[String],
    year: i32,
) -> Result<money::Fen, ServiceError> {
    let sealer = c.sealer().clone();
    let prefix = format!("{year:04}-");
    let mut people: Vec<String> = indexes.to_vec();
    let mut seen = std::collections::HashSet::new();
    let mut amounts = Vec::new();
    let mut next = 0;
    while next < people.len() && next < HOUSEHOLD_WALK_MAX {
        let index = people[next].clone();
        next += 1;
        for rec in store::benefits_of_person(c.db(), &sealer, &index).await? {
            if rec.kind() == BenefitKind::Temporary
                && rec.approved_on.starts_with(&prefix)
                && seen.insert(rec.id.clone())
            {
                amounts.push(rec.computation.total_fen);
                for other in store::member_indexes(c.db(), &rec.id).await? {
                    if !people.contains(&other) {
                        people.push(other);
                    }
                }
            }
        }
    }
    crate::procedure::sum_of(amounts)
}

fn yearly_refusal(e: YearlyRefusal) -> ServiceError {
    let reason = match e {
        YearlyRefusal::OutOfBounds(_) => "ASSISTANCE_TEMPORARY_OUT_OF_BOUNDS",
        YearlyRefusal::NoRate => "ASSISTANCE_TEMPORARY_NO_RATE",
        YearlyRefusal::Overflow => return amount_out_of_range(),
        YearlyRefusal::LimitReached { .. } | YearlyRefusal::PassesLimit { .. } => {
            "ASSISTANCE_TEMPORARY_YEARLY_LIMIT"
        }
    };
    refuse(reason, e.to_string())
}

/// 临时救助: granted at once (急难型 by the township, help first), a one-off amount within the
/// policy bounds of its type; announced, and the members' cached status invalidated.
pub(crate) async fn grant_temporary(
    c: &mut Call,
    policy: &Policy,
    grant: TemporaryGrant,
) -> Result<BenefitRecord, ServiceError> {
    let today = c.today();
    let sealer = c.sealer().clone();
    let indexes = covered_indexes(&sealer, &grant.household, None);
    let granted = granted_in_year(c, &indexes, today.year()).await?;
    let rec = temporary_benefit(policy, grant, granted, &c.principal().subject, today)?;
    let now = c.now_ms();
    store::insert_benefit(c.db(), &sealer, &rec, &indexes, now).await?;
    forget_statuses(c, &indexes).await?;
    let event = pb::BenefitApproved {
        benefit_id: rec.id.clone(),
        kind: kind_to_proto(BenefitKind::Temporary),
        region: rec.region().to_owned(),
        member_indexes: indexes,
        paid_from_month: Month::of(today).to_string(),
        monthly_amount_fen: rec.computation.total_fen.get(),
    };
    c.publish(
        "assistance.benefit_approved",
        "civil.assistance.v1.BenefitApproved",
        &rec.id,
        &event,
    )
    .await?;
    c.object(rec.id.clone());
    Ok(rec)
}

fn temporary_benefit(
    policy: &Policy,
    grant: TemporaryGrant,
    granted_this_year: money::Fen,
    subject: &str,
    today: time::Date,
) -> Result<BenefitRecord, ServiceError> {
    let version = policy.in_force_on(today);
    let (kind, item) = if grant.emergency {
        (TemporaryType::Emergency, "temporary:emergency")
    } else {
        (TemporaryType::Expenditure, "temporary:expenditure")
    };
    let (amount, note) = match grant.out_of_pocket {
        Some(spent) => {
            let (amount, capped) =
                expenditure_amount(version, spent, granted_this_year).map_err(yearly_refusal)?;
            let rate = version.temporary.expenditure_rate_percent.unwrap_or(0);
            let cap = if capped { ", capped" } else { "" };
            (amount, format!("{spent} out of pocket x {rate}%{cap}"))
        }
        None => {
            check_stated(version, kind, grant.amount, granted_this_year).map_err(yearly_refusal)?;
            (grant.amount, "one-off".to_owned())
        }
    };
    let computation = Computation {
        policy_version: version.id.clone(),
        members: grant.household.members.len(),
        lines: vec![AmountLine {
            item: item.into(),
            amount_fen: amount,
            note,
        }],
        total_fen: amount,
    };
    let mut terms = Terms::new(BenefitKind::Temporary, grant.household, None, false, today);
    terms.ends = Some(Month::of(today).next());
    let mut rec = BenefitRecord {
        id: uuid::Uuid::now_v7().to_string(),
        application_id: None,
        state: BenefitState::Active,
        approved_on: fmt_date(today),
        approved_by: subject.to_owned(),
        terms,
        computation,
        termination: None,
        emergency: grant.emergency,
        paperwork: grant
            .emergency
            .then_some(crate::domain::temporary::Paperwork::Pending),
        circumstances: grant.circumstances,
        next_review: fmt_date(today),
        history: vec![],
        household_reviews: vec![],
        version: 1,
    };
    rec.record_history(Month::of(today), "granted", subject, today);
    Ok(rec)
}

fn termination_reason_to_i32(reason: TerminationReason) -> i32 {
    (match reason {
        TerminationReason::Death => pb::TerminationReason::Death,
        TerminationReason::MovedAway => pb::TerminationReason::MovedAway,
        TerminationReason::Lapsed => pb::TerminationReason::Lapsed,
    }) as i32
}

fn termination_label(reason: TerminationReason) -> &'static str {
    match reason {
        TerminationReason::Death => "death",
        TerminationReason::MovedAway => "moved away",
        TerminationReason::Lapsed => "conditions lapsed",
    }
}
