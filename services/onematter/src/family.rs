//! Who may act for a deceased person's after-death matter (Defects issue, item 1).
//!
//! A case about a deceased person is the family's business, and what it shows (benefits ended,
//! spouse widowed, pension stopped) is personal data of the deceased and the family (个人信息保护法
//! art. 49: close relatives, for their own legitimate interests). So the suite decides from
//! evidence it holds, never from what the caller writes in the request:
//! 1. the declarant funeral recorded at the desk on the death case (documents seen there),
//!    asked with `FuneralService.VerifyDeclarant` (yes or no; funeral never reveals who);
//! 2. the household register's answer that the declarant is a close relative of the deceased
//!    (`HouseholdRegisterService.VerifyKinship`, 民法典 art. 1045);
//! 3. a clerk who saw the documents at the counter (an operator starting the case, or
//!    `VerifyFamily`).
//!
//! The evidence is checked before the aggregator looks for an existing case, and the refusal is
//! the same whether or not the deceased has one: a stranger learns nothing from it.

use std::time::Duration;

use tonic::Code;

use contracts::civil::common::v1::PersonRef;
use contracts::civil::external::v1 as ext;
use contracts::civil::funeral::v1 as funeral;
use contracts::civil::onematter::v1 as pb;
use kit::{ServiceContext, ServiceError};

use crate::adapters::Externals;

/// How long each source of evidence may take to answer a StartCase.
const ASK_TIMEOUT: Duration = Duration::from_secs(5);

/// The refusal when no source shows the declarant as family.
pub const NOT_VERIFIED: &str = "ONEMATTER_FAMILY_NOT_VERIFIED";

/// Why the applicant of a case may act for its matter (stored as text with the case).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evidence {
    /// No applicant yet: a case started without application waits for the family.
    None,
    /// The matter is the applicant's own (marriage parties, an assistance household).
    OwnMatter,
    /// The declarant recorded at the funeral desk.
    DeathRegistration,
    /// A close relative in the household register.
    HouseholdRegister,
    /// A clerk saw the documents.
    Clerk,
}

impl Evidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Evidence::None => "",
            Evidence::OwnMatter => "own_matter",
            Evidence::DeathRegistration => "death_registration",
            Evidence::HouseholdRegister => "household_register",
            Evidence::Clerk => "clerk",
        }
    }

    pub fn parse(s: &str) -> Evidence {
        match s {
            "own_matter" => Evidence::OwnMatter,
            "death_registration" => Evidence::DeathRegistration,
            "household_register" => Evidence::HouseholdRegister,
            "clerk" => Evidence::Clerk,
            _ => Evidence::None,
        }
    }

    pub fn to_pb(self) -> pb::ApplicantEvidence {
        match self {
            Evidence::None => pb::ApplicantEvidence::None,
            Evidence::OwnMatter => pb::ApplicantEvidence::OwnMatter,
            Evidence::DeathRegistration => pb::ApplicantEvidence::DeathRegistration,
            Evidence::HouseholdRegister => pb::ApplicantEvidence::HouseholdRegister,
            Evidence::Clerk => pb::ApplicantEvidence::Clerk,
        }
    }
}

/// What one source answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Yes(Evidence),
    No,
    /// The source could not be asked now (down, slow): a later retry may get an answer.
    Unreachable,
}

fn classify(status: &tonic::Status) -> Answer {
    match status.code() {
        Code::Unavailable
        | Code::DeadlineExceeded
        | Code::Cancelled
        | Code::ResourceExhausted
        | Code::Aborted
        | Code::Internal
        | Code::Unknown => Answer::Unreachable,
        // NOT_FOUND: no death case / no household registration; anything else: no evidence.
        _ => Answer::No,
    }
}

/// Combines the answers: any yes wins; otherwise an unreachable source makes the refusal
/// retryable, and two clear noes refuse.
fn decide(answers: &[Answer]) -> Result<Evidence, ServiceError> {
    if let Some(e) = answers.iter().find_map(|a| match a {
        Answer::Yes(e) => Some(*e),
        _ => None,
    }) {
        return Ok(e);
    }
    if answers.contains(&Answer::Unreachable) {
        return Err(ServiceError::Unavailable(
            "the family cannot be verified now; try again later".into(),
        ));
    }
    Err(ServiceError::refused(
        NOT_VERIFIED,
        "the declarant could not be verified as family of the deceased from the death \
         registration or the household register; a clerk can verify the family from documents \
         at the counter",
    ))
}

