//! 临时救助: temporary assistance (社会救助暂行办法 arts. 47-50), bounded by county policy.

use money::Fen;

use super::policy::PolicyVersion;

/// The two types of temporary assistance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemporaryType {
    /// 急难型: help first, paperwork after; the place of the emergency may help regardless of
    /// household register.
    Emergency,
    /// 支出型: large essential spending (e.g. medical).
    Expenditure,
}

/// The amount lies outside the policy bounds of its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("amount {amount_fen} is outside {min_fen}..={max_fen}")]
pub struct OutOfBounds {
    pub amount_fen: Fen,
    pub min_fen: Fen,
    pub max_fen: Fen,
}

/// Checks a one-off amount against the policy bounds of its type.
pub fn check_bounds(
    policy: &PolicyVersion,
    kind: TemporaryType,
    amount_fen: Fen,
) -> Result<(), OutOfBounds> {
    let bounds = &policy.temporary;
    let max_fen = match kind {
        TemporaryType::Emergency => bounds.emergency_max_fen,
        TemporaryType::Expenditure => bounds.expenditure_max_fen,
    };
    if (bounds.min_fen..=max_fen).contains(&amount_fen) {
        Ok(())
    } else {
        Err(OutOfBounds {
            amount_fen,
            min_fen: bounds.min_fen,
            max_fen,
        })
    }
}

/// Why a temporary grant's amount is refused under the yearly limit or the rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum YearlyRefusal {
    #[error("the county policy sets no rate for expenditure-type assistance")]
    NoRate,
    #[error("the household's grants this year ({granted_fen}) reach the yearly limit {limit_fen}")]
    LimitReached { granted_fen: Fen, limit_fen: Fen },
    #[error(
        "amount {amount_fen} with this year's {granted_fen} passes the yearly limit {limit_fen}"
    )]
    PassesLimit {
        amount_fen: Fen,
        granted_fen: Fen,
        limit_fen: Fen,
    },
    #[error(transparent)]
    OutOfBounds(#[from] OutOfBounds),
    #[error("an amount does not fit")]
    Overflow,
}

/// What the household may still receive this calendar year (`None`: no yearly limit).
fn remaining(policy: &PolicyVersion, granted_this_year: Fen) -> Result<Option<Fen>, YearlyRefusal> {
    let Some(limit) = policy.temporary.household_yearly_limit_fen else {
        return Ok(None);
    };
    let left = limit
        .checked_sub(granted_this_year)
        .ok_or(YearlyRefusal::Overflow)?;
    if left <= Fen::ZERO {
        return Err(YearlyRefusal::LimitReached {
            granted_fen: granted_this_year,
            limit_fen: limit,
        });
    }
    Ok(Some(left))
}

/// A stated amount (急难型, or 支出型 given by the county): within its type's bounds, and with
/// the household's other grants of the calendar year within the yearly limit.
pub fn check_stated(
    policy: &PolicyVersion,
    kind: TemporaryType,
    amount_fen: Fen,
    granted_this_year: Fen,
) -> Result<(), YearlyRefusal> {
    check_bounds(policy, kind, amount_fen)?;
    match remaining(policy, granted_this_year)? {
        Some(left) if amount_fen > left => Err(YearlyRefusal::PassesLimit {
            amount_fen,
            granted_fen: granted_this_year,
            limit_fen: policy
                .temporary
                .household_yearly_limit_fen
                .unwrap_or(Fen::ZERO),
        }),
        _ => Ok(()),
    }
}

/// 支出型 computed: the out-of-pocket spending times the county's rate, at most the type's
/// maximum and what the yearly limit leaves; a spending whose share is below the minimum is
/// refused as out of bounds. Returns the amount and whether a cap cut it.
pub fn expenditure_amount(
    policy: &PolicyVersion,
    out_of_pocket_fen: Fen,
    granted_this_year: Fen,
) -> Result<(Fen, bool), YearlyRefusal> {
    let rate = policy
        .temporary
        .expenditure_rate_percent
        .ok_or(YearlyRefusal::NoRate)?;
    let share = out_of_pocket_fen
        .checked_mul_ratio(rate, 100)
        .ok_or(YearlyRefusal::Overflow)?;
    let bounds = &policy.temporary;
    if share < bounds.min_fen {
        return Err(OutOfBounds {
            amount_fen: share,
            min_fen: bounds.min_fen,
            max_fen: bounds.expenditure_max_fen,
        }
        .into());
    }
    let mut amount = if share > bounds.expenditure_max_fen {
        bounds.expenditure_max_fen
    } else {
        share
    };
    if let Some(left) = remaining(policy, granted_this_year)?
        && amount > left
    {
        amount = left;
    }
    Ok((amount, amount != share))
}

/// 先行救助: an emergency grant is paid first with its paperwork pending; the county then
/// completes it (the paperwork confirms the need) or orders it recovered (it does not;
/// 社会救助暂行办法 arts. 47-50, 68).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Paperwork {
    Pending,
    Completed,
    Recovered,
}

/// Why the paperwork of a grant cannot be settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SettleRefusal {
    #[error("only an emergency grant is paid before its paperwork")]
    NotEmergency,
    #[error("the grant's paperwork is settled already")]
    Settled,
}

