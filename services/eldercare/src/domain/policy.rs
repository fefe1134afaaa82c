//! County policy for elderly care, with defaults that run.
//!
//! `CIVIL_ELDERCARE_*` settings (or `[eldercare]` in the TOML file):
//! `allowance_80_fen`, `allowance_90_fen`, `allowance_100_fen`,
//! `care_subsidy_level_{0..4}_fen`.

use super::allowance::AllowanceAmounts;
use super::assessment::CareSubsidies;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EldercarePolicy {
    pub allowance: AllowanceAmounts,
    pub care: CareSubsidies,
}

impl EldercarePolicy {
    /// Builds the policy from settings looked up by key; reports every bad key at once.
    pub fn from_settings(
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<EldercarePolicy, Vec<String>> {
        let mut p = EldercarePolicy::default();
        let mut errors = Vec::new();
        let mut int = |key: &str, target: &mut i64| {
            if let Some(v) = get(key) {
                match v.trim().parse::<i64>() {
                    Ok(n) if n >= 0 => *target = n,
                    _ => errors.push(format!(
                        "eldercare {key}={v:?}: must be a non-negative integer (fen)"
                    )),
                }
            }
        };
        int("allowance_80_fen", &mut p.allowance.from80_fen);
        int("allowance_90_fen", &mut p.allowance.from90_fen);
        int("allowance_100_fen", &mut p.allowance.from100_fen);
        for (level, amount) in p.care.by_level_fen.iter_mut().enumerate() {
            int(&format!("care_subsidy_level_{level}_fen"), amount);
        }
        if errors.is_empty() {
            Ok(p)
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn county_amounts_override_defaults_and_bad_ones_are_all_reported() {
        let map: BTreeMap<&str, &str> = [
            ("allowance_90_fen", "30000"),
            ("care_subsidy_level_4_fen", "1"),
        ]
        .into();
        let p =
            EldercarePolicy::from_settings(|k| map.get(k).map(|v| v.to_string())).expect("valid");
        assert_eq!(p.allowance.from90_fen, 30_000);
        assert_eq!(
            p.allowance.from80_fen,
            AllowanceAmounts::default().from80_fen
        );
        assert_eq!(p.care.by_level_fen[4], 1);
        let bad: BTreeMap<&str, &str> = [
            ("allowance_80_fen", "-1"),
            ("care_subsidy_level_0_fen", "x"),
        ]
        .into();
        let errors =
            EldercarePolicy::from_settings(|k| bad.get(k).map(|v| v.to_string())).expect_err("bad");
        assert_eq!(errors.len(), 2);
    }
}
