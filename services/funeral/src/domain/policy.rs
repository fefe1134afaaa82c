//! County policy for funeral services: every number the county sets, with defaults that run.
//!
//! Read from `CIVIL_FUNERAL_*` settings (or `[funeral]` in the TOML file):
//! `zone_default` (`cremation` | `burial_reform`), `zones` (`330723105:burial_reform,…`),
//! `slots_per_day`, `furnaces`, `waiver_extensions`
//! (`key_entitled_groups,all_residents,non_residents`),
//! `eco_reward_{tree,flower_lawn,sea,wall,deep}_fen`, `plot_max_area_dm2`,
//! `price_{transport,storage,cremation,ash_keeping}_fen` (basic-service price list),
//! `plot_transfer` (`none` | `relatives`), `clan_plot_max_occupants` (1 = no family plots).

use std::collections::BTreeMap;

use super::cremation::FurnaceSchedule;
use super::eco_burial::EcoRewardPolicy;
use super::fees::PriceList;
use super::plot::{NATIONAL_MAX_AREA_DM2, TransferPolicy};
use super::waiver::WaiverExtensions;
use super::zone::{ZoneKind, ZonePolicy};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuneralPolicy {
    pub zones: ZonePolicy,
    pub schedule: FurnaceSchedule,
    pub waiver: WaiverExtensions,
    pub eco: EcoRewardPolicy,
    pub plot_max_area_dm2: i32,
    pub prices: PriceList,
    /// `plot_transfer`: `none` (default) or `relatives`.
    pub plot_transfer: TransferPolicy,
    /// `clan_plot_max_occupants`: deceased per plot; 1 (default) means no family plots.
    pub clan_plot_max_occupants: u32,
}

