//! OpenHouseholdReview: a member's family status changed (婚育户一件事: he or she married), so
//! every benefit the person is a member of gets a household-composition review for the township
//! clerk, once per benefit, cause and reference.

use auth::Role;
use contracts::civil::assistance::v1 as pb;
use kit::Violations;
use kit::rpc::{Call, Text as _};
use time::Date;
use tonic::{Request, Response, Status};

use super::AssistanceApi;
use crate::records::{BenefitRecord, BenefitState, HouseholdReviewRecord, fmt_date};
use crate::store;

/// A valid request.
pub struct Change {
    person: civil_id::IdNumber,
    cause: &'static str,
    reference: String,
    changed_on: Date,
}

impl TryFrom<pb::OpenHouseholdReviewRequest> for Change {
    type Error = Violations;

    fn try_from(r: pb::OpenHouseholdReviewRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let person = v.id_number(&r.id_number, "id_number");
        let cause = cause_name(r.cause());
        v.check(cause.is_some(), "cause", "is required");
        let reference = v.text(&r.reference, "reference", kit::rpc::SHORT_MAX);
        let changed_on = v.date(r.changed_on.as_ref(), "changed_on");
        match (person, cause, changed_on) {
            (Some(person), Some(cause), Some(changed_on)) if v.is_empty() => Ok(Change {
                person,
                cause,
                reference,
                changed_on,
            }),
            _ => Err(v),
        }
    }
}

fn cause_name(cause: pb::HouseholdReviewCause) -> Option<&'static str> {
    match cause {
        pb::HouseholdReviewCause::Marriage => Some("marriage"),
        pb::HouseholdReviewCause::Unspecified => None,
    }
}

pub async fn handle(
    api: &AssistanceApi,
    request: Request<pb::OpenHouseholdReviewRequest>,
) -> Result<Response<pb::OpenHouseholdReviewResponse>, Status> {
    api.rpc
        .write(
            request,
            async |c, _| c.authorize(&[Role::Service, Role::TownshipClerk], None),
            async |c, change: Change, ()| open_reviews(c, change).await,
        )
        .await
}

async fn open_reviews(
    c: &mut Call,
    change: Change,
) -> Result<pb::OpenHouseholdReviewResponse, kit::ServiceError> {
    if change.changed_on > c.today() {
        return Err(kit::ServiceError::invalid("changed_on", "is after today"));
    }
    let sealer = c.sealer().clone();
    let index = sealer.index(&change.person);
    c.object(index.clone());
    c.person(index.clone());
    let mut response = pb::OpenHouseholdReviewResponse::default();
    for mut rec in store::benefits_of_person(c.db(), &sealer, &index).await? {
        if !covers(&rec, change.person.as_str()) {
            continue;
        }
        if !c.principal().has_role(Role::Service) {
            c.authorize(&[Role::TownshipClerk], Some(rec.region()))?;
        }
        let candidate = HouseholdReviewRecord {
            id: uuid::Uuid::now_v7().to_string(),
            cause: change.cause.to_owned(),
            reference: change.reference.clone(),
            changed_on: fmt_date(change.changed_on),
            opened_on: fmt_date(c.today()),
            opened_by: c.principal().subject.clone(),
        };
        let (review, opened) = open_review(&mut rec.household_reviews, candidate);
        if opened {
            c.also_audit(rec.id.clone());
            let now = c.now_ms();
            store::update_benefit(c.db(), &sealer, &rec, now).await?;
        }
        response
            .reviews
            .push(crate::convert::review_to_proto(&rec, &review));
    }
    Ok(response)
}

/// Whether the benefit still covers the person (a current member of a benefit not ended).
fn covers(rec: &BenefitRecord, id_number: &str) -> bool {
    rec.state != BenefitState::Terminated
        && rec
            .terms
            .current()
            .household
            .members
            .iter()
            .any(|m| m.id_number.eq_ignore_ascii_case(id_number))
}

/// One review per benefit, cause and reference: the one already there is returned (false),
/// else the candidate is added (true).
pub fn open_review(
    reviews: &mut Vec<HouseholdReviewRecord>,
    candidate: HouseholdReviewRecord,
) -> (HouseholdReviewRecord, bool) {
    if let Some(existing) = reviews
        .iter()
        .find(|r| r.cause == candidate.cause && r.reference == candidate.reference)
    {
        return (existing.clone(), false);
    }
    reviews.push(candidate.clone());
    (candidate, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn review(reference: &str) -> HouseholdReviewRecord {
        HouseholdReviewRecord {
            id: format!("rv-{reference}"),
            cause: "marriage".into(),
            reference: reference.into(),
            changed_on: "2026-05-20".into(),
            opened_on: "2026-05-20".into(),
            opened_by: "svc-onematter".into(),
        }
    }

    #[test]
    fn one_household_review_per_benefit_and_marriage() {
        let mut reviews = Vec::new();
        let (first, opened) = open_review(&mut reviews, review("J330723-2026-000001"));
        assert!(opened);
        let mut again = review("J330723-2026-000001");
        again.id = "rv-other".into();
        let (repeat, opened) = open_review(&mut reviews, again);
        assert!(!opened, "the same marriage does not open a second review");
        assert_eq!(repeat.id, first.id);
        let (_, opened) = open_review(&mut reviews, review("J330723-2027-000009"));
        assert!(
            opened,
            "another marriage (after a divorce) is another review"
        );
        assert_eq!(reviews.len(), 2);
    }
}
