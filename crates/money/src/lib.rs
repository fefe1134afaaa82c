//! Money in fen (分, 1/100 yuan), as every service of the suite holds it.
//!
//! `Fen` is an `i64` newtype whose arithmetic is checked: a sum, difference or product that
//! does not fit answers `None` (or [`Overflow`]) instead of wrapping, as plain `i64` does in a
//! release build. Amounts that come from a caller go through [`Fen::from_proto`], which refuses a
//! negative amount or one above [`Fen::MAX_DECLARED`]; with that bound, sums of up to about nine
//! million declared amounts cannot overflow, and the checked operations catch the rest.
//!
//! ```
//! use money::Fen;
//! let standard = Fen::from_proto(135_300, "standard_fen").unwrap();
//! let income = Fen::from_proto(40_000, "income_fen").unwrap();
//! let gap = standard.checked_sub(income).unwrap();
//! assert_eq!(gap.checked_mul(2).unwrap().to_string(), "1,906.00元");
//! assert!(Fen::new(i64::MAX).checked_add(Fen::new(1)).is_none());
//! ```

use std::fmt;
use std::iter::Sum;

use serde::{Deserialize, Serialize};

/// An amount of money in fen. May be negative (a difference); amounts declared by a caller
/// never are (see [`Fen::from_proto`]).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Fen(i64);

/// An arithmetic result that does not fit in `i64` fen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("amount out of range (overflow)")]
pub struct Overflow;

/// A money field of a request that is not an acceptable amount: the field's name and why,
/// ready to become a field violation (INVALID_ARGUMENT).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {description}")]
pub struct OutOfBounds {
    pub field: String,
    pub description: String,
}

impl Fen {
    pub const ZERO: Fen = Fen(0);

    /// The largest amount a request may carry: 10^12 fen (10,000,000,000.00 yuan, 一百亿元).
    /// Far above any income, asset or benefit a county handles, and low enough that adding up
    /// nine million such amounts still fits in `i64`.
    pub const MAX_DECLARED: Fen = Fen(1_000_000_000_000);

    pub const fn new(fen: i64) -> Fen {
        Fen(fen)
    }

    /// Whole yuan (no overflow check: use [`Fen::checked_from_yuan`] for untrusted input).
    pub const fn yuan(yuan: i32) -> Fen {
        Fen(yuan as i64 * 100)
    }

    pub fn checked_from_yuan(yuan: i64) -> Option<Fen> {
        yuan.checked_mul(100).map(Fen)
    }

    pub const fn get(self) -> i64 {
        self.0
    }

    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// The amount of a request's money field, or why it is not acceptable: negative, or above
    /// [`Fen::MAX_DECLARED`].
    pub fn from_proto(value: i64, field: &str) -> Result<Fen, OutOfBounds> {
        Fen::bounded(value, field, Fen::MAX_DECLARED)
    }

    /// As [`Fen::from_proto`] with a tighter upper bound (inclusive).
    pub fn bounded(value: i64, field: &str, max: Fen) -> Result<Fen, OutOfBounds> {
        let refuse = |description: String| OutOfBounds {
            field: field.to_owned(),
            description,
        };
        if value < 0 {
            return Err(refuse(format!(
                "must not be negative (amount in fen), got {value}"
            )));
        }
        if value > max.0 {
            return Err(refuse(format!(
                "must be at most {} fen ({max}), got {value}",
                max.0
            )));
        }
        Ok(Fen(value))
    }

    pub fn checked_add(self, other: Fen) -> Option<Fen> {
        self.0.checked_add(other.0).map(Fen)
    }

    pub fn checked_sub(self, other: Fen) -> Option<Fen> {
        self.0.checked_sub(other.0).map(Fen)
    }

    /// The amount times a count (members, months).
    pub fn checked_mul(self, times: i64) -> Option<Fen> {
        self.0.checked_mul(times).map(Fen)
    }

    /// The amount times a count given as `usize` (e.g. a slice length).
    pub fn checked_mul_count(self, times: usize) -> Option<Fen> {
        i64::try_from(times).ok().and_then(|t| self.checked_mul(t))
    }

    /// `self * numerator / denominator`, rounded half away from zero; `None` on a zero
    /// denominator or a result that does not fit. For shares (e.g. 30% = 30/100) and multiples
    /// (1.5x = 3/2) of an amount.
    pub fn checked_mul_ratio(self, numerator: i64, denominator: i64) -> Option<Fen> {
        if denominator == 0 {
            return None;
        }
        let product = i128::from(self.0) * i128::from(numerator);
        let den = i128::from(denominator);
        let quotient = product / den;
        let remainder = product % den;
        let rounded = if remainder.abs() * 2 >= den.abs() {
            if (product < 0) != (den < 0) {
                quotient - 1
            } else {
                quotient + 1
            }
        } else {
            quotient
        };
        i64::try_from(rounded).ok().map(Fen)
    }

