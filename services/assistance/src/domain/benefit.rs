//! A benefit over time: when it is paid, how much each month, and how income changes, deaths
//! and terminations move it (审核确认办法 arts. 26-29; RULES.md "Money" and "A benefit ends").
//!
//! A benefit keeps its household as a list of revisions, each valid from a month; the amount of
//! a month is computed from the revision in force and the policy in force for that month, so a
//! roll can be generated again with the same result and a new standard reaches existing
//! recipients from its effective month.

use money::{Fen, Overflow};
use serde::{Deserialize, Serialize};
use time::Date;

use super::allowance::{AmountLine, Computation, Standing, minimum_living_amount, standing};
use super::extreme_poverty::support_amount;
use super::household::{Household, Income, IncomeKind, Member};
use super::month::Month;
use super::policy::{Policy, PolicyVersion};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BenefitKind {
    /// 低保.
    MinimumLiving,
    /// 低保边缘.
    NearThreshold,
    /// 特困.
    ExtremePoverty,
    /// 临时救助 (one-off).
    Temporary,
}

impl BenefitKind {
    /// Kinds paid every month through the payment roll.
    pub fn is_monthly(self) -> bool {
        matches!(
            self,
            BenefitKind::MinimumLiving | BenefitKind::ExtremePoverty
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TerminationReason {
    Death,
    MovedAway,
    Lapsed,
}

/// The household of a benefit from a month on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revision {
    pub from_month: Month,
    pub household: Household,
    /// During 渐退期: the amount as it was before the income rise.
    pub frozen_amount_fen: Option<Fen>,
    pub reason: String,
}

/// What decides a benefit's monthly amount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Terms {
    pub kind: BenefitKind,
    /// 单人户: the member covered alone.
    pub individual: Option<String>,
    /// 特困 集中供养.
    pub institutional: bool,
    pub paid_from: Month,
    pub revisions: Vec<Revision>,
    /// First month not paid, once the end is decided.
    pub ends: Option<Month>,
    /// Last month of the 渐退期, when in one.
    pub phase_out_until: Option<Month>,
}

/// Returns the first month paid for a benefit approved on `approved_on`: the month after.
pub fn paid_from(approved_on: Date) -> Month {
    Month::of(approved_on).next()
}

/// Returns the first month not paid after a termination event (death, move, lapse decision) on
/// `event`: benefits are paid for the month of the event and end the month after.
pub fn termination_effective_month(event: Date) -> Month {
    Month::of(event).next()
}

impl Terms {
    /// Starts the terms of a newly approved benefit.
    pub fn new(
        kind: BenefitKind,
        household: Household,
        individual: Option<String>,
        institutional: bool,
        approved_on: Date,
    ) -> Terms {
        let from = paid_from(approved_on);
        Terms {
            kind,
            individual,
            institutional,
            paid_from: from,
            revisions: vec![Revision {
                from_month: from,
                household,
                frozen_amount_fen: None,
                reason: "approved".into(),
            }],
            ends: None,
            phase_out_until: None,
        }
    }

    /// Returns the revision in force in `month` (the latest that started on or before it).
    pub fn revision_for(&self, month: Month) -> &Revision {
        self.revisions
            .iter()
            .rev()
            .find(|r| r.from_month <= month)
            .unwrap_or(&self.revisions[0])
    }

    /// Returns the latest revision.
    pub fn current(&self) -> &Revision {
        self.revision_for(Month::new(9999, 12).unwrap_or(self.paid_from))
    }

    /// Whether the benefit pays in `month`.
    pub fn pays_in(&self, month: Month) -> bool {
        self.kind.is_monthly() && month >= self.paid_from && self.ends.is_none_or(|end| month < end)
    }

    /// Members covered in `month` (for 单人户 only the member covered alone).
    pub fn covered_in(&self, month: Month) -> Vec<&Member> {
        let revision = self.revision_for(month);
        revision
            .household
            .members_in(month)
            .into_iter()
            .filter(|m| {
                self.individual
                    .as_deref()
                    .is_none_or(|id| m.id_number == id)
            })
            .collect()
    }

