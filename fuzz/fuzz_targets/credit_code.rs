//! Parsing any string must return Ok or Err, never panic; a parsed code must be re-issuable
//! from its own parts.
#![no_main]

use civil_id::CreditCode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| {
    if let Ok(code) = CreditCode::parse(input) {
        let reissued = CreditCode::issue(
            code.authority(),
            code.kind(),
            code.region(),
            &code.as_str()[8..17],
        );
        assert_eq!(reissued.as_ref(), Ok(&code));
    }
});
