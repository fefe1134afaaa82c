//! The county's monitoring rules, versioned by effective date (`policy/monitoring.toml`): which
//! signal on which household raises which level, and the home-visit deadline per level in
//! working days (no national levels exist; RULES.md §7 "Levels and deadlines").

use serde::Deserialize;
use time::Date;

use super::register::Category;
use super::{Level, SignalKind};

/// The shipped example rules.
pub const EXAMPLE: &str = include_str!("../../../policy/monitoring.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct MonitoringPolicy {
    pub county: String,
    #[serde(default)]
    pub example: bool,
    pub versions: Vec<Version>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Version {
    pub id: String,
    /// YYYY-MM-DD, as written; parsed into `effective`.
    effective_from: String,
    #[serde(skip, default = "earliest")]
    pub effective: Date,
    pub due_working_days: DueDays,
    pub rules: Vec<Rule>,
}

fn earliest() -> Date {
    Date::MIN
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct DueDays {
    pub red: u32,
    pub orange: u32,
    pub yellow: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Rule {
    pub id: String,
    pub signal: SignalKind,
    /// Register categories, `unregistered`, or `any`.
    pub households: Vec<String>,
    #[serde(default)]
    pub min_amount_fen: i64,
    pub level: Level,
}

/// What the rules make of a signal: the level, the rule (`version/rule`) and the visit deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub level: Level,
    pub rule: String,
    pub due_working_days: u32,
}

impl DueDays {
    pub fn of(&self, level: Level) -> u32 {
        match level {
            Level::Red => self.red,
            Level::Orange => self.orange,
            Level::Yellow => self.yellow,
        }
    }
}

impl MonitoringPolicy {
    /// Parses and checks a policy: dates, household words, and due periods of at least one
    /// working day.
    pub fn from_toml(text: &str) -> anyhow::Result<Self> {
        let mut policy: MonitoringPolicy = toml::from_str(text)?;
        let format = time::macros::format_description!("[year]-[month]-[day]");
        for version in &mut policy.versions {
            version.effective = Date::parse(&version.effective_from, format).map_err(|_| {
                anyhow::anyhow!("version {}: effective_from must be YYYY-MM-DD", version.id)
            })?;
        }
        policy.versions.sort_by_key(|v| v.effective);
        anyhow::ensure!(!policy.versions.is_empty(), "no rule version");
        for version in &policy.versions {
            let d = version.due_working_days;
            anyhow::ensure!(
                d.red >= 1 && d.orange >= 1 && d.yellow >= 1,
                "version {}: every due period is at least one working day",
                version.id
            );
            for rule in &version.rules {
                for word in &rule.households {
                    anyhow::ensure!(
                        word == "any" || word == "unregistered" || Category::parse(word).is_some(),
                        "rule {}: unknown household word {word}",
                        rule.id
                    );
                }
            }
        }
        Ok(policy)
    }

    pub fn example() -> Self {
        Self::from_toml(EXAMPLE).expect("the shipped monitoring policy parses")
    }

    /// The version in force on `day`: the latest that took effect on or before it (the earliest
    /// when `day` precedes them all).
    pub fn version_on(&self, day: Date) -> &Version {
        self.versions
            .iter()
            .rev()
            .find(|v| v.effective <= day)
            .unwrap_or(&self.versions[0])
    }

    /// Evaluates a signal received on `received_on` about a household holding `held`.
    pub fn evaluate(
        &self,
        received_on: Date,
        kind: SignalKind,
        held: &[Category],
        amount_fen: i64,
    ) -> Option<Verdict> {
        let version = self.version_on(received_on);
        version
            .rules
            .iter()
            .filter(|r| r.signal == kind && amount_fen >= r.min_amount_fen)
            .filter(|r| r.households.iter().any(|w| matches_household(w, held)))
            .max_by_key(|r| r.level)
            .map(|r| Verdict {
                level: r.level,
                rule: format!("{}/{}", version.id, r.id),
                due_working_days: version.due_working_days.of(r.level),
            })
    }
}

fn matches_household(word: &str, held: &[Category]) -> bool {
    match word {
        "any" => true,
        "unregistered" => held.is_empty(),
        other => Category::parse(other).is_some_and(|c| held.contains(&c)),
    }
}

/// The day the home visit is due: `days` working days after the day the signal was received
/// (the day of receipt not counted; RULES.md Conventions, periods in working days).
pub fn due_on(calendar: &civil_calendar::HolidayCalendar, received_on: Date, days: u32) -> Date {
    calendar.add_working_days(received_on, days)
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    const DAY: Date = date!(2026 - 03 - 02);

    fn policy() -> MonitoringPolicy {
        MonitoringPolicy::example()
    }

    #[test]
    fn large_medical_spending_on_a_near_threshold_household_is_orange() {
        let v = policy()
            .evaluate(
                DAY,
                SignalKind::MedicalSpending,
                &[Category::NearThreshold],
                1_200_000,
            )
            .expect("a warning");
        assert_eq!(v.level, Level::Orange);
        assert_eq!(v.rule, "M2024/medical-edge");
        assert_eq!(v.due_working_days, 7);
    }

    #[test]
    fn the_most_urgent_matching_rule_wins() {
        let v = policy()
            .evaluate(
                DAY,
                SignalKind::MedicalSpending,
                &[Category::NearThreshold],
                6_000_000,
            )
            .expect("a warning");
        assert_eq!(v.level, Level::Red);
        assert_eq!(v.due_working_days, 3);
    }

    #[test]
    fn an_amount_below_the_rules_minimum_raises_nothing() {
        let v = policy().evaluate(
            DAY,
            SignalKind::MedicalSpending,
            &[Category::NearThreshold],
            999_999,
        );
        assert_eq!(v, None);
    }

    #[test]
    fn unregistered_matches_only_a_household_in_no_category() {
        let p = policy();
        let none = p.evaluate(DAY, SignalKind::Death, &[], 0);
        assert_eq!(none, None);
        let v = p.evaluate(DAY, SignalKind::MedicalSpending, &[], 1_000_000);
        assert_eq!(v.map(|v| v.level), Some(Level::Yellow));
    }

    #[test]
    fn the_version_in_force_on_the_day_of_receipt_applies() {
        let text = EXAMPLE.to_owned()
            + r#"
[[versions]]
id = "M2026"
effective_from = "2026-07-01"
due_working_days = { red = 2, orange = 5, yellow = 10 }
rules = [{ id = "dropout", signal = "school_dropout", households = ["any"], level = "red" }]
"#;
        let p = MonitoringPolicy::from_toml(&text).expect("parses");
        let before = p.evaluate(date!(2026 - 06 - 30), SignalKind::SchoolDropout, &[], 0);
        let after = p.evaluate(date!(2026 - 07 - 01), SignalKind::SchoolDropout, &[], 0);
        assert_eq!(
            before.map(|v| (v.level, v.rule)),
            Some((Level::Orange, "M2024/dropout".into()))
        );
        assert_eq!(
            after.map(|v| (v.level, v.rule, v.due_working_days)),
            Some((Level::Red, "M2026/dropout".into(), 2))
        );
    }

    #[test]
    fn an_unknown_household_word_is_refused_at_load() {
        let text = EXAMPLE.replace(
            "\"near_threshold\", \"rigid_spending\", \"relapse_risk\"]",
            "\"poor\"]",
        );
        assert!(MonitoringPolicy::from_toml(&text).is_err());
    }

    #[test]
    fn the_visit_is_due_in_working_days_after_the_day_of_receipt() {
        let calendar = civil_calendar::HolidayCalendar::embedded();
        // Received Monday 2026-09-28: 7 working days skip the National Day holiday
        // (10-01..10-07) and land after the make-up working days.
        let due = due_on(&calendar, date!(2026 - 09 - 28), 7);
        assert_eq!(due, calendar.add_working_days(date!(2026 - 09 - 28), 7));
        assert!(due > date!(2026 - 10 - 07));
        // Received Friday 2026-03-06: 3 working days is Wednesday 2026-03-11.
        assert_eq!(
            due_on(&calendar, date!(2026 - 03 - 06), 3),
            date!(2026 - 03 - 11)
        );
    }
}
