//! 火葬区 / 土葬改革区: cremation zones and burial-reform zones (殡葬管理条例 arts. 4-6).
//!
//! In a cremation zone bodies are cremated; the burial custom of the ten ethnic minorities
//! named by the State Council is respected (殡葬管理条例 art. 6; 国务院 1956 / 1997 notices).

use std::collections::BTreeMap;

use super::Refusal;

/// Zone kind of a county area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZoneKind {
    /// 火葬区.
    Cremation,
    /// 土葬改革区: burial allowed in designated places.
    BurialReform,
}

/// 民族, as far as the burial rule needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ethnicity {
    Han,
    /// 回族.
    Hui,
    /// 维吾尔族.
    Uyghur,
    /// 哈萨克族.
    Kazakh,
    /// 柯尔克孜族.
    Kyrgyz,
    /// 乌孜别克族.
    Uzbek,
    /// 塔吉克族.
    Tajik,
    /// 塔塔尔族.
    Tatar,
    /// 撒拉族.
    Salar,
    /// 东乡族.
    Dongxiang,
    /// 保安族.
    Bonan,
    Other,
}

impl Ethnicity {
    /// The ten groups whose burial custom is respected in cremation zones.
    pub const BURIAL_CUSTOM_EXEMPT: [Ethnicity; 10] = [
        Ethnicity::Hui,
        Ethnicity::Uyghur,
        Ethnicity::Kazakh,
        Ethnicity::Kyrgyz,
        Ethnicity::Uzbek,
        Ethnicity::Tajik,
        Ethnicity::Tatar,
        Ethnicity::Salar,
        Ethnicity::Dongxiang,
        Ethnicity::Bonan,
    ];

    pub fn has_burial_custom_exemption(self) -> bool {
        Ethnicity::BURIAL_CUSTOM_EXEMPT.contains(&self)
    }
}

/// County zone policy: the zone of each area by region-code prefix, with a default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZonePolicy {
    pub default: ZoneKind,
    /// Region-code prefix -> zone; the longest matching prefix wins.
    pub areas: BTreeMap<String, ZoneKind>,
}

impl Default for ZonePolicy {
    fn default() -> Self {
        Self {
            default: ZoneKind::Cremation,
            areas: BTreeMap::new(),
        }
    }
}

impl ZonePolicy {
    /// Returns the zone of a region (township or village code).
    pub fn zone_of(&self, region: &str) -> ZoneKind {
        self.areas
            .iter()
            .filter(|(prefix, _)| region.starts_with(prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(_, zone)| *zone)
            .unwrap_or(self.default)
    }
}

/// Decides whether a body may be buried at a place in `region`.
pub fn check_burial(
    policy: &ZonePolicy,
    region: &str,
    ethnicity: Ethnicity,
) -> Result<(), Refusal> {
    match policy.zone_of(region) {
        ZoneKind::BurialReform => Ok(()),
        ZoneKind::Cremation if ethnicity.has_burial_custom_exemption() => Ok(()),
        ZoneKind::Cremation => Err(Refusal::CremationZone),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn county() -> ZonePolicy {
        let mut areas = BTreeMap::new();
        areas.insert("330723".to_owned(), ZoneKind::Cremation);
        areas.insert("330723105".to_owned(), ZoneKind::BurialReform);
        ZonePolicy {
            default: ZoneKind::Cremation,
            areas,
        }
    }

    #[test]
    fn a_han_burial_in_a_cremation_zone_is_refused_art_4() {
        assert_eq!(
            check_burial(&county(), "330723001", Ethnicity::Han),
            Err(Refusal::CremationZone)
        );
        assert_eq!(
            check_burial(&county(), "330723001", Ethnicity::Other),
            Err(Refusal::CremationZone)
        );
    }

    #[test]
    fn a_burial_in_a_burial_reform_zone_is_allowed_art_5() {
        assert_eq!(check_burial(&county(), "330723105", Ethnicity::Han), Ok(()));
        assert_eq!(
            check_burial(&county(), "330723105012", Ethnicity::Han),
            Ok(())
        );
    }

    #[test]
    fn each_of_the_ten_exempt_minorities_may_bury_in_a_cremation_zone_art_6() {
        let exempt = [
            Ethnicity::Hui,
            Ethnicity::Uyghur,
            Ethnicity::Kazakh,
            Ethnicity::Kyrgyz,
            Ethnicity::Uzbek,
            Ethnicity::Tajik,
            Ethnicity::Tatar,
            Ethnicity::Salar,
            Ethnicity::Dongxiang,
            Ethnicity::Bonan,
        ];
        for ethnicity in exempt {
            assert_eq!(
                check_burial(&county(), "330723001", ethnicity),
                Ok(()),
                "{ethnicity:?}"
            );
        }
        assert_eq!(Ethnicity::BURIAL_CUSTOM_EXEMPT.len(), 10);
        assert!(!Ethnicity::Han.has_burial_custom_exemption());
        assert!(!Ethnicity::Other.has_burial_custom_exemption());
    }

    #[test]
    fn the_longest_prefix_decides_and_unlisted_areas_take_the_default() {
        let mut policy = county();
        assert_eq!(policy.zone_of("330723105"), ZoneKind::BurialReform);
        assert_eq!(policy.zone_of("330724001"), ZoneKind::Cremation);
        policy.default = ZoneKind::BurialReform;
        assert_eq!(policy.zone_of("330724001"), ZoneKind::BurialReform);
        assert_eq!(policy.zone_of("330723001"), ZoneKind::Cremation);
    }
}
