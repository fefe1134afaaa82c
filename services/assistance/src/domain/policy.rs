//! County policy: the numbers a county sets, versioned by effective date (RULES.md: "every number
//! that says county policy is configuration per county, versioned by effective date").
//!
//! The default policy ships in `policy/default.toml` (example values). A decision uses the
//! version in force on its date and stores the version id; a payment month uses the version in
//! force on the month's first day, so a new standard applies from its effective month.

use civil_calendar::{Effective, Versions};
use money::Fen;
use serde::Deserialize;
use time::Date;

use super::month::Month;

/// The policy shipped with the crate (example values, Wuyi-county-like).
pub const DEFAULT_POLICY_TOML: &str = include_str!("../../policy/default.toml");

/// Why a policy file was refused.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("policy file is not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("version {id}: effective_from must be YYYY-MM-DD")]
    Date { id: String },
    #[error(transparent)]
    Versions(#[from] civil_calendar::VersionsError),
    #[error("version {id}: {what}")]
    Invalid { id: String, what: &'static str },
}

/// How a monthly total is rounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// Kept in fen.
    None,
    /// Rounded up to whole yuan (100 fen).
    UpToYuan,
}

impl Rounding {
    /// Returns `fen` rounded per this rule. Never lowers an amount.
    /// The rounded amount, or `None` when it does not fit.
    pub fn apply(self, fen: Fen) -> Option<Fen> {
        match self {
            Rounding::None => Some(fen),
            Rounding::UpToYuan => fen.checked_ceil_yuan(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PropertyLimits {
    pub financial_assets_per_member_fen: Fen,
    /// When set, the financial-asset limit per member is this many months of the area's
    /// standard (e.g. 24), versioned with the standard; it replaces the fixed amount above.
    #[serde(default)]
    pub financial_assets_standard_months: Option<u32>,
    pub max_houses: u32,
    pub max_vehicles: u32,
}

/// Category add-ons of 低保 (county policy); they stack across categories.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Addons {
    pub elderly_min_age: u32,
    pub elderly_fen: Fen,
    pub severely_disabled_fen: Fen,
    pub children_under_age: u32,
    pub child_fen: Fen,
    /// When set, each add-on is this percentage of the member's own (urban or rural) standard
    /// instead of the fixed amount above.
    #[serde(default)]
    pub elderly_percent: Option<i64>,
    #[serde(default)]
    pub severely_disabled_percent: Option<i64>,
    #[serde(default)]
    pub child_percent: Option<i64>,
    /// How a member in several categories is paid: every add-on (`stack`, the default) or only
    /// the highest (`highest`).
    #[serde(default)]
    pub combine: AddonRule,
}

/// Stacking or "single highest" add-ons, by county policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddonRule {
    #[default]
    Stack,
    Highest,
}

/// 特困 support and care standards.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ExtremePovertyStandards {
    pub basic_support_fen: Fen,
    pub care_self_caring_fen: Fen,
    pub care_partly_dependent_fen: Fen,
    pub care_fully_dependent_fen: Fen,
}

/// 临时救助 bounds.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TemporaryBounds {
    pub min_fen: Fen,
    pub emergency_max_fen: Fen,
    pub expenditure_max_fen: Fen,
    /// 支出型: the share (percent) of the household's out-of-pocket spending the county pays.
    #[serde(default)]
    pub expenditure_rate_percent: Option<i64>,
    /// Per household and calendar year: what its temporary grants together may not pass.
    #[serde(default)]
    pub household_yearly_limit_fen: Option<Fen>,
}

/// One version of the county policy.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PolicyVersion {
    pub id: String,
    #[serde(skip, default = "unix_epoch")]
    pub effective_from: Date,
    pub urban_standard_fen: Fen,
    pub rural_standard_fen: Fen,
    pub near_threshold_percent: i64,
    pub rounding: Rounding,
    pub phase_out_months: u32,
    pub review_interval_months: u32,
    pub review_interval_months_able_to_work: u32,
    pub review_deadline_working_days: u32,
    pub property_limits: PropertyLimits,
    pub addons: Addons,
    pub extreme_poverty: ExtremePovertyStandards,
    pub temporary: TemporaryBounds,
}

fn unix_epoch() -> Date {
    Date::MIN
}

/// Urban or rural household register: the two may have different standards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize)]
pub enum Area {
    Urban,
    Rural,
}

