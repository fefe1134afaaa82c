//! 居民身份证号: resident identity number (GB 11643-1999).

use std::fmt;

use time::{Date, Month};

// Province codes an identity number may carry. Only the province is checked: a number keeps
// the county code of its holder's birth, and county codes are retired and renumbered, so an
// unknown county is not evidence of a corrupt number.
use crate::region_code::PROVINCE_CODES;

/// ISO 7064 MOD 11-2 weights for the first 17 characters (2^(17-i) mod 11).
const CHECK_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/// Check character for each value of the weighted sum mod 11.
const CHECK_CHARS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

const LENGTH: usize = 18;

/// The earliest birth date accepted: nobody alive when numbers were first issued (1984) was born
/// earlier, so an earlier date means a corrupt number rather than a very old person.
const EARLIEST_BIRTH: Date = time::macros::date!(1880 - 01 - 01);

/// Why a string is not a valid identity number. One variant per kind of corruption, so callers
/// can tell the user which part to re-check; messages read after a field name
/// ("id_number must be ...") and never echo the number itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("must be 18 characters, got {found}")]
    Length { found: usize },
    #[error("must be 17 digits followed by a digit or X")]
    Charset,
    #[error("check character does not match (a digit was probably mistyped)")]
    CheckChar,
    #[error("birth date (characters 7-14) is not a real date on or after 1880-01-01")]
    BirthDate,
    #[error("region code (characters 1-6) does not start with a known province code")]
    Region,
    #[error("birth date (characters 7-14) is in the future")]
    BirthInFuture,
}

impl IdError {
    /// Returns the stable machine-readable code of this error, for `ErrorInfo.reason` and
    /// `BadRequest` violations.
    pub fn reason(&self) -> &'static str {
        match self {
            IdError::Length { .. } => "ID_NUMBER_LENGTH",
            IdError::Charset => "ID_NUMBER_CHARSET",
            IdError::CheckChar => "ID_NUMBER_CHECK_CHAR",
            IdError::BirthDate => "ID_NUMBER_BIRTH_DATE",
            IdError::Region => "ID_NUMBER_REGION",
            IdError::BirthInFuture => "ID_NUMBER_BIRTH_IN_FUTURE",
        }
    }
}

/// Sex as encoded in the 17th character of an identity number (odd = male, even = female).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    Male,
    Female,
}

/// 居民身份证号: a valid 18-character resident identity number, stored in canonical (upper-case)
/// form.
///
/// `Display` and `Debug` both print the masked form ([`IdNumber::masked`]): identity numbers
/// are sensitive personal information (PIPL art. 28) and must never reach logs, traces or error
/// messages, and a `{:?}` of a struct holding one is the usual way they leak. The full number is
/// available only through the deliberate [`IdNumber::as_str`].
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdNumber {
    number: String,
    birth_date: Date,
}

impl IdNumber {
    /// Parses an identity number, accepting a lower-case `x` as check character (RULES.md,
    /// conventions) and storing it upper-case.
    ///
    /// Checks, in order: length, character set, check character, birth date, province.
    pub fn parse(input: &str) -> Result<IdNumber, IdError> {
        let found = input.chars().count();
        if found != LENGTH {
            return Err(IdError::Length { found });
        }
        // 18 chars and (checked next) all ASCII, so byte indices below are char indices.
        let number = input.to_ascii_uppercase();
        let bytes = number.as_bytes();
        let body_is_digits = bytes[..17].iter().all(u8::is_ascii_digit);
        let last = bytes[17];
        if !body_is_digits || !(last.is_ascii_digit() || last == b'X') {
            return Err(IdError::Charset);
        }
        if IdNumber::check_char(&number[..17]) != char::from(last) {
            return Err(IdError::CheckChar);
        }
        let birth_date = parse_birth_date(&number[6..14]).ok_or(IdError::BirthDate)?;
        if !PROVINCE_CODES.contains(&&number[..2]) {
            return Err(IdError::Region);
        }
        Ok(IdNumber { number, birth_date })
    }

