//! County policy for funeral services: every number the county sets, with defaults that run.
//!
//! Read from `CIVIL_FUNERAL_*` settings (or `[funeral]` in the TOML file):
//! `zone_default` (`cremation` | `burial_reform`), `zones` (`330723105:burial_reform,…`),
//! `slots_per_day`, `furnaces`, `waiver_extensions` (`key_entitled_groups,all_residents`),
//! `eco_reward_{tree,flower_lawn,sea,wall,deep}_fen`, `plot_max_area_dm2`.

use std::collections::BTreeMap;

use super::cremation::FurnaceSchedule;
use super::eco_burial::EcoRewardPolicy;
use super::plot::NATIONAL_MAX_AREA_DM2;
use super::waiver::WaiverExtensions;
use super::zone::{ZoneKind, ZonePolicy};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuneralPolicy {
    pub zones: ZonePolicy,
    pub schedule: FurnaceSchedule,
    pub waiver: WaiverExtensions,
    pub eco: EcoRewardPolicy,
    pub plot_max_area_dm2: i32,
}

impl Default for FuneralPolicy {
    fn default() -> Self {
        Self {
            zones: ZonePolicy::default(),
            schedule: FurnaceSchedule::default(),
            waiver: WaiverExtensions::default(),
            eco: EcoRewardPolicy::default(),
            plot_max_area_dm2: NATIONAL_MAX_AREA_DM2,
        }
    }
}

fn zone_kind(s: &str) -> Option<ZoneKind> {
    match s.trim() {
        "cremation" => Some(ZoneKind::Cremation),
        "burial_reform" => Some(ZoneKind::BurialReform),
        _ => None,
    }
}

impl FuneralPolicy {
    /// Builds the policy from settings looked up by key; reports every bad key at once.
    pub fn from_settings(
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<FuneralPolicy, Vec<String>> {
        let mut p = FuneralPolicy::default();
        let mut errors = Vec::new();
        let mut int = |key: &str, target: &mut i64| {
            if let Some(v) = get(key) {
                match v.trim().parse::<i64>() {
                    Ok(n) if n >= 0 => *target = n,
                    _ => errors.push(format!(
                        "funeral {key}={v:?}: must be a non-negative integer"
                    )),
                }
            }
        };
        let mut slots = i64::from(p.schedule.slots_per_day);
        let mut furnaces = i64::from(p.schedule.furnaces);
        let mut area = i64::from(p.plot_max_area_dm2);
        int("slots_per_day", &mut slots);
        int("furnaces", &mut furnaces);
        int("plot_max_area_dm2", &mut area);
        int("eco_reward_tree_fen", &mut p.eco.tree_fen);
        int("eco_reward_flower_lawn_fen", &mut p.eco.flower_lawn_fen);
        int("eco_reward_sea_fen", &mut p.eco.sea_fen);
        int("eco_reward_wall_fen", &mut p.eco.wall_fen);
        int("eco_reward_deep_fen", &mut p.eco.deep_fen);
        p.schedule.slots_per_day = i32::try_from(slots.clamp(1, 96)).unwrap_or(1);
        p.schedule.furnaces = i32::try_from(furnaces.clamp(1, 64)).unwrap_or(1);
        p.plot_max_area_dm2 =
            i32::try_from(area.clamp(1, i64::from(NATIONAL_MAX_AREA_DM2))).unwrap_or(1);
        if let Some(v) = get("zone_default") {
            match zone_kind(&v) {
                Some(z) => p.zones.default = z,
                None => errors.push(format!(
                    "funeral zone_default={v:?}: must be cremation or burial_reform"
                )),
            }
        }
        if let Some(v) = get("zones") {
            let mut areas = BTreeMap::new();
            for item in v.split(',').filter(|s| !s.trim().is_empty()) {
                match item.split_once(':') {
                    Some((prefix, kind))
                        if prefix.trim().bytes().all(|b| b.is_ascii_digit())
                            && zone_kind(kind).is_some() =>
                    {
                        areas.insert(
                            prefix.trim().to_owned(),
                            zone_kind(kind).unwrap_or(ZoneKind::Cremation),
                        );
                    }
                    _ => errors.push(format!(
                        "funeral zones item {item:?}: must be <region>:<cremation|burial_reform>"
                    )),
                }
            }
            p.zones.areas = areas;
        }
        if let Some(v) = get("waiver_extensions") {
            for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                match item {
                    "key_entitled_groups" => p.waiver.key_entitled_groups = true,
                    "all_residents" => p.waiver.all_residents = true,
                    other => {
                        errors.push(format!("funeral waiver_extensions item {other:?}: unknown"))
                    }
                }
            }
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
    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<FuneralPolicy, Vec<String>> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        FuneralPolicy::from_settings(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_run_without_settings() {
        let p = from(&[]).expect("defaults");
        assert_eq!(p.zones.default, ZoneKind::Cremation);
        assert_eq!(p.plot_max_area_dm2, 100);
    }

    #[test]
    fn county_settings_override_the_defaults() {
        let p = from(&[
            ("zones", "330723105:burial_reform"),
            ("furnaces", "1"),
            ("waiver_extensions", "all_residents"),
            ("plot_max_area_dm2", "70"),
            ("eco_reward_sea_fen", "300000"),
        ])
        .expect("valid");
        assert_eq!(p.zones.zone_of("330723105001"), ZoneKind::BurialReform);
        assert_eq!(p.schedule.furnaces, 1);
        assert!(p.waiver.all_residents && !p.waiver.key_entitled_groups);
        assert_eq!(p.plot_max_area_dm2, 70);
        assert_eq!(p.eco.sea_fen, 300_000);
    }

    #[test]
    fn every_bad_setting_is_reported() {
        let errors = from(&[
            ("zones", "33x:cremation"),
            ("furnaces", "-1"),
            ("waiver_extensions", "friends"),
        ])
        .expect_err("three bad settings");
        assert_eq!(errors.len(), 3, "{errors:?}");
    }
}
