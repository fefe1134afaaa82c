//! Certificate numbers: `J<6-digit division>-<year>-<6-digit serial>` for marriage, `L` for
//! divorce, `BJ` / `BL` for re-issued marriage / divorce certificates.

use std::fmt;

use super::refusal::Refusal;

/// The four kinds of certificate this registry issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CertificateKind {
    /// 结婚证.
    Marriage,
    /// 离婚证.
    Divorce,
    /// 补发结婚证.
    ReissuedMarriage,
    /// 补发离婚证.
    ReissuedDivorce,
}

impl CertificateKind {
    pub fn prefix(self) -> &'static str {
        match self {
            CertificateKind::Marriage => "J",
            CertificateKind::Divorce => "L",
            CertificateKind::ReissuedMarriage => "BJ",
            CertificateKind::ReissuedDivorce => "BL",
        }
    }

    /// The kind a re-issue of this certificate has (a re-issued one re-issues as itself).
    pub fn reissued(self) -> CertificateKind {
        match self {
            CertificateKind::Marriage | CertificateKind::ReissuedMarriage => {
                CertificateKind::ReissuedMarriage
            }
            CertificateKind::Divorce | CertificateKind::ReissuedDivorce => {
                CertificateKind::ReissuedDivorce
            }
        }
    }

    /// True for marriage certificates (original or re-issued).
    pub fn is_marriage(self) -> bool {
        matches!(
            self,
            CertificateKind::Marriage | CertificateKind::ReissuedMarriage
        )
    }
}

/// Largest serial a 6-digit field holds.
pub const MAX_SERIAL: u32 = 999_999;

/// A parsed certificate number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CertificateNumber {
    pub kind: CertificateKind,
    pub division: String,
    pub year: i32,
    pub serial: u32,
}

impl CertificateNumber {
    /// Builds the number of the `serial`-th certificate of `kind` issued in `division` in `year`.
    /// `division` is the office's region code; its first 6 digits (the county) are printed.
    pub fn new(
        kind: CertificateKind,
        division: &str,
        year: i32,
        serial: u32,
    ) -> Result<CertificateNumber, Refusal> {
        if serial == 0 || serial > MAX_SERIAL {
            return Err(Refusal::SerialsExhausted);
        }
        let division: String = division.chars().take(6).collect();
        Ok(CertificateNumber {
            kind,
            division,
            year,
            serial,
        })
    }

    /// Parses a number as printed; `None` when it is not one.
    pub fn parse(input: &str) -> Option<CertificateNumber> {
        let input = input.trim().to_ascii_uppercase();
        let (kind, rest) = if let Some(rest) = input.strip_prefix("BJ") {
            (CertificateKind::ReissuedMarriage, rest)
        } else if let Some(rest) = input.strip_prefix("BL") {
            (CertificateKind::ReissuedDivorce, rest)
        } else if let Some(rest) = input.strip_prefix('J') {
            (CertificateKind::Marriage, rest)
        } else if let Some(rest) = input.strip_prefix('L') {
            (CertificateKind::Divorce, rest)
        } else {
            return None;
        };
        let mut parts = rest.split('-');
        let (Some(division), Some(year), Some(serial), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(division, 6) || !digits(year, 4) || !digits(serial, 6) {
            return None;
        }
        let serial: u32 = serial.parse().ok()?;
        if serial == 0 {
            return None;
        }
        Some(CertificateNumber {
            kind,
            division: division.to_owned(),
            year: year.parse().ok()?,
            serial,
        })
    }
}

impl fmt::Display for CertificateNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}-{:04}-{:06}",
            self.kind.prefix(),
            self.division,
            self.year,
            self.serial
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marriage_certificate_number_is_j_division_year_serial() {
        let n =
            CertificateNumber::new(CertificateKind::Marriage, "330723", 2026, 42).expect("valid");
        assert_eq!(n.to_string(), "J330723-2026-000042");
    }

    #[test]
    fn a_township_office_prints_its_county_code() {
        let n =
            CertificateNumber::new(CertificateKind::Divorce, "330723101", 2026, 1).expect("valid");
        assert_eq!(n.to_string(), "L330723-2026-000001");
    }

    #[test]
    fn reissued_certificates_are_bj_and_bl() {
        assert_eq!(CertificateKind::Marriage.reissued().prefix(), "BJ");
        assert_eq!(CertificateKind::Divorce.reissued().prefix(), "BL");
        assert_eq!(CertificateKind::ReissuedDivorce.reissued().prefix(), "BL");
    }

    #[test]
    fn every_kind_round_trips_through_its_printed_form() {
        for kind in [
            CertificateKind::Marriage,
            CertificateKind::Divorce,
            CertificateKind::ReissuedMarriage,
            CertificateKind::ReissuedDivorce,
        ] {
            let n = CertificateNumber::new(kind, "330723", 2026, 999_999).expect("valid");
            assert_eq!(CertificateNumber::parse(&n.to_string()), Some(n));
        }
    }

    #[test]
    fn malformed_numbers_do_not_parse() {
        for bad in [
            "",
            "X330723-2026-000001",
            "J33072-2026-000001",
            "J330723-26-000001",
            "J330723-2026-1",
            "J330723-2026-000000",
            "J330723-2026-000001-1",
        ] {
            assert_eq!(CertificateNumber::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_serial_is_six_digits_at_most() {
        assert_eq!(
            CertificateNumber::new(CertificateKind::Marriage, "330723", 2026, 1_000_000),
            Err(Refusal::SerialsExhausted)
        );
    }
}