/// Settles a grant's pending paperwork: completed or recovered, once.
pub fn settle(paperwork: Option<Paperwork>, completed: bool) -> Result<Paperwork, SettleRefusal> {
    match paperwork {
        None => Err(SettleRefusal::NotEmergency),
        Some(Paperwork::Pending) if completed => Ok(Paperwork::Completed),
        Some(Paperwork::Pending) => Ok(Paperwork::Recovered),
        Some(_) => Err(SettleRefusal::Settled),
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;
    use crate::domain::policy::Policy;

    #[test]
    fn temporary_amounts_are_bounded_per_type_by_policy() {
        let policy = Policy::default_policy();
        let version = policy.in_force_on(date!(2026 - 01 - 01));
        let emergency_max = version.temporary.emergency_max_fen;
        assert!(check_bounds(version, TemporaryType::Emergency, emergency_max).is_ok());
        let one = Fen::new(1);
        let above = emergency_max.checked_add(one).expect("small");
        assert!(check_bounds(version, TemporaryType::Emergency, above).is_err());
        assert!(check_bounds(version, TemporaryType::Expenditure, above).is_ok());
        let below = version.temporary.min_fen.checked_sub(one).expect("small");
        assert!(check_bounds(version, TemporaryType::Expenditure, below).is_err());
    }

    fn version() -> PolicyVersion {
        let mut v = Policy::default_policy()
            .in_force_on(date!(2026 - 01 - 01))
            .clone();
        v.temporary.min_fen = Fen::new(10_000);
        v.temporary.expenditure_max_fen = Fen::new(1_000_000);
        v.temporary.expenditure_rate_percent = Some(50);
        v.temporary.household_yearly_limit_fen = Some(Fen::new(1_500_000));
        v
    }

    #[test]
    fn expenditure_assistance_is_the_out_of_pocket_spending_times_the_county_rate() {
        assert_eq!(
            expenditure_amount(&version(), Fen::new(800_001), Fen::ZERO),
            Ok((Fen::new(400_001), false))
        );
    }

    #[test]
    fn expenditure_assistance_is_at_most_the_types_maximum() {
        assert_eq!(
            expenditure_amount(&version(), Fen::new(3_000_000), Fen::ZERO),
            Ok((Fen::new(1_000_000), true))
        );
    }

    #[test]
    fn two_grants_in_one_year_do_not_pass_the_households_yearly_limit_together() {
        let v = version();
        // The first grant paid 1,000,000 this year: the second is cut to the 500,000 left.
        assert_eq!(
            expenditure_amount(&v, Fen::new(2_000_000), Fen::new(1_000_000)),
            Ok((Fen::new(500_000), true))
        );
        assert_eq!(
            expenditure_amount(&v, Fen::new(100_000), Fen::new(1_500_000)),
            Err(YearlyRefusal::LimitReached {
                granted_fen: Fen::new(1_500_000),
                limit_fen: Fen::new(1_500_000)
            })
        );
        // A stated amount that would pass the limit is refused, not cut.
        assert_eq!(
            check_stated(
                &v,
                TemporaryType::Emergency,
                Fen::new(300_000),
                Fen::new(1_300_000)
            ),
            Err(YearlyRefusal::PassesLimit {
                amount_fen: Fen::new(300_000),
                granted_fen: Fen::new(1_300_000),
                limit_fen: Fen::new(1_500_000)
            })
        );
        assert_eq!(
            check_stated(
                &v,
                TemporaryType::Emergency,
                Fen::new(200_000),
                Fen::new(1_300_000)
            ),
            Ok(())
        );
    }

    #[test]
    fn a_spending_whose_share_is_below_the_minimum_is_refused() {
        assert!(matches!(
            expenditure_amount(&version(), Fen::new(19_998), Fen::ZERO),
            Err(YearlyRefusal::OutOfBounds(_))
        ));
    }

    #[test]
    fn without_a_county_rate_the_amount_is_not_computed() {
        let mut v = version();
        v.temporary.expenditure_rate_percent = None;
        assert_eq!(
            expenditure_amount(&v, Fen::new(100_000), Fen::ZERO),
            Err(YearlyRefusal::NoRate)
        );
    }

    #[test]
    fn without_a_yearly_limit_grants_are_bounded_per_grant_only() {
        let mut v = version();
        v.temporary.household_yearly_limit_fen = None;
        assert_eq!(
            check_stated(
                &v,
                TemporaryType::Emergency,
                Fen::new(300_000),
                Fen::new(9_000_000)
            ),
            Ok(())
        );
    }

    #[test]
    fn an_emergency_grant_paid_first_is_completed_or_recovered_once() {
        assert_eq!(
            settle(Some(Paperwork::Pending), true),
            Ok(Paperwork::Completed)
        );
        assert_eq!(
            settle(Some(Paperwork::Pending), false),
            Ok(Paperwork::Recovered)
        );
        assert_eq!(
            settle(Some(Paperwork::Completed), false),
            Err(SettleRefusal::Settled)
        );
        assert_eq!(
            settle(Some(Paperwork::Recovered), true),
            Err(SettleRefusal::Settled)
        );
        assert_eq!(settle(None, true), Err(SettleRefusal::NotEmergency));
    }
}
