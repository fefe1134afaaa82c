//! Parsing any string must return Ok or Err, never panic; a parsed code contains itself and
//! lies within its own county.
#![no_main]

use civil_id::RegionCode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| {
    if let Ok(region) = RegionCode::parse(input) {
        assert!(region.contains(&region));
        let _ = (region.level(), region.county());
    }
});
