//! VerifyFamily: a clerk who saw the documents at the counter lets a family member follow the
//! after-death case (the third kind of evidence, crate::family).

use tonic::{Request, Response, Status};

use contracts::civil::common::v1::PersonRef;
use contracts::civil::onematter::v1 as pb;
use kit::rpc::{Call, LONG_MAX, NAME_MAX, SHORT_MAX, Text as _};
use kit::{ServiceError, Violations};

use super::{OneMatterApi, operated, view};
use crate::convert::seal_person;
use crate::executor::store::{self, Adoption, CaseRecord};
use crate::family::Evidence;

/// What the clerk recorded.
pub struct Verified {
    applicant: String,
    declarant: (civil_id::IdNumber, PersonRef),
    relationship: String,
    documents: String,
}

impl TryFrom<pb::VerifyFamilyRequest> for Verified {
    type Error = Violations;
    fn try_from(req: pb::VerifyFamilyRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let applicant = v.text(&req.applicant, "applicant", SHORT_MAX);
        let relationship = v.text(
            &req.declarant_relationship,
            "declarant_relationship",
            NAME_MAX,
        );
        let documents = v.text(&req.documents, "documents", LONG_MAX);
        let person = req.declarant.unwrap_or_default();
        let name = v.text(&person.name, "declarant.name", NAME_MAX);
        let id = v.id_number(&person.id_number, "declarant.id_number");
        match id {
            Some(id) if v.is_empty() => {
                let id_number = id.as_str().to_owned();
                Ok(Verified {
                    applicant,
                    declarant: (id, PersonRef { id_number, name }),
                    relationship,
                    documents,
                })
            }
            _ => Err(v),
        }
    }
}

pub(super) async fn handle(
    api: &OneMatterApi,
    request: Request<pb::VerifyFamilyRequest>,
) -> Result<Response<pb::Case>, Status> {
    let answer = api
        .rpc
        .write(
            request,
            async |c, req| operated(c, &req.name).await,
            async |c, verified: Verified, case| effect(c, &case, &verified).await,
        )
        .await?;
    api.notify(answer.get_ref());
    Ok(answer)
}

async fn effect(c: &mut Call, case: &CaseRecord, v: &Verified) -> Result<pb::Case, ServiceError> {
    if case.kind != crate::workflows::after_death::KIND {
        return Err(ServiceError::refused(
            "ONEMATTER_NOT_AFTER_DEATH",
            "only the family of an after-death case is verified",
        ));
    }
    let sealed = seal_person(c.sealer(), &v.declarant.1);
    let index = c.sealer().index(&v.declarant.0);
    let adoption = Adoption {
        applicant: &v.applicant,
        evidence: Evidence::Clerk.as_str(),
        declarant_sealed: &sealed,
        declarant_index: &index,
        relationship: &v.relationship,
    };
    let adopted = store::adopt(c.db(), &case.id, &adoption).await?;
    let current = view(c, &case.id).await?;
    if !adopted && current.applicant != v.applicant {
        return Err(ServiceError::refused(
            "ONEMATTER_CASE_EXISTS",
            "the case already has another applicant",
        ));
    }
    if adopted {
        let (message, now) = ("the family was verified at the counter", c.now_ms());
        store::append_event(c.db(), &case.id, "case_joined", "", message, now).await?;
    }
    // The documents seen go to the audit row, not to the case's update log.
    c.purpose(v.documents.clone());
    view(c, &case.id).await
}
