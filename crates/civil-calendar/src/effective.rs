//! County policy versioned by effective date (施行日期): a set of versions, each in force from
//! its date until the next one takes effect. Standards, rates and rules change by notice with a
//! date of effect; a decision or a payment uses the version in force on its own date.

use time::Date;

/// A version that takes effect on a date.
pub trait Effective {
    fn effective_from(&self) -> Date;
}

/// Why a set of versions was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionsError {
    #[error("policy has no version")]
    Empty,
    #[error("two versions take effect on {0}")]
    SameDate(Date),
}

/// Versions ordered by effective date; never empty, no two on one date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versions<T> {
    sorted: Vec<T>,
}

impl<T: Effective> Versions<T> {
    pub fn new(mut versions: Vec<T>) -> Result<Self, VersionsError> {
        if versions.is_empty() {
            return Err(VersionsError::Empty);
        }
        versions.sort_by_key(T::effective_from);
        if let Some(pair) = versions
            .windows(2)
            .find(|w| w[0].effective_from() == w[1].effective_from())
        {
            return Err(VersionsError::SameDate(pair[0].effective_from()));
        }
        Ok(Versions { sorted: versions })
    }

    /// The earliest version.
    pub fn first(&self) -> &T {
        &self.sorted[0]
    }

    /// The version in force on `date`: the latest that took effect on or before it (the first
    /// one before the policy's start, so a date before it is never left without numbers).
    pub fn in_force_on(&self, date: Date) -> &T {
        self.latest_where(|from| from <= date)
    }

    /// The version that governs the month of `date`: a version applies from its effective
    /// month, even when it takes effect after the 1st (payments are monthly).
    pub fn for_month_of(&self, date: Date) -> &T {
        let month = month_start(date);
        self.latest_where(|from| month_start(from) <= month)
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.sorted.iter()
    }

    fn latest_where(&self, took_effect: impl Fn(Date) -> bool) -> &T {
        self.sorted
            .iter()
            .rev()
            .find(|v| took_effect(v.effective_from()))
            .unwrap_or(&self.sorted[0])
    }
}

fn month_start(date: Date) -> Date {
    date.replace_day(1).unwrap_or(date)
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[derive(Debug, PartialEq)]
    struct V(Date);
    impl Effective for V {
        fn effective_from(&self) -> Date {
            self.0
        }
    }

    fn two() -> Versions<V> {
        Versions::new(vec![V(date!(2026 - 07 - 15)), V(date!(2024 - 01 - 01))]).unwrap()
    }

    #[test]
    fn a_date_uses_the_latest_version_that_took_effect_on_or_before_it() {
        let v = two();
        assert_eq!(
            v.in_force_on(date!(2026 - 07 - 14)).0,
            date!(2024 - 01 - 01)
        );
        assert_eq!(
            v.in_force_on(date!(2026 - 07 - 15)).0,
            date!(2026 - 07 - 15)
        );
    }

    #[test]
    fn a_date_before_the_first_version_uses_the_first() {
        assert_eq!(
            two().in_force_on(date!(2020 - 01 - 01)).0,
            date!(2024 - 01 - 01)
        );
    }

    #[test]
    fn a_version_governs_its_whole_effective_month() {
        let v = two();
        assert_eq!(
            v.for_month_of(date!(2026 - 07 - 01)).0,
            date!(2026 - 07 - 15)
        );
        assert_eq!(
            v.for_month_of(date!(2026 - 06 - 30)).0,
            date!(2024 - 01 - 01)
        );
    }

    #[test]
    fn no_version_or_two_on_one_date_are_refused() {
        assert_eq!(
            Versions::<V>::new(vec![]).unwrap_err(),
            VersionsError::Empty
        );
        let same = vec![V(date!(2025 - 01 - 01)), V(date!(2025 - 01 - 01))];
        assert_eq!(
            Versions::new(same).unwrap_err(),
            VersionsError::SameDate(date!(2025 - 01 - 01))
        );
    }
}
