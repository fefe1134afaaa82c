//! 最低生活保障 (低保), 低保边缘 and 单人户: who qualifies and the monthly amount
//! (社会救助暂行办法 arts. 9-10; 最低生活保障审核确认办法 2021 arts. 6-10; county policy).

use money::{Fen, Overflow};
use serde::{Deserialize, Serialize};
use time::Date;

use super::household::{Holdings, Household, Member, income_of};
use super::policy::{AddonRule, Area, PolicyVersion};

/// One line of an amount computation, kept with the decision so it can be shown and reproduced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmountLine {
    pub item: String,
    pub amount_fen: Fen,
    pub note: String,
}

/// A computed monthly amount: the policy version, the lines and their total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Computation {
    pub policy_version: String,
    pub members: usize,
    pub lines: Vec<AmountLine>,
    pub total_fen: Fen,
}

/// Where a household's income and property place it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Income per member below the standard, property within limits: 低保.
    BelowStandard,
    /// 低保边缘家庭: income at or above the standard but below the county multiple of it.
    NearThreshold,
    /// Income at or above the multiple.
    AboveThreshold,
    /// Property beyond the county limits.
    PropertyOverLimit,
}

/// Places a group of members (a household, or one person for 单人户) against the policy.
/// Comparing totals (`income < standard x members`) is the per-member comparison without
/// rounding the per-member income. Every sum and product is checked: an income that does not
/// fit in `i64` fen is above any threshold, a threshold that does not fit is above any income,
/// so an extreme figure can only ever place the household higher, never wrap to a low one.
pub fn standing(policy: &PolicyVersion, area: Area, members: &[&Member]) -> Standing {
    if !Holdings::of(members).within_limits(policy, area, members.len()) {
        return Standing::PropertyOverLimit;
    }
    let Some(income) = income_of(members) else {
        return Standing::AboveThreshold;
    };
    let standard_total = policy.standard_fen(area).checked_mul_count(members.len());
    let below = |threshold: Option<Fen>| threshold.is_none_or(|t| income < t);
    if below(standard_total) {
        Standing::BelowStandard
    } else if below(
        standard_total.and_then(|t| t.checked_mul_ratio(policy.near_threshold_percent, 100)),
    ) {
        Standing::NearThreshold
    } else {
        Standing::AboveThreshold
    }
}

/// Returns the 低保 monthly amount of `members` on `on` (ages for the add-ons are taken that
/// day): the gap (standard - per-member income) x members, never negative, plus each member's
/// category add-ons, which stack; the total is rounded per policy. `Err(Overflow)` when a sum
/// does not fit in `i64` fen: the caller refuses, it never pays a wrapped figure.
pub fn minimum_living_amount(
    policy: &PolicyVersion,
    area: Area,
    members: &[&Member],
    on: Date,
) -> Result<Computation, Overflow> {
    let count = members.len();
    let standard = policy.standard_fen(area);
    let income = income_of(members).ok_or(Overflow)?;
    let gap = standard
        .checked_mul_count(count)
        .and_then(|total| total.checked_sub(income))
        .ok_or(Overflow)?
        .at_least_zero();
    let mut lines = vec![AmountLine {
        item: "gap".into(),
        amount_fen: gap,
        note: format!(
            "standard {} x {count} members - household income {}, not below 0",
            standard.get(),
            income.get()
        ),
    }];
    for (index, member) in members.iter().enumerate() {
        lines.extend(member_addons(policy, area, member, index + 1, on)?);
    }
    finish(policy, members.len(), lines)
}

/// A member's category add-ons (elderly, severely disabled, child): fixed amounts or shares of
/// the member's own standard, all of them (`stack`) or the highest (`highest`), per policy.
fn member_addons(
    policy: &PolicyVersion,
    household_area: Area,
    member: &Member,
    member_no: usize,
    on: Date,
) -> Result<Vec<AmountLine>, Overflow> {
    let addons = &policy.addons;
    let own = member.own_area.unwrap_or(household_area);
    let age = member.age_on(on);
    let mut lines = Vec::new();
    let mut add = |item: &str, fixed: Fen, percent: Option<i64>, note: String| {
        let amount = policy.addon_fen(fixed, percent, own).ok_or(Overflow)?;
        let note = match percent {
            Some(p) => format!("{note}; {p}% of the member's own standard"),
            None => note,
        };
        lines.push(line(item, amount, note));
        Ok::<(), Overflow>(())
    };
    if age >= addons.elderly_min_age {
        add(
            "addon:elderly",
            addons.elderly_fen,
            addons.elderly_percent,
            format!("member {member_no}, aged {age}"),
        )?;
    }
    if member.disability.is_some_and(|d| d.is_severe()) {
        add(
            "addon:severely_disabled",
            addons.severely_disabled_fen,
            addons.severely_disabled_percent,
            format!("member {member_no}"),
        )?;
    }
    if age < addons.children_under_age {
        add(
            "addon:child",
            addons.child_fen,
            addons.child_percent,
            format!("member {member_no}, aged {age}"),
        )?;
    }
    if addons.combine == AddonRule::Highest
        && let Some(highest) = lines.iter().map(|l| l.amount_fen).max()
    {
        // The first line of the highest amount is kept (the order above breaks ties).
        let keep = lines
            .iter()
            .position(|l| l.amount_fen == highest)
            .unwrap_or(0);
        let kept = lines.swap_remove(keep);
        lines = vec![AmountLine {
            note: format!("{}; single highest add-on (county policy)", kept.note),
            ..kept
        }];
    }
    Ok(lines)
}

