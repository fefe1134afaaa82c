//! How long and how often the after-death steps try: steps of the suite and of outside systems.

use std::time::Duration;

use crate::executor::StepDef;
use crate::workflows::{OUTSIDE_RETRY, SUITE_RETRY};

pub(super) const fn suite(name: &'static str, depends_on: &'static [&'static str]) -> StepDef {
    StepDef {
        name,
        depends_on,
        retry: SUITE_RETRY,
        attempt_timeout: Duration::from_secs(15),
        deadline: Duration::from_secs(3 * 24 * 3600),
        compensable: false,
        read_only: false,
    }
}

pub(super) const fn outside(name: &'static str, depends_on: &'static [&'static str]) -> StepDef {
    StepDef {
        name,
        depends_on,
        retry: OUTSIDE_RETRY,
        attempt_timeout: Duration::from_secs(30),
        deadline: Duration::from_secs(7 * 24 * 3600),
        compensable: false,
        read_only: false,
    }
}
