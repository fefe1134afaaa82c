//! The outside systems for the browser tests (`web/tests`, run by `.ci/run`): the same scripted
//! doubles the end-to-end tests use (household register, social and medical insurance, birth
//! services, checking centre), as one process a `civil serve` points its `CIVIL_UPSTREAM_*` at.
//!
//! Some people are scripted to park a case: social insurance refuses the first pension stop for
//! the deceased of `People::new(n)`, `n` in `PARKED` (a business refusal, so the step fails at
//! once and the case waits for an operator), then accepts when the operator retries.
//!
//! ```sh
//! cargo run -p e2e --example outside
//! ```
//! prints the `CIVIL_UPSTREAM_*` lines to export (each system on a free loopback port), then
//! serves until interrupted.

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use common::{Outside, PENSION, People};
use contracts::civil::external::v1 as ext;

/// The scenario numbers of the people whose cases park (web/tests/suite.ts says the same).
const PARKED: [u32; 2] = [7, 8];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let outside = Outside::start().await;
    let parked: HashSet<String> = PARKED
        .iter()
        .map(|n| People::new(*n).deceased.id_number)
        .collect();
    let refused = Arc::new(Mutex::new(HashSet::new()));
    let keyed = outside.pension.clone();
    outside
        .double
        .on(PENSION, move |r: ext::StopPensionForDeathRequest| {
            let person = r
                .person
                .as_ref()
                .map(|p| p.id_number.clone())
                .unwrap_or_default();
            let first = refused.lock().expect("lock").insert(person.clone());
            if parked.contains(&person) && first {
                return Err(kit::to_status(kit::ServiceError::refused(
                    "SOCIAL_INSURANCE_OVERPAID",
                    "pension for the month after the death was paid: recover it first",
                )));
            }
            Ok(keyed.once(&r.request_id, || ext::PensionStop {
                insured: true,
                stopped_from_month: "next month".into(),
                survivor_benefits_claimable: true,
            }))
        });
    let mut config = kit::config::Config::default();
    outside.wire(&mut config);
    let mut lines: Vec<String> = config
        .upstreams
        .iter()
        .map(|(name, url)| format!("CIVIL_UPSTREAM_{}={url}", name.to_uppercase()))
        .collect();
    lines.sort();
    println!("{}", lines.join("\n"));
    tokio::signal::ctrl_c().await?;
    Ok(())
}