    /// Returns the amount for `month` under the policy in force for it, or `None` when the
    /// benefit does not pay in that month; `Err(Overflow)` when the computation does not fit
    /// (the roll refuses rather than pay a wrapped amount).
    pub fn amount_for(
        &self,
        policy: &Policy,
        month: Month,
    ) -> Result<Option<Computation>, Overflow> {
        if !self.pays_in(month) {
            return Ok(None);
        }
        let version = policy.in_force_for_month(month);
        let revision = self.revision_for(month);
        let members = self.covered_in(month);
        if members.is_empty() {
            return Ok(None);
        }
        if self.kind == BenefitKind::ExtremePoverty
            && !super::extreme_poverty::support_continues(members[0], month.first_day())
        {
            return Ok(None);
        }
        if let Some(frozen) = revision.frozen_amount_fen {
            return Ok(Some(Computation {
                policy_version: version.id.clone(),
                members: members.len(),
                lines: vec![AmountLine {
                    item: "phase_out".into(),
                    amount_fen: frozen,
                    note: "渐退期: the amount before the income rise".into(),
                }],
                total_fen: frozen,
            }));
        }
        self.compute(version, &members, revision, month.first_day())
            .map(Some)
    }

    fn compute(
        &self,
        version: &PolicyVersion,
        members: &[&Member],
        revision: &Revision,
        on: Date,
    ) -> Result<Computation, Overflow> {
        match self.kind {
            BenefitKind::ExtremePoverty => support_amount(version, members[0], self.institutional),
            _ => minimum_living_amount(version, revision.household.area, members, on),
        }
    }
}

/// What a recorded income change does to a 低保 benefit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IncomeChangeOutcome {
    /// Still below the standard: recomputed from `from`.
    Recomputed { from: Month, amount_fen: Fen },
    /// Above the standard from work: 渐退期 at the previous amount from `from` through `until`;
    /// the benefit ends (lapsed) the month after `until`.
    PhaseOut {
        from: Month,
        until: Month,
        amount_fen: Fen,
    },
    /// Above the standard otherwise (or no phase-out in the policy): ends from `from`.
    Lapsed { from: Month },
}

/// Why an income change cannot be recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    #[error("the person is not a current member of the benefit's household")]
    NotAMember,
    #[error("the benefit has ended")]
    Ended,
    #[error("the benefit is in its phase-out period")]
    InPhaseOut,
    #[error("income changes are recorded for 低保 benefits")]
    NotApplicable,
    #[error("an amount of the computation is out of range")]
    AmountOutOfRange,
}

impl From<Overflow> for ChangeError {
    fn from(_: Overflow) -> ChangeError {
        ChangeError::AmountOutOfRange
    }
}

/// Records a member's new incomes on `recorded_on` (periodic review, 审核确认办法 art. 28). The
/// change takes effect the month after it is recorded. When income rises above the standard
/// because a member found work, the 渐退期 of the policy keeps the previous amount.
pub fn record_income_change(
    terms: &mut Terms,
    policy: &Policy,
    member_id: &str,
    incomes: Vec<Income>,
    from_employment: bool,
    recorded_on: Date,
) -> Result<IncomeChangeOutcome, ChangeError> {
    if terms.kind != BenefitKind::MinimumLiving {
        return Err(ChangeError::NotApplicable);
    }
    let from = Month::of(recorded_on).next();
    if terms.ends.is_some_and(|end| end <= from) {
        return Err(ChangeError::Ended);
    }
    if terms.phase_out_until.is_some() {
        return Err(ChangeError::InPhaseOut);
    }
    let mut household = terms.current().household.clone();
    let member = household
        .members
        .iter_mut()
        .find(|m| m.id_number == member_id && m.counts_in(from))
        .ok_or(ChangeError::NotAMember)?;
    member.incomes = incomes;
    let version = policy.in_force_for_month(from);
    let covered: Vec<&Member> = household
        .members_in(from)
        .into_iter()
        .filter(|m| {
            terms
                .individual
                .as_deref()
                .is_none_or(|id| m.id_number == id)
        })
        .collect();
    let still_below = standing(version, household.area, &covered) == Standing::BelowStandard;
    let rises_from_work = from_employment
        || covered.iter().any(|m| {
            m.incomes
                .iter()
                .any(|i| i.kind == IncomeKind::Wages && i.monthly_fen > Fen::ZERO)
        });
    let previous_amount = terms
        .amount_for(policy, Month::of(recorded_on))?
        .map_or(Fen::ZERO, |c| c.total_fen);
    let outcome = if still_below {
        let amount =
            minimum_living_amount(version, household.area, &covered, from.first_day())?.total_fen;
        terms.revisions.push(Revision {
            from_month: from,
            household,
            frozen_amount_fen: None,
            reason: "income change".into(),
        });
        IncomeChangeOutcome::Recomputed {
            from,
            amount_fen: amount,
        }
    } else if from_employment && rises_from_work && version.phase_out_months > 0 {
        let until = from.plus(version.phase_out_months - 1);
        terms.revisions.push(Revision {
            from_month: from,
            household,
            frozen_amount_fen: Some(previous_amount),
            reason: "渐退期 after income from work".into(),
        });
        terms.phase_out_until = Some(until);
        terms.ends = Some(until.next());
        IncomeChangeOutcome::PhaseOut {
            from,
            until,
            amount_fen: previous_amount,
        }
    } else {
        terms.ends = Some(from);
        IncomeChangeOutcome::Lapsed { from }
    };
    Ok(outcome)
}