/// Checks that `declarant` is family of `deceased`, from the death registration and the
/// household register (asked concurrently), acting for `on_behalf_of`.
pub async fn verify(
    ctx: &ServiceContext,
    externals: &Externals,
    on_behalf_of: &str,
    declarant: &PersonRef,
    deceased: &PersonRef,
) -> Result<Evidence, ServiceError> {
    let (a, b) = futures::join!(
        ask_funeral(ctx, on_behalf_of, declarant, deceased),
        ask_register(ctx, externals, on_behalf_of, declarant, deceased),
    );
    decide(&[a, b])
}

/// Is `declarant` the declarant funeral recorded at its desk on the deceased's death case?
async fn ask_funeral(
    ctx: &ServiceContext,
    on_behalf_of: &str,
    declarant: &PersonRef,
    deceased: &PersonRef,
) -> Answer {
    use funeral::verify_declarant_request::{Deceased, Person};
    let req = funeral::VerifyDeclarantRequest {
        deceased: Some(Deceased::DeceasedIdNumber(deceased.id_number.clone())),
        person: Some(Person::PersonIdNumber(declarant.id_number.clone())),
    };
    let mut client =
        funeral::funeral_service_client::FuneralServiceClient::new(ctx.channel("funeral"));
    let call = client.verify_declarant(ctx.outbound(req, on_behalf_of));
    match tokio::time::timeout(ASK_TIMEOUT, call).await {
        Err(_) => Answer::Unreachable,
        Ok(Err(status)) => classify(&status),
        // Only a declarant recorded from documents seen at the desk is evidence: one the
        // aggregator relayed from a family's own word is not.
        Ok(Ok(r)) if r.get_ref().is_declarant && r.get_ref().recorded_at_desk => {
            Answer::Yes(Evidence::DeathRegistration)
        }
        Ok(Ok(_)) => Answer::No,
    }
}

/// Does the household register show `declarant` as a close relative of the deceased?
async fn ask_register(
    ctx: &ServiceContext,
    externals: &Externals,
    on_behalf_of: &str,
    declarant: &PersonRef,
    deceased: &PersonRef,
) -> Answer {
    let req = ext::VerifyKinshipRequest {
        person: Some(declarant.clone()),
        relative: Some(deceased.clone()),
    };
    let call = externals
        .household_register
        .verify_kinship(ctx.outbound(req, on_behalf_of));
    match tokio::time::timeout(ASK_TIMEOUT, call).await {
        Err(_) => Answer::Unreachable,
        Ok(Err(status)) => classify(&status),
        Ok(Ok(answer)) => match answer.kinship() {
            ext::Kinship::Unspecified | ext::Kinship::None => Answer::No,
            _ => Answer::Yes(Evidence::HouseholdRegister),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_source_confirming_the_family_is_enough() {
        assert_eq!(
            decide(&[Answer::No, Answer::Yes(Evidence::HouseholdRegister)]).ok(),
            Some(Evidence::HouseholdRegister)
        );
        assert_eq!(
            decide(&[
                Answer::Yes(Evidence::DeathRegistration),
                Answer::Unreachable
            ])
            .ok(),
            Some(Evidence::DeathRegistration)
        );
    }

    #[test]
    fn two_noes_refuse_and_an_unreachable_source_makes_the_refusal_retryable() {
        let refused = decide(&[Answer::No, Answer::No]).expect_err("refused");
        assert_eq!(
            kit::error::to_status(refused).code(),
            Code::FailedPrecondition
        );
        let later = decide(&[Answer::No, Answer::Unreachable]).expect_err("later");
        assert_eq!(kit::error::to_status(later).code(), Code::Unavailable);
    }

    #[test]
    fn a_missing_record_is_a_no_and_an_outage_is_unreachable() {
        assert_eq!(classify(&tonic::Status::not_found("x")), Answer::No);
        assert_eq!(classify(&tonic::Status::unimplemented("x")), Answer::No);
        assert_eq!(
            classify(&tonic::Status::unavailable("x")),
            Answer::Unreachable
        );
    }

    #[test]
    fn evidence_round_trips_through_its_stored_name() {
        for e in [
            Evidence::None,
            Evidence::OwnMatter,
            Evidence::DeathRegistration,
            Evidence::HouseholdRegister,
            Evidence::Clerk,
        ] {
            assert_eq!(Evidence::parse(e.as_str()), e);
        }
    }
}