impl Default for FuneralPolicy {
    fn default() -> Self {
        Self {
            zones: ZonePolicy::default(),
            schedule: FurnaceSchedule::default(),
            waiver: WaiverExtensions::default(),
            eco: EcoRewardPolicy::default(),
            plot_max_area_dm2: NATIONAL_MAX_AREA_DM2,
            prices: PriceList::default(),
            plot_transfer: TransferPolicy::None,
            clan_plot_max_occupants: 1,
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

/// Reads one setting as a non-negative integer into `target`, or records why it cannot.
fn int(
    get: &dyn Fn(&str) -> Option<String>,
    errors: &mut Vec<String>,
    key: &str,
    target: &mut i64,
) {
    if let Some(v) = get(key) {
        match v.trim().parse::<i64>() {
            Ok(n) if n >= 0 => *target = n,
            _ => errors.push(format!(
                "funeral {key}={v:?}: must be a non-negative integer"
            )),
        }
    }
}

impl FuneralPolicy {
    /// Builds the policy from settings looked up by key; reports every bad key at once.
    pub fn from_settings(
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<FuneralPolicy, Vec<String>> {
        let mut p = FuneralPolicy::default();
        let mut errors = Vec::new();
        p.numbers(&get, &mut errors);
        p.prices(&get, &mut errors);
        p.zones(&get, &mut errors);
        p.extensions(&get, &mut errors);
        p.plots(&get, &mut errors);
        if errors.is_empty() {
            Ok(p)
        } else {
            Err(errors)
        }
    }

    fn numbers(&mut self, get: &dyn Fn(&str) -> Option<String>, errors: &mut Vec<String>) {
        let mut slots = i64::from(self.schedule.slots_per_day);
        let mut furnaces = i64::from(self.schedule.furnaces);
        let mut area = i64::from(self.plot_max_area_dm2);
        int(get, errors, "slots_per_day", &mut slots);
        int(get, errors, "furnaces", &mut furnaces);
        int(get, errors, "plot_max_area_dm2", &mut area);
        int(get, errors, "eco_reward_tree_fen", &mut self.eco.tree_fen);
        int(
            get,
            errors,
            "eco_reward_flower_lawn_fen",
            &mut self.eco.flower_lawn_fen,
        );
        int(get, errors, "eco_reward_sea_fen", &mut self.eco.sea_fen);
        int(get, errors, "eco_reward_wall_fen", &mut self.eco.wall_fen);
        int(get, errors, "eco_reward_deep_fen", &mut self.eco.deep_fen);
        self.schedule.slots_per_day = i32::try_from(slots.clamp(1, 96)).unwrap_or(1);
        self.schedule.furnaces = i32::try_from(furnaces.clamp(1, 64)).unwrap_or(1);
        let area = area.clamp(1, i64::from(NATIONAL_MAX_AREA_DM2));
        self.plot_max_area_dm2 = i32::try_from(area).unwrap_or(1);
    }

    /// The basic-service price list; each price bounded so that the four add up in range.
    fn prices(&mut self, get: &dyn Fn(&str) -> Option<String>, errors: &mut Vec<String>) {
        let mut fen = self.prices.lines().map(|(_, f)| f.get());
        let keys = [
            "price_transport_fen",
            "price_storage_fen",
            "price_cremation_fen",
            "price_ash_keeping_fen",
        ];
        for (key, target) in keys.into_iter().zip(fen.iter_mut()) {
            int(get, errors, key, target);
        }
        let price = |f: i64| money::Fen::new(f.min(money::Fen::MAX_DECLARED.get()));
        self.prices = PriceList {
            transport: price(fen[0]),
            storage: price(fen[1]),
            cremation: price(fen[2]),
            ash_keeping: price(fen[3]),
        };
    }

    fn zones(&mut self, get: &dyn Fn(&str) -> Option<String>, errors: &mut Vec<String>) {
        if let Some(v) = get("zone_default") {
            match zone_kind(&v) {
                Some(z) => self.zones.default = z,
                None => errors.push(format!(
                    "funeral zone_default={v:?}: must be cremation or burial_reform"
                )),
            }
        }
        let Some(v) = get("zones") else { return };
        let mut areas = BTreeMap::new();
        for item in v.split(',').filter(|s| !s.trim().is_empty()) {
            let parsed = item.split_once(':').and_then(|(prefix, kind)| {
                let digits = prefix.trim().bytes().all(|b| b.is_ascii_digit());
                Some((
                    prefix.trim().to_owned(),
                    zone_kind(kind).filter(|_| digits)?,
                ))
            });
            match parsed {
                Some((prefix, kind)) => {
                    areas.insert(prefix, kind);
                }
                None => errors.push(format!(
                    "funeral zones item {item:?}: must be <region>:<cremation|burial_reform>"
                )),
            }
        }
        self.zones.areas = areas;
    }

    fn plots(&mut self, get: &dyn Fn(&str) -> Option<String>, errors: &mut Vec<String>) {
        let mut max = i64::from(self.clan_plot_max_occupants);
        int(get, errors, "clan_plot_max_occupants", &mut max);
        self.clan_plot_max_occupants = u32::try_from(max.clamp(1, 64)).unwrap_or(1);
        match get("plot_transfer").as_deref().map(str::trim) {
            None | Some("none") => {}
            Some("relatives") => self.plot_transfer = TransferPolicy::Relatives,
            Some(other) => errors.push(format!(
                "funeral plot_transfer={other:?}: must be none or relatives"
            )),
        }
    }

    fn extensions(&mut self, get: &dyn Fn(&str) -> Option<String>, errors: &mut Vec<String>) {
        let Some(v) = get("waiver_extensions") else {
            return;
        };
        for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match item {
                "key_entitled_groups" => self.waiver.key_entitled_groups = true,
                "all_residents" => self.waiver.all_residents = true,
                "non_residents" => self.waiver.non_residents = true,
                other => errors.push(format!("funeral waiver_extensions item {other:?}: unknown")),
            }
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
            ("price_cremation_fen", "60000"),
        ])
        .expect("valid");
        assert_eq!(p.prices.cremation, money::Fen::new(60_000));
        assert_eq!(p.prices.transport, money::Fen::yuan(200), "default kept");
        assert!(!p.waiver.non_residents, "never implied");
        assert_eq!(p.plot_transfer, TransferPolicy::None);
        assert_eq!(p.clan_plot_max_occupants, 1);
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
