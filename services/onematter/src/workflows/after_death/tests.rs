//! The after-death plan and its step outputs.

use super::*;

#[test]
fn the_plan_registers_the_death_before_everything_else_and_runs_the_rest_side_by_side() {
    assert!(PLAN.validate().is_ok());
    let after: Vec<_> = PLAN.dependants(DEATH_CASE);
    assert_eq!(after.len(), PLAN.steps.len() - 1);
    assert!(
        PLAN.steps
            .iter()
            .filter(|s| s.name != HOUSEHOLD)
            .all(|s| s.depends_on.len() <= 1),
        "no other step waits on a sibling"
    );
}

#[test]
fn household_deregistration_waits_for_the_funeral_step() {
    let household = PLAN.step(HOUSEHOLD).expect("step");
    assert!(household.depends_on.contains(&DISPOSAL));
    assert_eq!(PLAN.dependants(DISPOSAL), vec![HOUSEHOLD]);
}

#[test]
fn the_existing_death_case_is_read_from_funerals_error_details_not_its_message() {
    use tonic_types::{ErrorDetails, StatusExt};
    let details = ErrorDetails::with_error_info(
        "FUNERAL_DEATH_CASE_EXISTS",
        kit::error::ERROR_DOMAIN,
        std::collections::HashMap::from([("death_case".to_owned(), "cases/0199-ab".into())]),
    );
    let status = tonic::Status::with_error_details(
        Code::AlreadyExists,
        "the person already has a death case",
        details,
    );
    assert_eq!(named_case(&status).as_deref(), Some("cases/0199-ab"));
    let text_only =
        tonic::Status::already_exists("the person already has a death case: cases/0199-ab");
    assert_eq!(named_case(&text_only), None);
}

#[test]
fn the_death_case_output_reads_back_as_it_was_written() {
    let output = DeathCaseOutput {
        death_case: "cases/1".into(),
        person: "sealed".into(),
        date_of_death: "2026-01-05".into(),
        death_certificate_number: "YX-1".into(),
        cremation_certificate_number: String::new(),
    };
    let value = serde_json::to_value(&output).expect("json");
    assert_eq!(
        DeathCaseOutput::sealed_person(&value).as_deref(),
        Some("sealed")
    );
    assert_eq!(
        serde_json::from_value::<DeathCaseOutput>(value).ok(),
        Some(output)
    );
}
