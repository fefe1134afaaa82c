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
}
