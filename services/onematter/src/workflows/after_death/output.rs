//! What the death case step records for the later steps, and how the existing death case is
//! read from funeral's answer.

use contracts::civil::common::v1::{Date, PersonRef};
use serde::{Deserialize, Serialize};

/// What the death case step keeps for the later steps (serialised as the step's output).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeathCaseOutput {
    /// `cases/{case}` of funeral's death case.
    pub death_case: String,
    /// The deceased, sealed (`crate::convert::seal_person`).
    pub person: String,
    /// `YYYY-MM-DD`.
    pub date_of_death: String,
    #[serde(default)]
    pub death_certificate_number: String,
    /// 火化证明 number, once issued.
    #[serde(default)]
    pub cremation_certificate_number: String,
}

impl DeathCaseOutput {
    /// The sealed deceased of a stored output, when it is this step's.
    pub fn sealed_person(output: &serde_json::Value) -> Option<String> {
        serde_json::from_value::<DeathCaseOutput>(output.clone())
            .ok()
            .map(|o| o.person)
            .filter(|p| !p.is_empty())
    }
}

/// The deceased as the death case step recorded them.
pub(super) struct Deceased {
    pub(super) person: PersonRef,
    pub(super) date_of_death: Date,
    pub(super) recorded: DeathCaseOutput,
}

/// The existing case funeral names in the ErrorInfo metadata (`death_case`) of RegisterDeath's
/// ALREADY_EXISTS answer (reason FUNERAL_DEATH_CASE_EXISTS).
pub(super) fn named_case(status: &tonic::Status) -> Option<String> {
    use tonic_types::StatusExt;
    let info = status.get_details_error_info()?;
    info.metadata
        .get("death_case")
        .filter(|name| name.starts_with("cases/") && name.len() > "cases/".len())
        .cloned()
}