    /// The sum of the amounts, or `None` if it does not fit.
    pub fn checked_sum<I: IntoIterator<Item = Fen>>(amounts: I) -> Option<Fen> {
        amounts
            .into_iter()
            .try_fold(Fen::ZERO, |total, next| total.checked_add(next))
    }

    /// The amount rounded up to whole yuan (for a county that pays whole yuan).
    pub fn checked_ceil_yuan(self) -> Option<Fen> {
        let rest = self.0.rem_euclid(100);
        if rest == 0 {
            Some(self)
        } else {
            self.0.checked_add(100 - rest).map(Fen)
        }
    }

    /// `max(self, 0)`.
    pub fn at_least_zero(self) -> Fen {
        Fen(self.0.max(0))
    }

    /// Result-returning forms of the checked operations, for `?` in amount rules.
    pub fn try_add(self, other: Fen) -> Result<Fen, Overflow> {
        self.checked_add(other).ok_or(Overflow)
    }

    pub fn try_sub(self, other: Fen) -> Result<Fen, Overflow> {
        self.checked_sub(other).ok_or(Overflow)
    }

    pub fn try_mul(self, times: i64) -> Result<Fen, Overflow> {
        self.checked_mul(times).ok_or(Overflow)
    }

    pub fn try_sum<I: IntoIterator<Item = Fen>>(amounts: I) -> Result<Fen, Overflow> {
        Fen::checked_sum(amounts).ok_or(Overflow)
    }
}

/// `Option<Fen>` sums: `None` when any step overflows. `iter.sum::<Option<Fen>>()`.
impl Sum<Fen> for Option<Fen> {
    fn sum<I: Iterator<Item = Fen>>(iter: I) -> Option<Fen> {
        Fen::checked_sum(iter)
    }
}

/// Yuan with two decimals and thousands separators: `1,353.00元`, `-0.05元`.
impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let yuan = (abs / 100).to_string();
        let cents = abs % 100;
        let mut grouped = String::with_capacity(yuan.len() + yuan.len() / 3);
        for (i, digit) in yuan.chars().enumerate() {
            if i > 0 && (yuan.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(digit);
        }
        write!(f, "{sign}{grouped}.{cents:02}元")
    }
}