/// Adds the rounding line and totals the lines (checked).
pub(crate) fn finish(
    policy: &PolicyVersion,
    members: usize,
    mut lines: Vec<AmountLine>,
) -> Result<Computation, Overflow> {
    let subtotal = Fen::try_sum(lines.iter().map(|l| l.amount_fen))?.at_least_zero();
    let total = policy.rounding.apply(subtotal).ok_or(Overflow)?;
    if total != subtotal {
        lines.push(line(
            "rounding",
            total.try_sub(subtotal)?,
            "rounded up to whole yuan".into(),
        ));
    }
    Ok(Computation {
        policy_version: policy.id.clone(),
        members,
        lines,
        total_fen: total,
    })
}

fn line(item: &str, amount_fen: Fen, note: String) -> AmountLine {
    AmountLine {
        item: item.into(),
        amount_fen,
        note,
    }
}

/// 单人户: a member of a 低保边缘 household who may be covered alone: grade 1-2 disability,
/// grade 3 intellectual or mental disability, or a serious illness (审核确认办法 art. 9).
pub fn qualifies_for_individual_coverage(member: &Member) -> bool {
    member.serious_illness || member.disability.is_some_and(|d| d.is_severe())
}

/// Why a 低保 / 低保边缘 application cannot be approved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Ineligible {
    #[error("household income per member is not below the standard")]
    IncomeNotBelowStandard,
    #[error("household income is not below the near-threshold multiple of the standard")]
    IncomeAboveNearThreshold,
    #[error("property exceeds the county limits")]
    PropertyOverLimit,
    #[error("individual coverage needs a near-threshold household")]
    HouseholdNotNearThreshold,
    #[error(
        "the member does not qualify for individual coverage (severe disability or serious illness)"
    )]
    MemberNotQualified,
    #[error("the member's own income is not below the standard")]
    MemberIncomeNotBelowStandard,
    #[error("the named member is not in the household")]
    UnknownMember,
    #[error("an amount of the computation is out of range")]
    AmountOutOfRange,
}

impl From<Overflow> for Ineligible {
    fn from(_: Overflow) -> Ineligible {
        Ineligible::AmountOutOfRange
    }
}

/// Assesses a 低保 application on `on`: for the whole household, or, for 单人户, for the named
/// member alone, computed as a household of one.
pub fn assess_minimum_living(
    policy: &PolicyVersion,
    household: &Household,
    individual: Option<&str>,
    on: Date,
) -> Result<Computation, Ineligible> {
    let members: Vec<&Member> = household.members.iter().collect();
    let area = household.area;
    match individual {
        None => match standing(policy, area, &members) {
            Standing::BelowStandard => Ok(minimum_living_amount(policy, area, &members, on)?),
            Standing::PropertyOverLimit => Err(Ineligible::PropertyOverLimit),
            Standing::NearThreshold | Standing::AboveThreshold => {
                Err(Ineligible::IncomeNotBelowStandard)
            }
        },
        Some(id) => {
            let member = household.member(id).ok_or(Ineligible::UnknownMember)?;
            match standing(policy, area, &members) {
                Standing::NearThreshold => {}
                Standing::PropertyOverLimit => return Err(Ineligible::PropertyOverLimit),
                Standing::BelowStandard | Standing::AboveThreshold => {
                    return Err(Ineligible::HouseholdNotNearThreshold);
                }
            }
            if !qualifies_for_individual_coverage(member) {
                return Err(Ineligible::MemberNotQualified);
            }
            if member
                .monthly_income_fen()
                .is_none_or(|income| income >= policy.standard_fen(area))
            {
                return Err(Ineligible::MemberIncomeNotBelowStandard);
            }
            Ok(minimum_living_amount(policy, area, &[member], on)?)
        }
    }
}

/// Assesses a 低保边缘 application: recognised with no monthly allowance (specific assistance).
pub fn assess_near_threshold(
    policy: &PolicyVersion,
    household: &Household,
) -> Result<Computation, Ineligible> {
    let members: Vec<&Member> = household.members.iter().collect();
    match standing(policy, household.area, &members) {
        Standing::NearThreshold => Ok(Computation {
            policy_version: policy.id.clone(),
            members: members.len(),
            lines: vec![line(
                "near_threshold",
                Fen::ZERO,
                "specific assistance only, no monthly allowance".into(),
            )],
            total_fen: Fen::ZERO,
        }),
        Standing::BelowStandard => Err(Ineligible::HouseholdNotNearThreshold),
        Standing::AboveThreshold => Err(Ineligible::IncomeAboveNearThreshold),
        Standing::PropertyOverLimit => Err(Ineligible::PropertyOverLimit),
    }
}

#[cfg(test)]
mod tests;
