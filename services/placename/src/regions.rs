//! Names of the divisions above a place (province, city, county, township), from the national
//! division tables shipped in `data/regions` (GB/T 2260 and the 2023 statistical codes).

use std::collections::HashMap;

use crate::domain::census::parse_csv;

const PROVINCES: &str = include_str!("../../../data/regions/provinces.csv");
const CITIES: &str = include_str!("../../../data/regions/cities.csv");
const AREAS: &str = include_str!("../../../data/regions/areas.csv");
/// Township seed of the seed counties (the national township table is not shipped).
pub const STREETS_SEED: &str = include_str!("../../../data/regions/streets-seed-counties.csv");
/// Village seed of the seed counties.
pub const VILLAGES_SEED: &str = include_str!("../../../data/regions/villages-seed-counties.csv");

/// City rows that are placeholders, not names to print in an address.
const PLACEHOLDER_CITIES: [&str; 3] = ["市辖区", "县", "省直辖县级行政区划"];

#[derive(Debug, Default)]
pub struct RegionNames {
    names: HashMap<String, String>,
}

/// The embedded national tables, loaded once.
pub fn national() -> &'static RegionNames {
    static NAMES: std::sync::LazyLock<RegionNames> =
        std::sync::LazyLock::new(RegionNames::embedded);
    &NAMES
}

impl RegionNames {
    /// Loads the embedded tables.
    pub fn embedded() -> Self {
        let mut names = HashMap::new();
        for table in [PROVINCES, CITIES, AREAS, STREETS_SEED] {
            for (_, row) in parse_csv(table).into_iter().skip(1) {
                if let [code, name, ..] = row.as_slice() {
                    names.insert(code.trim().to_owned(), name.trim().to_owned());
                }
            }
        }
        RegionNames { names }
    }

    pub fn name(&self, code: &str) -> Option<&str> {
        self.names.get(code).map(String::as_str)
    }

    /// Adds or overrides a name (townships approved later).
    pub fn insert(&mut self, code: &str, name: &str) {
        self.names.insert(code.to_owned(), name.to_owned());
    }

    /// The region part of an address: province, city (unless a placeholder), county and
    /// township names of `code`, as far as known.
    pub fn address_prefix(&self, code: &str) -> String {
        let mut out = String::new();
        for len in [2, 4, 6, 9] {
            if code.len() < len {
                break;
            }
            if let Some(name) = self.name(&code[..len])
                && !(len == 4 && PLACEHOLDER_CITIES.contains(&name))
            {
                out.push_str(name);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_prefix_runs_from_province_to_township() {
        let r = RegionNames::embedded();
        assert_eq!(r.address_prefix("330723"), "浙江省金华市武义县");
        assert_eq!(r.address_prefix("330482001"), "浙江省嘉兴市平湖市当湖街道");
    }

    #[test]
    fn placeholder_cities_are_left_out() {
        let r = RegionNames::embedded();
        assert_eq!(r.address_prefix("110101"), "北京市东城区");
    }
}
