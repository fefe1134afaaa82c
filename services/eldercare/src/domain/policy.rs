//! County policy for elderly care: the amounts a county sets, versioned by effective date
//! (RULES.md: "every number that says county policy is configuration per county, versioned by
//! effective date").
//!
//! The shipped example is `policy/default.toml`; a county names its own file with
//! `CIVIL_ELDERCARE_POLICY_FILE` (service setting `eldercare.policy_file`). A payment month uses
//! the version in force on the month's first day (a version applies from its effective month),
//! so a roll for a past month pays that month's amounts whenever it is built. The first
//! version's date is the policy start: no allowance day before it exists.

use money::Fen;
use serde::Deserialize;
use time::Date;

use super::allowance::AllowanceAmounts;
use super::assessment::CareSubsidies;
use civil_calendar::{Effective, Versions};

/// The policy shipped with the crate (example values).
pub const DEFAULT_POLICY_TOML: &str = include_str!("../../policy/default.toml");

/// Default catch-up window of RunDailyGrants, in days.
pub const DEFAULT_CATCH_UP_DAYS: u32 = 366;

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

impl Effective for AmountsVersion {
    fn effective_from(&self) -> Date {
        self.effective_from
    }
}

/// The amounts in force from one date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmountsVersion {
    pub id: String,
    pub effective_from: Date,
    pub allowance: AllowanceAmounts,
    pub care: CareSubsidies,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EldercarePolicy {
    pub county: String,
    /// True for the shipped example values (the service warns at start).
    pub example: bool,
    /// How many days back RunDailyGrants may be run for a missed day.
    pub grants_catch_up_days: u32,
    versions: Versions<AmountsVersion>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVersion {
    id: String,
    effective_from: String,
    allowance_80_fen: i64,
    allowance_90_fen: i64,
    allowance_100_fen: i64,
    care_subsidy_level_fen: [i64; 5],
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    county: String,
    #[serde(default)]
    example: bool,
    grants_catch_up_days: Option<u32>,
    version: Vec<RawVersion>,
}

impl RawVersion {
    fn into_version(self) -> Result<AmountsVersion, PolicyError> {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let effective_from =
            Date::parse(&self.effective_from, format).map_err(|_| PolicyError::Date {
                id: self.id.clone(),
            })?;
        let amount = |fen: i64| {
            Fen::bounded(fen, "amount", Fen::MAX_DECLARED).map_err(|_| PolicyError::Invalid {
                id: self.id.clone(),
                what: "amounts must be between 0 and 10^12 fen",
            })
        };
        let mut care = [Fen::ZERO; 5];
        for (slot, fen) in care.iter_mut().zip(self.care_subsidy_level_fen) {
            *slot = amount(fen)?;
        }
        Ok(AmountsVersion {
            effective_from,
            allowance: AllowanceAmounts {
                from80: amount(self.allowance_80_fen)?,
                from90: amount(self.allowance_90_fen)?,
                from100: amount(self.allowance_100_fen)?,
            },
            care: CareSubsidies { by_level: care },
            id: self.id,
        })
    }
}

impl EldercarePolicy {
    /// Parses and checks a policy file.
    pub fn from_toml(text: &str) -> Result<EldercarePolicy, PolicyError> {
        let raw: RawPolicy = toml::from_str(text)?;
        let versions = Versions::new(
            raw.version
                .into_iter()
                .map(RawVersion::into_version)
                .collect::<Result<Vec<_>, _>>()?,
        )?;
        Ok(EldercarePolicy {
            county: raw.county,
            example: raw.example,
            grants_catch_up_days: raw.grants_catch_up_days.unwrap_or(DEFAULT_CATCH_UP_DAYS),
            versions,
        })
    }

    /// The shipped example policy.
    pub fn default_policy() -> EldercarePolicy {
        // Checked by the tests below, so a broken file cannot ship.
        EldercarePolicy::from_toml(DEFAULT_POLICY_TOML).expect("the shipped policy is valid")
    }

    /// The first day any version is in force.
    pub fn start(&self) -> Date {
        self.versions.first().effective_from
    }

    /// The version in force on `date`: the latest that took effect on or before it (the first
    /// one before the policy start).
    pub fn in_force_on(&self, date: Date) -> &AmountsVersion {
        self.versions.in_force_on(date)
    }

    /// The version that governs payments for the month of `month`: a version applies from its
    /// effective month, even when it takes effect after the 1st.
    pub fn for_month(&self, month: Date) -> &AmountsVersion {
        self.versions.for_month_of(month)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    const TWO_VERSIONS: &str = r#"
        county = "330723"
        grants_catch_up_days = 31
        [[version]]
        id = "v2026-07"
        effective_from = "2026-07-15"
        allowance_80_fen = 12_000
        allowance_90_fen = 24_000
        allowance_100_fen = 60_000
        care_subsidy_level_fen = [0, 0, 12_000, 24_000, 36_000]
        [[version]]
        id = "v2024"
        effective_from = "2024-01-01"
        allowance_80_fen = 10_000
        allowance_90_fen = 20_000
        allowance_100_fen = 50_000
        care_subsidy_level_fen = [0, 0, 10_000, 20_000, 30_000]
    "#;

    #[test]
    fn the_shipped_policy_parses_and_is_marked_as_example() {
        let p = EldercarePolicy::default_policy();
        assert!(p.example);
        assert_eq!(p.start(), date!(2024 - 01 - 01));
        assert_eq!(p.grants_catch_up_days, DEFAULT_CATCH_UP_DAYS);
    }

    #[test]
    fn a_new_amount_applies_from_its_effective_month_and_older_months_keep_theirs() {
        let p = EldercarePolicy::from_toml(TWO_VERSIONS).expect("valid");
        assert_eq!(p.start(), date!(2024 - 01 - 01), "versions are sorted");
        assert_eq!(p.grants_catch_up_days, 31);
        assert_eq!(p.for_month(date!(2026 - 06 - 01)).id, "v2024");
        assert_eq!(
            p.for_month(date!(2026 - 07 - 01)).id,
            "v2026-07",
            "from its effective month"
        );
        assert_eq!(p.in_force_on(date!(2026 - 07 - 14)).id, "v2024");
        assert_eq!(
            p.for_month(date!(2026 - 07 - 01)).allowance.from80,
            Fen::new(12_000)
        );
    }

    #[test]
    fn negative_amounts_duplicate_dates_and_bad_dates_are_refused() {
        let negative = TWO_VERSIONS.replace("allowance_80_fen = 12_000", "allowance_80_fen = -1");
        assert!(matches!(
            EldercarePolicy::from_toml(&negative),
            Err(PolicyError::Invalid { .. })
        ));
        let same = TWO_VERSIONS.replace("2026-07-15", "2024-01-01");
        assert!(matches!(
            EldercarePolicy::from_toml(&same),
            Err(PolicyError::Versions(
                civil_calendar::VersionsError::SameDate(_)
            ))
        ));
        let bad = TWO_VERSIONS.replace("2026-07-15", "2026-13-01");
        assert!(matches!(
            EldercarePolicy::from_toml(&bad),
            Err(PolicyError::Date { .. })
        ));
        assert!(matches!(
            EldercarePolicy::from_toml("county = \"330723\"\nversion = []"),
            Err(PolicyError::Versions(civil_calendar::VersionsError::Empty))
        ));
    }
}
