//! 最低生活保障 (低保), 低保边缘 and 单人户: who qualifies and the monthly amount
//! (社会救助暂行办法 arts. 9-10; 最低生活保障审核确认办法 2021 arts. 6-10; county policy).

use serde::{Deserialize, Serialize};
use time::Date;

use super::household::{Holdings, Household, Member};
use super::policy::{Area, PolicyVersion};

/// One line of an amount computation, kept with the decision so it can be shown and reproduced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmountLine {
    pub item: String,
    pub amount_fen: i64,
    pub note: String,
}

/// A computed monthly amount: the policy version, the lines and their total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Computation {
    pub policy_version: String,
    pub members: usize,
    pub lines: Vec<AmountLine>,
    pub total_fen: i64,
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
/// rounding the per-member income.
pub fn standing(policy: &PolicyVersion, area: Area, members: &[&Member]) -> Standing {
    let count = members.len() as i64;
    if !Holdings::of(members).within_limits(policy, members.len()) {
        return Standing::PropertyOverLimit;
    }
    let income: i64 = members.iter().map(|m| m.monthly_income_fen()).sum();
    let standard_total = policy.standard_fen(area) * count;
    if income < standard_total {
        Standing::BelowStandard
    } else if income * 100 < standard_total * policy.near_threshold_percent {
        Standing::NearThreshold
    } else {
        Standing::AboveThreshold
    }
}

/// Returns the 低保 monthly amount of `members` on `on` (ages for the add-ons are taken that
/// day): the gap (standard - per-member income) x members, never negative, plus each member's
/// category add-ons, which stack; the total is rounded per policy.
pub fn minimum_living_amount(
    policy: &PolicyVersion,
    area: Area,
    members: &[&Member],
    on: Date,
) -> Computation {
    let count = members.len() as i64;
    let standard = policy.standard_fen(area);
    let income: i64 = members.iter().map(|m| m.monthly_income_fen()).sum();
    let gap = (standard * count - income).max(0);
    let mut lines = vec![AmountLine {
        item: "gap".into(),
        amount_fen: gap,
        note: format!(
            "standard {standard} x {count} members - household income {income}, not below 0"
        ),
    }];
    let addons = &policy.addons;
    for (index, member) in members.iter().enumerate() {
        let age = member.age_on(on);
        let member_no = index + 1;
        if age >= addons.elderly_min_age {
            lines.push(line(
                "addon:elderly",
                addons.elderly_fen,
                format!("member {member_no}, aged {age}"),
            ));
        }
        if member.disability.is_some_and(|d| d.is_severe()) {
            lines.push(line(
                "addon:severely_disabled",
                addons.severely_disabled_fen,
                format!("member {member_no}"),
            ));
        }
        if age < addons.children_under_age {
            lines.push(line(
                "addon:child",
                addons.child_fen,
                format!("member {member_no}, aged {age}"),
            ));
        }
    }
    finish(policy, members.len(), lines)
}

/// Adds the rounding line and totals the lines.
pub(crate) fn finish(
    policy: &PolicyVersion,
    members: usize,
    mut lines: Vec<AmountLine>,
) -> Computation {
    let subtotal: i64 = lines.iter().map(|l| l.amount_fen).sum::<i64>().max(0);
    let total = policy.rounding.apply(subtotal);
    if total != subtotal {
        lines.push(line(
            "rounding",
            total - subtotal,
            "rounded up to whole yuan".into(),
        ));
    }
    Computation {
        policy_version: policy.id.clone(),
        members,
        lines,
        total_fen: total,
    }
}

fn line(item: &str, amount_fen: i64, note: String) -> AmountLine {
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
            Standing::BelowStandard => Ok(minimum_living_amount(policy, area, &members, on)),
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
            if member.monthly_income_fen() >= policy.standard_fen(area) {
                return Err(Ineligible::MemberIncomeNotBelowStandard);
            }
            Ok(minimum_living_amount(policy, area, &[member], on))
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
                0,
                "specific assistance only, no monthly allowance".into(),
            )],
            total_fen: 0,
        }),
        Standing::BelowStandard => Err(Ineligible::HouseholdNotNearThreshold),
        Standing::AboveThreshold => Err(Ineligible::IncomeAboveNearThreshold),
        Standing::PropertyOverLimit => Err(Ineligible::PropertyOverLimit),
    }
}

#[cfg(test)]
mod tests;
