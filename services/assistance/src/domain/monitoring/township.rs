//! The owner of a household's warnings: the township (乡镇/街道, 9-digit code) its region lies in,
//! from the national division table shipped in `data/regions` (2023 statistical codes); the
//! county (6 digits) when the region names no known township.

use std::collections::HashMap;
use std::sync::LazyLock;

const STREETS: &str = include_str!("../../../../../data/regions/streets-seed-counties.csv");

/// Township code -> name, from the embedded table.
static TOWNSHIPS: LazyLock<HashMap<String, String>> = LazyLock::new(|| parse(STREETS));

fn parse(csv: &str) -> HashMap<String, String> {
    csv.lines()
        .skip(1)
        .filter_map(|line| {
            let mut cells = line.split(',');
            let code = cells.next()?.trim();
            let name = cells.next()?.trim().trim_matches('"');
            (code.len() == 9).then(|| (code.to_owned(), name.to_owned()))
        })
        .collect()
}

/// The region that owns a household's warnings: its township when the first nine digits of
/// its region code are a known township, else its county (the first six digits).
pub fn owner_of(region: &str) -> String {
    owner_in(&TOWNSHIPS, region)
}

/// The township's name, when known.
pub fn township_name(code: &str) -> Option<&'static str> {
    TOWNSHIPS.get(code).map(String::as_str)
}

fn owner_in(townships: &HashMap<String, String>, region: &str) -> String {
    match region.get(..9) {
        Some(township) if townships.contains_key(township) => township.to_owned(),
        _ => region.get(..6).unwrap_or(region).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_village_is_owned_by_its_township() {
        assert_eq!(owner_of("330723101001"), "330723101");
        assert_eq!(township_name("330723101"), Some("履坦镇"));
    }

    #[test]
    fn a_township_code_is_its_own_owner() {
        assert_eq!(owner_of("330723101"), "330723101");
    }

    #[test]
    fn a_region_naming_no_known_township_is_owned_by_the_county() {
        assert_eq!(owner_of("330723999001"), "330723");
        assert_eq!(owner_of("330723"), "330723");
    }
}