impl PolicyVersion {
    /// Returns the 低保 standard per member per month for the area.
    /// The financial-asset limit of a household of `members` persons, or `None` when it does
    /// not fit in `i64` fen (then nothing representable exceeds it).
    pub fn financial_assets_limit(&self, area: Area, members: usize) -> Option<Fen> {
        let per_member = match self.property_limits.financial_assets_standard_months {
            Some(months) => self.standard_fen(area).checked_mul(i64::from(months))?,
            None => self.property_limits.financial_assets_per_member_fen,
        };
        per_member.checked_mul_count(members)
    }

    /// The add-on of a category for a member whose own standard is that of `area`: a share of
    /// it when the policy gives one, else the fixed amount.
    pub fn addon_fen(&self, fixed: Fen, percent: Option<i64>, area: Area) -> Option<Fen> {
        match percent {
            Some(percent) => self.standard_fen(area).checked_mul_ratio(percent, 100),
            None => Some(fixed),
        }
    }

    pub fn standard_fen(&self, area: Area) -> Fen {
        match area {
            Area::Urban => self.urban_standard_fen,
            Area::Rural => self.rural_standard_fen,
        }
    }

    fn validate(&self) -> Result<(), PolicyError> {
        let invalid = |what| PolicyError::Invalid {
            id: self.id.clone(),
            what,
        };
        if self.urban_standard_fen <= Fen::ZERO || self.rural_standard_fen <= Fen::ZERO {
            return Err(invalid("standards must be positive"));
        }
        if self.phase_out_months > 12 {
            return Err(invalid("phase_out_months must be at most 12"));
        }
        if self.review_deadline_working_days == 0 || self.review_deadline_working_days > 45 {
            return Err(invalid(
                "review_deadline_working_days must be 1-45 (national maximum with extension)",
            ));
        }
        let t = &self.temporary;
        if t.min_fen < Fen::ZERO
            || t.emergency_max_fen < t.min_fen
            || t.expenditure_max_fen < t.min_fen
        {
            return Err(invalid("temporary bounds must satisfy 0 <= min <= max"));
        }
        if t.expenditure_rate_percent
            .is_some_and(|r| !(1..=100).contains(&r))
        {
            return Err(invalid("expenditure_rate_percent must be 1-100"));
        }
        if t.household_yearly_limit_fen.is_some_and(|l| l < t.min_fen) {
            return Err(invalid(
                "household_yearly_limit_fen must be at least min_fen",
            ));
        }
        let amounts = [
            self.addons.elderly_fen,
            self.addons.severely_disabled_fen,
            self.addons.child_fen,
            self.extreme_poverty.basic_support_fen,
            self.extreme_poverty.care_self_caring_fen,
            self.extreme_poverty.care_partly_dependent_fen,
            self.extreme_poverty.care_fully_dependent_fen,
            self.property_limits.financial_assets_per_member_fen,
            self.urban_standard_fen,
            self.rural_standard_fen,
            self.temporary.min_fen,
            self.temporary.emergency_max_fen,
            self.temporary.expenditure_max_fen,
        ];
        if amounts.iter().any(|a| a.is_negative()) {
            return Err(invalid("amounts must not be negative"));
        }
        if amounts.iter().any(|a| *a > Fen::MAX_DECLARED) {
            return Err(invalid(
                "amounts must be at most 10^12 fen (the bound of money fields)",
            ));
        }
        let a = &self.addons;
        let shares = [
            a.elderly_percent,
            a.severely_disabled_percent,
            a.child_percent,
        ];
        if shares.iter().flatten().any(|p| !(0..=500).contains(p)) {
            return Err(invalid("add-on percentages must be 0-500"));
        }
        if self
            .property_limits
            .financial_assets_standard_months
            .is_some_and(|m| m == 0 || m > 120)
        {
            return Err(invalid("financial_assets_standard_months must be 1-120"));
        }
        if !(101..=1_000).contains(&self.near_threshold_percent) {
            return Err(invalid("near_threshold_percent must be 101-1000"));
        }
        Ok(())
    }
}

#[derive(Deserialize)]
struct RawVersion {
    effective_from: String,
    #[serde(flatten)]
    version: PolicyVersion,
}

#[derive(Deserialize)]
struct RawPolicy {
    county: String,
    #[serde(default)]
    example: bool,
    version: Vec<RawVersion>,
}

/// All versions of a county's policy, ordered by effective date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub county: String,
    /// True for the shipped example values (services warn at start).
    pub example: bool,
    versions: Versions<PolicyVersion>,
}

impl Effective for PolicyVersion {
    fn effective_from(&self) -> Date {
        self.effective_from
    }
}