    /// Parses an identity number as of `today`: as [`IdNumber::parse`], and a birth date after
    /// `today` is refused (a number cannot have been issued for someone not yet born).
    ///
    /// ```
    /// use civil_id::{IdError, IdNumber};
    /// use time::macros::date;
    ///
    /// let number = "11010520990101001X".to_string();
    /// let number = format!("{}{}", &number[..17], IdNumber::check_char(&number[..17]));
    /// assert_eq!(IdNumber::parse_on(&number, date!(2026 - 05 - 04)), Err(IdError::BirthInFuture));
    /// assert!(IdNumber::parse_on(&number, date!(2099 - 01 - 01)).is_ok());
    /// ```
    pub fn parse_on(input: &str, today: Date) -> Result<IdNumber, IdError> {
        let id = Self::parse(input)?;
        if id.birth_date > today {
            return Err(IdError::BirthInFuture);
        }
        Ok(id)
    }

    /// Returns the check character (ISO 7064 MOD 11-2) for the first 17 digits of a number.
    ///
    /// Useful to build valid numbers for seeds and tests.
    ///
    /// # Panics
    ///
    /// Panics if `first17` is not exactly 17 ASCII digits: there is no meaningful check
    /// character for anything else, and [`IdNumber::parse`] never calls it with such input.
    pub fn check_char(first17: &str) -> char {
        assert!(
            first17.len() == 17 && first17.bytes().all(|b| b.is_ascii_digit()),
            "check_char needs exactly 17 ASCII digits"
        );
        let sum: u32 = first17
            .bytes()
            .zip(CHECK_WEIGHTS)
            .map(|(digit, weight)| u32::from(digit - b'0') * weight)
            .sum();
        CHECK_CHARS[(sum % 11) as usize]
    }

    /// Returns the full canonical number. Handle with care: see the type's documentation.
    pub fn as_str(&self) -> &str {
        &self.number
    }

    /// Returns the birth date encoded in characters 7-14.
    pub fn birth_date(&self) -> Date {
        self.birth_date
    }

    /// Returns the sex encoded in the 17th character (odd = male, even = female).
    pub fn sex(&self) -> Sex {
        let digit = self.number.as_bytes()[16] - b'0';
        if digit % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// Returns the 6-digit region code of the holder's place of birth registration.
    pub fn region(&self) -> &str {
        &self.number[..6]
    }

    /// Returns the number with characters 5-14 hidden, e.g. `3307**********123X`.
    pub fn masked(&self) -> String {
        mask_id_number(&self.number)
    }
}

impl fmt::Display for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("IdNumber").field(&self.masked()).finish()
    }
}

/// Masks any string that is meant to be an identity number, valid or not, for display and logs.
///
/// An 18-character number keeps its first 4 and last 4 characters with 10 `*` between
/// (`3307**********123X`). Other lengths keep at most 4 characters at each end and always hide at
/// least 10 (everything when the string has 10 characters or fewer), so a mistyped or truncated
/// number never reveals more than a valid one would. Works on characters, not bytes, so it never
/// panics on any UTF-8 input.
pub fn mask_id_number(raw: &str) -> String {
    let chars: Vec<char> = raw.chars().collect();
    let shown_each_side = (chars.len().saturating_sub(10) / 2).min(4);
    let hidden = chars.len() - 2 * shown_each_side;
    let mut masked = String::with_capacity(chars.len());
    masked.extend(&chars[..shown_each_side]);
    masked.extend(std::iter::repeat_n('*', hidden));
    masked.extend(&chars[chars.len() - shown_each_side..]);
    masked
}

/// Parses `YYYYMMDD` into a real calendar date no earlier than [`EARLIEST_BIRTH`].
fn parse_birth_date(digits: &str) -> Option<Date> {
    let year: i32 = digits[..4].parse().ok()?;
    let month: u8 = digits[4..6].parse().ok()?;
    let day: u8 = digits[6..8].parse().ok()?;
    let month = Month::try_from(month).ok()?;
    let date = Date::from_calendar_date(year, month, day).ok()?;
    (date >= EARLIEST_BIRTH).then_some(date)
}

#[cfg(test)]
mod tests;
