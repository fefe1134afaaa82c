//! 行政区划代码: region code (GB/T 2260 county level, extended to townships and villages).

use std::fmt;

/// Why a string is not a region code. Messages read after a field name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RegionCodeError {
    #[error("must be 2, 4, 6, 9 or 12 digits, got {found} characters")]
    Length { found: usize },
    #[error("must contain only digits")]
    Charset,
}

impl RegionCodeError {
    /// Returns the stable machine-readable code of this error.
    pub fn reason(&self) -> &'static str {
        match self {
            RegionCodeError::Length { .. } => "REGION_CODE_LENGTH",
            RegionCodeError::Charset => "REGION_CODE_CHARSET",
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

impl RegionCode {
    /// Parses a region code of 2, 4, 6, 9 or 12 digits.
    pub fn parse(input: &str) -> Result<RegionCode, RegionCodeError> {
        let found = input.chars().count();
        if !matches!(found, 2 | 4 | 6 | 9 | 12) {
            return Err(RegionCodeError::Length { found });
        }
        if !input.bytes().all(|b| b.is_ascii_digit()) {
            return Err(RegionCodeError::Charset);
        }
        Ok(RegionCode {
            code: input.to_owned(),
        })
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
    fn display_prints_the_code() {
        assert_eq!(region("330723001").to_string(), "330723001");
    }

    proptest! {
        #[test]
        fn parse_never_panics_on_arbitrary_strings(input in any::<String>()) {
            let _ = RegionCode::parse(&input);
        }

        #[test]
        fn a_code_contains_every_extension_of_itself(county in "[0-9]{6}", rest in "([0-9]{3}){0,2}") {
            let parent = region(&county);
            let child = region(&format!("{county}{rest}"));
            prop_assert!(parent.contains(&child));
            prop_assert_eq!(child.county(), county.as_str());
        }
    }
}