impl Policy {
    /// Parses and checks a policy file.
    pub fn from_toml(text: &str) -> Result<Policy, PolicyError> {
        let raw: RawPolicy = toml::from_str(text)?;
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let mut versions = Vec::with_capacity(raw.version.len());
        for raw_version in raw.version {
            let mut version = raw_version.version;
            version.effective_from =
                Date::parse(&raw_version.effective_from, format).map_err(|_| {
                    PolicyError::Date {
                        id: version.id.clone(),
                    }
                })?;
            version.validate()?;
            versions.push(version);
        }
        Ok(Policy {
            county: raw.county,
            example: raw.example,
            versions: Versions::new(versions)?,
        })
    }

    /// Returns the shipped example policy.
    pub fn default_policy() -> Policy {
        // Checked by the tests below, so a broken file cannot ship.
        Policy::from_toml(DEFAULT_POLICY_TOML).expect("the shipped policy is valid")
    }

    /// Returns the version in force on `date`: the latest that took effect on or before it.
    /// Before the first version, the first one applies (there is no older rule to use).
    pub fn in_force_on(&self, date: Date) -> &PolicyVersion {
        self.versions.in_force_on(date)
    }

    /// Returns the version that governs payments for `month`: a version applies from its
    /// effective month, even when it takes effect after the 1st.
    pub fn in_force_for_month(&self, month: Month) -> &PolicyVersion {
        self.versions.for_month_of(month.first_day())
    }

    /// Returns a version by id (to reproduce a stored decision).
    pub fn version(&self, id: &str) -> Option<&PolicyVersion> {
        self.versions.iter().find(|v| v.id == id)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn the_shipped_policy_parses_and_is_marked_as_example() {
        let policy = Policy::default_policy();
        assert!(policy.example);
        assert_eq!(policy.county, "330723");
    }

    #[test]
    fn a_decision_uses_the_version_in_force_on_its_date() {
        let policy = Policy::default_policy();
        assert_eq!(
            policy.in_force_on(date!(2026 - 06 - 30)).id,
            "330723-2025-07-example"
        );
        assert_eq!(
            policy.in_force_on(date!(2026 - 07 - 01)).id,
            "330723-2026-07-example"
        );
        assert_eq!(
            policy.in_force_on(date!(2024 - 01 - 01)).id,
            "330723-2025-07-example"
        );
    }

    #[test]
    fn a_new_standard_applies_from_its_effective_month() {
        let text = DEFAULT_POLICY_TOML.replace(
            "effective_from = \"2026-07-01\"",
            "effective_from = \"2026-07-15\"",
        );
        let policy = Policy::from_toml(&text).expect("valid");
        let july = Month::parse("2026-07").expect("month");
        assert_eq!(policy.in_force_for_month(july).id, "330723-2026-07-example");
        assert_eq!(
            policy.in_force_on(date!(2026 - 07 - 14)).id,
            "330723-2025-07-example"
        );
    }

    #[test]
    fn a_stored_version_id_finds_its_numbers_again() {
        let policy = Policy::default_policy();
        assert_eq!(
            policy
                .version("330723-2025-07-example")
                .map(|v| v.urban_standard_fen),
            Some(Fen::new(117_500))
        );
    }

    #[test]
    fn two_versions_on_one_date_are_refused() {
        let text = DEFAULT_POLICY_TOML.replace("2026-07-01", "2025-07-01");
        assert!(matches!(
            Policy::from_toml(&text),
            Err(PolicyError::Versions(
                civil_calendar::VersionsError::SameDate(_)
            ))
        ));
    }

    #[test]
    fn a_near_threshold_multiple_of_one_or_less_is_refused() {
        let text = DEFAULT_POLICY_TOML.replacen(
            "near_threshold_percent = 150",
            "near_threshold_percent = 100",
            1,
        );
        assert!(matches!(
            Policy::from_toml(&text),
            Err(PolicyError::Invalid { .. })
        ));
    }

    #[test]
    fn rounding_up_to_yuan_never_lowers_an_amount() {
        assert_eq!(
            Rounding::UpToYuan.apply(Fen::new(12_301)),
            Some(Fen::new(12_400))
        );
        assert_eq!(
            Rounding::UpToYuan.apply(Fen::new(12_300)),
            Some(Fen::new(12_300))
        );
        assert_eq!(
            Rounding::None.apply(Fen::new(12_301)),
            Some(Fen::new(12_301))
        );
        assert_eq!(Rounding::UpToYuan.apply(Fen::new(i64::MAX)), None);
    }
}
