//! The register (低收入人口库, 国办发〔2023〕39号): a household enters it per category, each entry
//! with its source and dates. 低保, 特困 and 低保边缘 come from the assistance benefits; 刚性支出
//! 困难 and 易返贫致贫 from a county decision. 低保边缘 and 刚性支出困难 exclude 低保 and 特困;
//! 刚性支出困难 also excludes 低保边缘 (刚性支出困难家庭认定办法 2024).

use serde::{Deserialize, Serialize};
use time::Date;

use crate::domain::benefit::BenefitKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// 低保对象.
    MinimumLiving,
    /// 特困人员.
    ExtremePoverty,
    /// 低保边缘家庭成员.
    NearThreshold,
    /// 刚性支出困难家庭成员.
    RigidSpending,
    /// 易返贫致贫人口.
    RelapseRisk,
}

impl Category {
    pub const ALL: [Category; 5] = [
        Category::MinimumLiving,
        Category::ExtremePoverty,
        Category::NearThreshold,
        Category::RigidSpending,
        Category::RelapseRisk,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::MinimumLiving => "minimum_living",
            Category::ExtremePoverty => "extreme_poverty",
            Category::NearThreshold => "near_threshold",
            Category::RigidSpending => "rigid_spending",
            Category::RelapseRisk => "relapse_risk",
        }
    }

    pub fn parse(text: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// The register category a benefit feeds; 临时救助 (one-off) feeds none.
pub fn category_of_benefit(kind: BenefitKind) -> Option<Category> {
    match kind {
        BenefitKind::MinimumLiving => Some(Category::MinimumLiving),
        BenefitKind::ExtremePoverty => Some(Category::ExtremePoverty),
        BenefitKind::NearThreshold => Some(Category::NearThreshold),
        BenefitKind::Temporary => None,
    }
}

/// Why a county entry is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegisterRefusal {
    #[error("低保, 特困 and 低保边缘 enter the register from the benefits only")]
    FromBenefits,
    #[error("the household is already in {0}, which excludes this category")]
    Excluded(&'static str),
    #[error("a 刚性支出困难 entry is valid for at most 12 months and needs its end date")]
    RigidSpendingValidity,
}

impl kit::rpc::Refusal for RegisterRefusal {
    fn reason(&self) -> &'static str {
        match self {
            RegisterRefusal::FromBenefits => "MONITORING_CATEGORY_FROM_BENEFITS",
            RegisterRefusal::Excluded(_) => "MONITORING_CATEGORY_EXCLUDED",
            RegisterRefusal::RigidSpendingValidity => "MONITORING_CATEGORY_VALIDITY",
        }
    }
}

/// Whether a county decision may enter a household in `category`, given the categories its
/// members already hold, for `starts_on..ends_on`.
pub fn check_county_entry(
    category: Category,
    held: &[Category],
    starts_on: Date,
    ends_on: Option<Date>,
) -> Result<(), RegisterRefusal> {
    let excluding: &[Category] = match category {
        Category::MinimumLiving | Category::ExtremePoverty | Category::NearThreshold => {
            return Err(RegisterRefusal::FromBenefits);
        }
        Category::RigidSpending => &[
            Category::MinimumLiving,
            Category::ExtremePoverty,
            Category::NearThreshold,
        ],
        Category::RelapseRisk => &[],
    };
    if let Some(found) = held.iter().find(|c| excluding.contains(c)) {
        return Err(RegisterRefusal::Excluded(found.as_str()));
    }
    if category == Category::RigidSpending {
        let limit = starts_on.replace_year(starts_on.year() + 1).ok();
        match (ends_on, limit) {
            (Some(end), Some(limit)) if end > starts_on && end <= limit => {}
            _ => return Err(RegisterRefusal::RigidSpendingValidity),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn each_regular_benefit_feeds_its_category_and_temporary_assistance_none() {
        assert_eq!(
            category_of_benefit(BenefitKind::MinimumLiving),
            Some(Category::MinimumLiving)
        );
        assert_eq!(
            category_of_benefit(BenefitKind::NearThreshold),
            Some(Category::NearThreshold)
        );
        assert_eq!(
            category_of_benefit(BenefitKind::ExtremePoverty),
            Some(Category::ExtremePoverty)
        );
        assert_eq!(category_of_benefit(BenefitKind::Temporary), None);
    }

    #[test]
    fn benefit_categories_cannot_be_entered_by_county_decision() {
        let r = check_county_entry(Category::NearThreshold, &[], date!(2026 - 01 - 01), None);
        assert_eq!(r, Err(RegisterRefusal::FromBenefits));
    }

    #[test]
    fn rigid_spending_excludes_households_in_minimum_living_extreme_poverty_or_near_threshold() {
        for held in [
            Category::MinimumLiving,
            Category::ExtremePoverty,
            Category::NearThreshold,
        ] {
            let r = check_county_entry(
                Category::RigidSpending,
                &[held],
                date!(2026 - 01 - 01),
                Some(date!(2026 - 12 - 31)),
            );
            assert_eq!(r, Err(RegisterRefusal::Excluded(held.as_str())));
        }
    }

    #[test]
    fn rigid_spending_is_valid_for_at_most_twelve_months() {
        let start = date!(2026 - 03 - 01);
        assert!(
            check_county_entry(
                Category::RigidSpending,
                &[],
                start,
                Some(date!(2027 - 03 - 01))
            )
            .is_ok()
        );
        for end in [Some(date!(2027 - 03 - 02)), None, Some(start)] {
            assert_eq!(
                check_county_entry(Category::RigidSpending, &[], start, end),
                Err(RegisterRefusal::RigidSpendingValidity)
            );
        }
    }

    #[test]
    fn relapse_risk_may_join_any_household() {
        let r = check_county_entry(
            Category::RelapseRisk,
            &[Category::MinimumLiving],
            date!(2026 - 01 - 01),
            None,
        );
        assert_eq!(r, Ok(()));
    }
}
