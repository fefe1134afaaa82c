//! 统一社会信用代码: unified social credit code (GB 32100-2015).

use std::fmt;

/// The 31 characters a credit code may use: digits and upper-case letters without I, O, Z, S, V
/// (too easily confused with 1, 0, 2, 5, U).
const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Weights of the first 17 characters (3^i mod 31).
const CHECK_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

const LENGTH: usize = 18;

/// Why a string is not a valid credit code, or why its parts cannot form one. Messages read after
/// a field name ("credit_code must be ...").
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CreditCodeError {
    #[error("must be 18 characters, got {found}")]
    Length { found: usize },
    #[error("must use only 0-9 and the letters A-Y without I, O, S, V")]
    Charset,
    #[error("region code (characters 3-8) must be 6 digits")]
    Region,
    #[error("check character does not match (a character was probably mistyped)")]
    CheckChar,
}

impl CreditCodeError {
    /// Returns the stable machine-readable code of this error, for `ErrorInfo.reason` and
    /// `BadRequest` violations.
    pub fn reason(&self) -> &'static str {
        match self {
            CreditCodeError::Length { .. } => "CREDIT_CODE_LENGTH",
            CreditCodeError::Charset => "CREDIT_CODE_CHARSET",
            CreditCodeError::Region => "CREDIT_CODE_REGION",
            CreditCodeError::CheckChar => "CREDIT_CODE_CHECK_CHAR",
        }
    }
}

/// 统一社会信用代码: a valid unified social credit code, stored upper-case.
///
/// Layout: registering authority (1 char; 5 = civil affairs), kind (1 char; for civil affairs 1
/// social group, 2 private non-enterprise unit, 3 foundation, 9 other), region code (6 digits),
/// body code (9 chars), check char. A credit code identifies an organisation, not a person, so
/// unlike [`crate::IdNumber`] it prints in full.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CreditCode {
    code: String,
}

impl CreditCode {
    /// Parses a credit code, upper-casing it first (RULES.md, conventions).
    pub fn parse(input: &str) -> Result<CreditCode, CreditCodeError> {
        let found = input.chars().count();
        if found != LENGTH {
            return Err(CreditCodeError::Length { found });
        }
        let code = input.to_ascii_uppercase();
        if !code.bytes().all(|b| ALPHABET.contains(&b)) {
            return Err(CreditCodeError::Charset);
        }
        // All ASCII from here on, so byte ranges are character ranges.
        if !code.as_bytes()[2..8].iter().all(u8::is_ascii_digit) {
            return Err(CreditCodeError::Region);
        }
        if check_char(&code.as_bytes()[..17]) != code.as_bytes()[17] {
            return Err(CreditCodeError::CheckChar);
        }
        Ok(CreditCode { code })
    }

    /// Builds a credit code from its parts and computes its check character, as the registering
    /// authority does when it registers an organisation. Letters are upper-cased first.
    pub fn issue(
        authority: char,
        kind: char,
        region6: &str,
        body9: &str,
    ) -> Result<CreditCode, CreditCodeError> {
        let mut first17 = String::with_capacity(LENGTH);
        first17.push(authority);
        first17.push(kind);
        first17.push_str(region6);
        first17.push_str(body9);
        let first17 = first17.to_ascii_uppercase();
        if !region6.bytes().all(|b| b.is_ascii_digit()) || region6.len() != 6 {
            // A wrong-length region would shift the body into the region, so name the region.
            return Err(CreditCodeError::Region);
        }
        if first17.chars().count() != 17 {
            return Err(CreditCodeError::Length {
                found: first17.chars().count() + 1,
            });
        }
        if !first17.bytes().all(|b| ALPHABET.contains(&b)) {
            return Err(CreditCodeError::Charset);
        }
        let check = check_char(first17.as_bytes());
        let mut code = first17;
        code.push(char::from(check));
        Ok(CreditCode { code })
    }

    /// Returns the full code.
    pub fn as_str(&self) -> &str {
        &self.code
    }

    /// Returns the registering authority (登记管理部门) code, e.g. `5` for civil affairs.
    pub fn authority(&self) -> char {
        char::from(self.code.as_bytes()[0])
    }

    /// Returns the kind of organisation (机构类别) code, e.g. `1` for a social group.
    pub fn kind(&self) -> char {
        char::from(self.code.as_bytes()[1])
    }

    /// Returns the 6-digit region code of the registering authority.
    pub fn region(&self) -> &str {
        &self.code[2..8]
    }
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code)
    }
}

/// Computes the GB 32100 check character of 17 characters already known to be in [`ALPHABET`].
fn check_char(first17: &[u8]) -> u8 {
    let sum: u32 = first17
        .iter()
        .zip(CHECK_WEIGHTS)
        .map(|(c, weight)| alphabet_value(*c) * weight)
        .sum();
    ALPHABET[((31 - sum % 31) % 31) as usize]
}

fn alphabet_value(c: u8) -> u32 {
    // Callers check membership first; position() is then always Some.
    ALPHABET.iter().position(|&a| a == c).unwrap_or(0) as u32
}

#[cfg(test)]
mod tests;
