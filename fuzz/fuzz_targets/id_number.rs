//! Parsing any string must return Ok or Err, never panic; a parsed number must re-parse to
//! itself and mask without revealing its birth date.
#![no_main]

use civil_id::{IdNumber, mask_id_number};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| {
    let masked = mask_id_number(input);
    assert_eq!(masked.chars().count(), input.chars().count());
    if let Ok(id) = IdNumber::parse(input) {
        assert_eq!(IdNumber::parse(id.as_str()).as_ref(), Ok(&id));
        assert!(!id.to_string().contains(&id.as_str()[6..14]));
        let _ = (id.birth_date(), id.sex(), id.region());
    }
});
