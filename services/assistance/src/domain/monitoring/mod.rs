//! 低收入人口动态监测 (RULES.md "Second round" §7): plain types and rules, no storage, no clock.
//!
//! - [`register`]: the register's categories, which benefits feed which, and the exclusions.
//! - [`rules`]: the county's rules, versioned by effective date: which signal on which household
//!   raises which level, and the due date in working days.
//! - [`warning`]: a warning's lifecycle (raised -> assigned -> visited -> closed with evidence),
//!   merging, overdue and escalation.
//! - [`stats`]: the per-township, per-month tally.
//! - [`township`]: the township that owns a household's warnings, from its region code.

pub mod register;
pub mod rules;
pub mod stats;
pub mod township;
pub mod warning;

use serde::{Deserialize, Serialize};

/// What a signal says happened (departments' kinds, then the suite's own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalKind {
    MedicalSpending,
    Unemployment,
    DisabilityCertificate,
    SchoolDropout,
    SchoolEnrolment,
    HousingDamage,
    Death,
    IncomeDrop,
    /// A benefit of the household ended for another reason than death.
    BenefitTerminated,
    /// An eldercare visit recorded a risk.
    EldercareRisk,
}

impl SignalKind {
    pub const ALL: [SignalKind; 10] = [
        SignalKind::MedicalSpending,
        SignalKind::Unemployment,
        SignalKind::DisabilityCertificate,
        SignalKind::SchoolDropout,
        SignalKind::SchoolEnrolment,
        SignalKind::HousingDamage,
        SignalKind::Death,
        SignalKind::IncomeDrop,
        SignalKind::BenefitTerminated,
        SignalKind::EldercareRisk,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SignalKind::MedicalSpending => "medical_spending",
            SignalKind::Unemployment => "unemployment",
            SignalKind::DisabilityCertificate => "disability_certificate",
            SignalKind::SchoolDropout => "school_dropout",
            SignalKind::SchoolEnrolment => "school_enrolment",
            SignalKind::HousingDamage => "housing_damage",
            SignalKind::Death => "death",
            SignalKind::IncomeDrop => "income_drop",
            SignalKind::BenefitTerminated => "benefit_terminated",
            SignalKind::EldercareRisk => "eldercare_risk",
        }
    }

    pub fn parse(text: &str) -> Option<SignalKind> {
        SignalKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// Whether the signal carries an amount (fen) that must be positive.
    pub fn needs_amount(self) -> bool {
        matches!(self, SignalKind::MedicalSpending | SignalKind::IncomeDrop)
    }
}

/// A warning's level: red is the most urgent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Yellow,
    Orange,
    Red,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Red => "red",
            Level::Orange => "orange",
            Level::Yellow => "yellow",
        }
    }

    pub fn parse(text: &str) -> Option<Level> {
        [Level::Red, Level::Orange, Level::Yellow]
            .into_iter()
            .find(|l| l.as_str() == text)
    }
}

/// Serde for a calendar date as `YYYY-MM-DD` (the sealed visit and closure records).
pub(crate) mod date_text {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::Date;
    use time::macros::format_description;

    pub fn serialize<S: Serializer>(date: &Date, s: S) -> Result<S::Ok, S::Error> {
        let text = date
            .format(format_description!("[year]-[month]-[day]"))
            .map_err(serde::ser::Error::custom)?;
        s.serialize_str(&text)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let text = String::deserialize(d)?;
        Date::parse(&text, format_description!("[year]-[month]-[day]"))
            .map_err(serde::de::Error::custom)
    }
}
