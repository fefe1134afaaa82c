//! Elders imported from the county population register.

use civil_id::IdNumber;
use time::Date;

/// 特殊困难老年人 categories (and 高龄, which is not a difficulty by itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LivingSituation {
    /// 独居.
    LivingAlone,
    /// 空巢.
    EmptyNest,
    /// 失能.
    Disabled,
    /// 特困.
    ExtremePoverty,
    /// 高龄.
    AdvancedAge,
}

impl LivingSituation {
    pub const ALL: [LivingSituation; 5] = [
        LivingSituation::LivingAlone,
        LivingSituation::EmptyNest,
        LivingSituation::Disabled,
        LivingSituation::ExtremePoverty,
        LivingSituation::AdvancedAge,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LivingSituation::LivingAlone => "living_alone",
            LivingSituation::EmptyNest => "empty_nest",
            LivingSituation::Disabled => "disabled",
            LivingSituation::ExtremePoverty => "extreme_poverty",
            LivingSituation::AdvancedAge => "advanced_age",
        }
    }

    pub fn parse(s: &str) -> Option<LivingSituation> {
        LivingSituation::ALL.into_iter().find(|l| l.as_str() == s)
    }

    /// Whether this is a special difficulty that calls for monthly visits.
    pub fn is_special_difficulty(self) -> bool {
        !matches!(self, LivingSituation::AdvancedAge)
    }
}

/// The birth date given alongside an identity number must be the one encoded in it (GB 11643).
pub fn birth_date_agrees(id: &IdNumber, birth_date: Date) -> bool {
    id.birth_date() == birth_date
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    fn id(first17: &str) -> IdNumber {
        let check = IdNumber::check_char(first17);
        IdNumber::parse(&format!("{first17}{check}")).expect("valid")
    }

    #[test]
    fn a_birth_date_that_disagrees_with_the_identity_number_is_refused_gb_11643() {
        let n = id("33072319460315001");
        assert!(birth_date_agrees(&n, date!(1946 - 03 - 15)));
        assert!(!birth_date_agrees(&n, date!(1946 - 03 - 16)));
    }

    #[test]
    fn advanced_age_alone_is_not_a_special_difficulty() {
        assert!(!LivingSituation::AdvancedAge.is_special_difficulty());
        assert!(LivingSituation::LivingAlone.is_special_difficulty());
        for s in LivingSituation::ALL {
            assert_eq!(LivingSituation::parse(s.as_str()), Some(s));
        }
    }
}