/// What a member's death does to a benefit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeathOutcome {
    /// The person was the only one covered: the benefit ends from `from`.
    Terminated { from: Month },
    /// The household continues without the person from `from`, recalculated.
    Recalculated { from: Month, amount_fen: Fen },
}

/// Applies the death on `date_of_death` of the member `id`: a one-member benefit (or the member
/// covered alone) ends the month after; a larger household is recalculated without the member
/// from that month. Returns `None` when the person is not covered by this benefit.
pub fn record_death(
    terms: &mut Terms,
    policy: &Policy,
    id: &str,
    date_of_death: Date,
) -> Option<DeathOutcome> {
    let from = termination_effective_month(date_of_death);
    if terms.ends.is_some_and(|end| end <= from) {
        return None;
    }
    let current = terms.current();
    let member = current
        .household
        .members
        .iter()
        .find(|m| m.id_number == id && m.counts_in(from))?;
    let alone = terms.individual.as_deref() == Some(member.id_number.as_str());
    let others = current.household.members_in(from).len() - 1;
    if alone || others == 0 || terms.kind == BenefitKind::ExtremePoverty {
        if terms.individual.is_some() && !alone {
            // A relative of a 单人户 recipient died: the person covered alone keeps the benefit.
            return None;
        }
        terms.ends = Some(from);
        return Some(DeathOutcome::Terminated { from });
    }
    let mut household = current.household.clone();
    let frozen = current.frozen_amount_fen;
    for m in household.members.iter_mut().filter(|m| m.id_number == id) {
        m.left_month = Some(from);
    }
    terms.revisions.retain(|r| r.from_month < from);
    terms.revisions.push(Revision {
        from_month: from,
        household,
        frozen_amount_fen: frozen,
        reason: "member died".into(),
    });
    // The household only shrinks: its amount was in range before, an overflow here would be a
    // policy beyond the bounds `Policy::from_toml` enforces; it is recorded as 0 rather than
    // wrapped, and the roll (which computes again, checked) refuses it.
    let amount = terms
        .amount_for(policy, from.max(terms.paid_from))
        .ok()
        .flatten()
        .map_or(Fen::ZERO, |c| c.total_fen);
    Some(DeathOutcome::Recalculated {
        from,
        amount_fen: amount,
    })
}

/// Ends the benefit from the month after `event`. Returns the effective month.
pub fn terminate(terms: &mut Terms, event: Date) -> Result<Month, ChangeError> {
    let from = termination_effective_month(event);
    if terms.ends.is_some_and(|end| end <= from) {
        return Err(ChangeError::Ended);
    }
    terms.ends = Some(from);
    Ok(from)
}

#[cfg(test)]
mod tests;
