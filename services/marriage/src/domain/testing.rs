//! Valid identity numbers for seeds and tests (not for production data).

use civil_id::{IdNumber, Sex};
use time::Date;

/// Returns a valid identity number registered in county 330723 for someone born on `birth` with
/// `sex`; `seq` (0-49) tells apart persons born on the same day.
pub fn id_number_seq(birth: Date, sex: Sex, seq: u16) -> IdNumber {
    let parity = match sex {
        Sex::Male => 1,
        Sex::Female => 0,
    };
    let sequence = 100 + (seq % 50) * 2 + parity;
    let first17 = format!(
        "330723{:04}{:02}{:02}{sequence:03}",
        birth.year(),
        u8::from(birth.month()),
        birth.day()
    );
    let number = format!("{first17}{}", IdNumber::check_char(&first17));
    // The number is built valid: a failure here is a bug in this helper.
    IdNumber::parse(&number).unwrap_or_else(|e| panic!("built an invalid identity number: {e}"))
}

/// [`id_number_seq`] with sequence 0.
pub fn id_number(birth: Date, sex: Sex) -> IdNumber {
    id_number_seq(birth, sex, 0)
}
