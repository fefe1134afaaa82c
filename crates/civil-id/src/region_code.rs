//! 行政区划代码: region code (GB/T 2260 county level, extended to townships and villages).

use std::fmt;

/// Why a string is not a region code. Messages read after a field name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RegionCodeError {
    #[error("must be 2, 4, 6, 9 or 12 digits, got {found} characters")]
    Length { found: usize },
    #[error("must contain only digits")]
    Charset,
    #[error("does not start with a known province code")]
    Province,
    #[error("must be a county, township or village code (6, 9 or 12 digits)")]
    Level,
    #[error("names no county-level division of GB/T 2260")]
    UnknownDivision,
}

impl RegionCodeError {
    /// Returns the stable machine-readable code of this error.
    pub fn reason(&self) -> &'static str {
        match self {
            RegionCodeError::Length { .. } => "REGION_CODE_LENGTH",
            RegionCodeError::Charset => "REGION_CODE_CHARSET",
            RegionCodeError::Province => "REGION_CODE_PROVINCE",
            RegionCodeError::Level => "REGION_CODE_LEVEL",
            RegionCodeError::UnknownDivision => "REGION_CODE_UNKNOWN_DIVISION",
        }
    }
}

/// The level of a region code, given by its number of digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RegionLevel {
    /// 省: 2 digits. Used only as an authorisation scope.
    Province,
    /// 市: 4 digits. Used only as an authorisation scope.
    City,
    /// 县 / 区: 6 digits (GB/T 2260).
    County,
    /// 乡 / 镇 / 街道: 9 digits (GB/T 10114).
    Township,
    /// 村 / 社区: 12 digits (statistical division code).
    Village,
}

/// 行政区划代码: a region code at any level from province (2 digits) to village (12 digits).
///
/// Each level extends its parent's code, so scopes are prefixes: a role scoped to county 330723
/// covers township 330723001 and its villages 330723001xxx, and nothing in 330724.
/// Codes are kept as given: `330000` is a 6-digit (county-level) code, not the province `33`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegionCode {
    code: String,
}

/// Province codes (the first two digits of every region code): the 31 mainland provinces from
/// `data/regions/provinces.csv`, plus 71 (Taiwan), 81 (Hong Kong) and 82 (Macao).
pub(crate) const PROVINCE_CODES: [&str; 34] = [
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
    "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71",
    "81", "82",
];

/// The county-level divisions, one line per city (see the file's header).
const DIVISIONS: &str = include_str!("../data/divisions.txt");

/// Whether `county` (6 digits) is a real division: a county or district of the 2023 list, a
/// city (`XXXX00`) or a province (`XX0000`).
fn is_known_division(county: &str) -> bool {
    static CODES: std::sync::OnceLock<std::collections::BTreeSet<String>> =
        std::sync::OnceLock::new();
    let codes = CODES.get_or_init(|| {
        let mut codes = std::collections::BTreeSet::new();
        for line in DIVISIONS.lines().filter(|l| !l.starts_with('#')) {
            let (city, counties) = line.split_at(line.len().min(4));
            codes.insert(format!("{city}00"));
            codes.insert(format!("{}0000", &city[..2]));
            for suffix in counties.as_bytes().chunks(2) {
                codes.insert(format!("{city}{}", String::from_utf8_lossy(suffix)));
            }
        }
        codes
    });
    codes.contains(county)
}

impl RegionCode {
    /// Parses a region code of 2, 4, 6, 9 or 12 digits whose first two digits are a province.
    /// Shorter codes are authorisation scopes (a province, a city).
    pub fn parse(input: &str) -> Result<RegionCode, RegionCodeError> {
        let found = input.chars().count();
        if !matches!(found, 2 | 4 | 6 | 9 | 12) {
            return Err(RegionCodeError::Length { found });
        }
        if !input.bytes().all(|b| b.is_ascii_digit()) {
            return Err(RegionCodeError::Charset);
        }
        if !PROVINCE_CODES.contains(&&input[..2]) {
            return Err(RegionCodeError::Province);
        }
        Ok(RegionCode {
            code: input.to_owned(),
        })
    }

    /// Parses the code of a place (6, 9 or 12 digits, never a bare province or city scope)
    /// whose county part is a real county-level division (the 2023 list, or a city or
    /// province code ending in zeros). For a region named in a request: a record's region, a
    /// list filter.
    ///
    /// ```
    /// use civil_id::{RegionCode, RegionCodeError};
    ///
    /// assert!(RegionCode::parse_division("330723001").is_ok()); // a township of 武义县
    /// assert_eq!(RegionCode::parse_division("3307"), Err(RegionCodeError::Level));
    /// assert_eq!(RegionCode::parse_division("990723"), Err(RegionCodeError::Province));
    /// assert_eq!(RegionCode::parse_division("330799"), Err(RegionCodeError::UnknownDivision));
    /// ```
    pub fn parse_division(input: &str) -> Result<RegionCode, RegionCodeError> {
        let region = Self::parse(input)?;
        if region.code.len() < 6 {
            return Err(RegionCodeError::Level);
        }
        if !is_known_division(region.county()) {
            return Err(RegionCodeError::UnknownDivision);
        }
        Ok(region)
    }

    /// Returns the code.
    pub fn as_str(&self) -> &str {
        &self.code
    }