impl From<Fen> for i64 {
    fn from(fen: Fen) -> i64 {
        fen.0
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn display_is_yuan_with_two_decimals_and_thousands_separators() {
        assert_eq!(Fen::new(135_300).to_string(), "1,353.00元");
        assert_eq!(Fen::new(5).to_string(), "0.05元");
        assert_eq!(Fen::new(-5).to_string(), "-0.05元");
        assert_eq!(Fen::new(10_000_000_000).to_string(), "100,000,000.00元");
        assert_eq!(
            Fen::new(i64::MIN).to_string(),
            "-92,233,720,368,547,758.08元"
        );
        assert_eq!(Fen::ZERO.to_string(), "0.00元");
    }

    #[test]
    fn from_proto_refuses_negative_and_over_the_bound_and_names_the_field() {
        assert_eq!(Fen::from_proto(0, "x"), Ok(Fen::ZERO));
        assert_eq!(
            Fen::from_proto(1_000_000_000_000, "x"),
            Ok(Fen::MAX_DECLARED)
        );
        let negative = Fen::from_proto(-1, "members[0].incomes[1].monthly_fen").unwrap_err();
        assert_eq!(negative.field, "members[0].incomes[1].monthly_fen");
        assert!(negative.description.contains("negative"));
        let huge = Fen::from_proto(i64::MAX, "value_fen").unwrap_err();
        assert!(huge.description.contains("at most 1000000000000 fen"));
    }

    #[test]
    fn sums_that_do_not_fit_are_none_not_wrapped() {
        assert_eq!(
            Fen::checked_sum([Fen::new(i64::MAX), Fen::new(i64::MAX)]),
            None
        );
        let summed: Option<Fen> = [Fen::new(1), Fen::new(2)].into_iter().sum();
        assert_eq!(summed, Some(Fen::new(3)));
        assert_eq!(
            Fen::try_sum([Fen::new(i64::MAX), Fen::new(1)]),
            Err(Overflow)
        );
        assert_eq!(Fen::new(i64::MIN).checked_sub(Fen::new(1)), None);
        assert_eq!(Fen::new(i64::MAX / 2 + 1).checked_mul(2), None);
        assert_eq!(Fen::new(1).checked_mul_count(usize::MAX), None);
    }

    #[test]
    fn ratios_round_half_away_from_zero() {
        assert_eq!(
            Fen::new(135_300).checked_mul_ratio(3, 10),
            Some(Fen::new(40_590))
        );
        assert_eq!(Fen::new(5).checked_mul_ratio(1, 2), Some(Fen::new(3)));
        assert_eq!(Fen::new(-5).checked_mul_ratio(1, 2), Some(Fen::new(-3)));
        assert_eq!(Fen::new(4).checked_mul_ratio(1, 3), Some(Fen::new(1)));
        assert_eq!(Fen::new(1).checked_mul_ratio(1, 0), None);
        assert_eq!(Fen::new(i64::MAX).checked_mul_ratio(3, 2), None);
        assert_eq!(
            Fen::new(i64::MAX).checked_mul_ratio(i64::MAX, i64::MAX),
            Some(Fen::new(i64::MAX))
        );
    }

    #[test]
    fn ceil_to_yuan() {
        assert_eq!(
            Fen::new(135_301).checked_ceil_yuan(),
            Some(Fen::new(135_400))
        );
        assert_eq!(
            Fen::new(135_300).checked_ceil_yuan(),
            Some(Fen::new(135_300))
        );
        assert_eq!(Fen::new(-150).checked_ceil_yuan(), Some(Fen::new(-100)));
        assert_eq!(Fen::new(i64::MAX).checked_ceil_yuan(), None);
    }

    #[test]
    fn serde_is_a_plain_integer() {
        assert_eq!(serde_json::to_string(&Fen::new(135_300)).unwrap(), "135300");
        assert_eq!(serde_json::from_str::<Fen>("-7").unwrap(), Fen::new(-7));
    }

    proptest! {
        #[test]
        fn checked_operations_agree_with_wide_arithmetic(a in any::<i64>(), b in any::<i64>()) {
            let wide_add = i128::from(a) + i128::from(b);
            prop_assert_eq!(
                Fen::new(a).checked_add(Fen::new(b)).map(Fen::get).map(i128::from),
                i64::try_from(wide_add).ok().map(i128::from)
            );
            let wide_sub = i128::from(a) - i128::from(b);
            prop_assert_eq!(
                Fen::new(a).checked_sub(Fen::new(b)).map(Fen::get).map(i128::from),
                i64::try_from(wide_sub).ok().map(i128::from)
            );
            let wide_mul = i128::from(a) * i128::from(b);
            prop_assert_eq!(
                Fen::new(a).checked_mul(b).map(Fen::get).map(i128::from),
                i64::try_from(wide_mul).ok().map(i128::from)
            );
        }

        #[test]
        fn sums_never_wrap(values in proptest::collection::vec(any::<i64>(), 0..20)) {
            let wide: i128 = values.iter().copied().map(i128::from).sum();
            let checked = Fen::checked_sum(values.iter().copied().map(Fen::new));
            if let Some(total) = checked {
                prop_assert_eq!(i128::from(total.get()), wide);
            } else {
                // some prefix left the i64 range
                let mut running: i128 = 0;
                let mut left = false;
                for v in &values {
                    running += i128::from(*v);
                    left |= i64::try_from(running).is_err();
                }
                prop_assert!(left);
            }
        }

        #[test]
        fn declared_amounts_are_within_bounds_and_their_sums_fit(
            values in proptest::collection::vec(any::<i64>(), 0..50)
        ) {
            let accepted: Vec<Fen> = values
                .iter()
                .filter_map(|v| Fen::from_proto(*v, "f").ok())
                .collect();
            for (v, accepted) in values.iter().zip(values.iter().map(|v| Fen::from_proto(*v, "f"))) {
                prop_assert_eq!(accepted.is_ok(), (0..=1_000_000_000_000).contains(v));
            }
            prop_assert!(Fen::checked_sum(accepted).is_some());
        }

        #[test]
        fn display_round_trips_through_the_digits(v in any::<i64>()) {
            let text = Fen::new(v).to_string();
            let digits: String = text.chars().filter(|c| c.is_ascii_digit() || *c == '-').collect();
            prop_assert_eq!(digits.parse::<i128>().ok(), Some(i128::from(v)));
            prop_assert!(text.ends_with('元'));
        }
    }
}