    /// Returns the level given by the number of digits.
    pub fn level(&self) -> RegionLevel {
        match self.code.len() {
            2 => RegionLevel::Province,
            4 => RegionLevel::City,
            6 => RegionLevel::County,
            9 => RegionLevel::Township,
            // parse() admits only the five lengths.
            _ => RegionLevel::Village,
        }
    }

    /// Returns the 6-digit county code this region belongs to. For province and city scopes,
    /// which have no county, returns the whole (shorter) code.
    pub fn county(&self) -> &str {
        &self.code[..self.code.len().min(6)]
    }

    /// Returns whether `other` lies within this region (prefix scope). A region contains itself.
    pub fn contains(&self, other: &RegionCode) -> bool {
        other.code.starts_with(&self.code)
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn region(code: &str) -> RegionCode {
        match RegionCode::parse(code) {
            Ok(region) => region,
            Err(error) => panic!("{code}: {error:?}"),
        }
    }

    #[test]
    fn each_valid_length_has_its_level() {
        assert_eq!(region("33").level(), RegionLevel::Province);
        assert_eq!(region("3307").level(), RegionLevel::City);
        assert_eq!(region("330723").level(), RegionLevel::County);
        assert_eq!(region("330723001").level(), RegionLevel::Township);
        assert_eq!(region("330723001002").level(), RegionLevel::Village);
    }

    #[test]
    fn other_lengths_and_non_digits_are_rejected() {
        for (input, found) in [
            ("", 0),
            ("3", 1),
            ("33072", 5),
            ("3307230", 7),
            ("3307230010020", 13),
        ] {
            assert_eq!(
                RegionCode::parse(input),
                Err(RegionCodeError::Length { found }),
                "{input}"
            );
        }
        assert_eq!(RegionCode::parse("33072a"), Err(RegionCodeError::Charset));
        assert_eq!(RegionCode::parse("３３"), Err(RegionCodeError::Charset));
        assert_eq!(
            RegionCode::parse("33072a").map_err(|e| e.reason()),
            Err("REGION_CODE_CHARSET")
        );
    }

    #[test]
    fn a_county_scope_contains_its_townships_and_villages_but_not_its_neighbour() {
        // RULES.md identity numbers: region scope in auth is a prefix of GB/T 2260 codes.
        let wuyi = region("330723");
        assert!(wuyi.contains(&region("330723")));
        assert!(wuyi.contains(&region("330723001")));
        assert!(wuyi.contains(&region("330723001002")));
        assert!(!wuyi.contains(&region("330724")));
        assert!(!wuyi.contains(&region("330724001")));
        assert!(
            !wuyi.contains(&region("3307")),
            "a county does not contain its city"
        );
        assert!(region("3307").contains(&wuyi));
        assert!(region("33").contains(&wuyi));
    }

    #[test]
    fn county_returns_the_first_six_digits() {
        assert_eq!(region("330723001002").county(), "330723");
        assert_eq!(region("330723001").county(), "330723");
        assert_eq!(region("330723").county(), "330723");
        assert_eq!(region("3307").county(), "3307");
    }

    #[test]
    fn a_code_in_no_province_is_rejected() {
        // GB/T 2260: the first two digits name the province; 99 and 00 name none.
        assert_eq!(RegionCode::parse("990723"), Err(RegionCodeError::Province));
        assert_eq!(RegionCode::parse("00"), Err(RegionCodeError::Province));
        assert_eq!(
            RegionCode::parse("100723001"),
            Err(RegionCodeError::Province)
        );
        assert!(RegionCode::parse("810000").is_ok(), "Hong Kong");
    }

    #[test]
    fn a_division_is_a_real_county_city_or_province() {
        for real in [
            "330723",       // 武义县
            "512021",       // 安岳县
            "441900",       // 东莞市, no districts
            "330700",       // 金华市
            "330000",       // 浙江省
            "330723001",    // a township of 武义县
            "330723001002", // a village
        ] {
            assert!(RegionCode::parse_division(real).is_ok(), "{real}");
        }
        for (unknown, error) in [
            ("330724", RegionCodeError::UnknownDivision),
            ("330799001", RegionCodeError::UnknownDivision),
            ("339900", RegionCodeError::UnknownDivision),
            ("33", RegionCodeError::Level),
            ("3307", RegionCodeError::Level),
            ("33072", RegionCodeError::Length { found: 5 }),
            ("3307230", RegionCodeError::Length { found: 7 }),
            ("33072300100", RegionCodeError::Length { found: 11 }),
            ("990723", RegionCodeError::Province),
        ] {
            assert_eq!(RegionCode::parse_division(unknown), Err(error), "{unknown}");
        }
    }

    #[test]
    fn display_prints_the_code() {
        assert_eq!(region("330723001").to_string(), "330723001");
    }

    proptest! {
        #[test]
        fn parse_never_panics_on_arbitrary_strings(input in any::<String>()) {
            let _ = RegionCode::parse(&input);
        }

        #[test]
        fn a_code_contains_every_extension_of_itself(county in "33[0-9]{4}", rest in "([0-9]{3}){0,2}") {
            let parent = region(&county);
            let child = region(&format!("{county}{rest}"));
            prop_assert!(parent.contains(&child));
            prop_assert_eq!(child.county(), county.as_str());
        }
    }
}
