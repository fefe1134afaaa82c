//! VerifyDeclarant: tells the aggregator whether a person is the declarant recorded on a
//! deceased person's death case (yes or no, never the declarant). Service role; the case's
//! region; read-audited.

use auth::Role;
use contracts::civil::funeral::v1 as pb;
use contracts::civil::funeral::v1::verify_declarant_request::{Deceased, Person};
use kit::rpc::{Call, Rpc};
use kit::{ServiceError, Violations};
use tonic::{Request, Response, Status};

use super::shared::{case_id, case_name};
use crate::store::{self, CaseRow};

/// How the request names the deceased.
enum Who {
    Case(String),
    Index(String),
}

/// The question, decoded: the deceased and the person's blind index.
struct Question {
    deceased: Who,
    person_index: String,
}

fn question(c: &Call, req: &pb::VerifyDeclarantRequest) -> Result<Question, Violations> {
    let mut v = Violations::new();
    let deceased = deceased_in(c, &mut v, req.deceased.as_ref());
    let person = person_in(c, &mut v, req.person.as_ref());
    match (deceased, person) {
        (Some(deceased), Some(person_index)) if v.is_empty() => Ok(Question {
            deceased,
            person_index,
        }),
        _ => Err(v),
    }
}

fn nonblank(v: &mut Violations, value: &str, field: &str) -> String {
    v.check(!value.trim().is_empty(), field, "is required");
    value.trim().to_owned()
}

fn deceased_in(c: &Call, v: &mut Violations, d: Option<&Deceased>) -> Option<Who> {
    match d {
        Some(Deceased::DeathCase(name)) => {
            let id = case_id(name, "death_case").ok();
            v.check(id.is_some(), "death_case", "must be cases/{case}");
            id.map(Who::Case)
        }
        Some(Deceased::DeceasedIdNumber(n)) => v
            .id_number(n, "deceased_id_number")
            .map(|id| Who::Index(c.sealer().protect(&id).1)),
        Some(Deceased::DeceasedIndex(i)) => Some(Who::Index(nonblank(v, i, "deceased_index"))),
        None => {
            let rule = "exactly one of death_case, deceased_id_number, deceased_index is required";
            v.add("deceased", rule);
            None
        }
    }
}

fn person_in(c: &Call, v: &mut Violations, p: Option<&Person>) -> Option<String> {
    match p {
        Some(Person::PersonIdNumber(n)) => v
            .id_number(n, "person_id_number")
            .map(|id| c.sealer().protect(&id).1),
        Some(Person::PersonIndex(i)) => Some(nonblank(v, i, "person_index")),
        None => {
            v.add(
                "person",
                "exactly one of person_id_number, person_index is required",
            );
            None
        }
    }
}

pub async fn handle(
    rpc: &Rpc,
    request: Request<pb::VerifyDeclarantRequest>,
) -> Result<Response<pb::VerifyDeclarantResponse>, Status> {
    rpc.read(
        request,
        async |c, req: &pb::VerifyDeclarantRequest| {
            c.purpose("verify declarant");
            let q = question(c, req)?;
            let case = match &q.deceased {
                Who::Case(id) => store::case_by_id(c.db(), id).await?,
                Who::Index(index) => store::case_by_person(c.db(), index).await?,
            }
            .ok_or_else(|| ServiceError::not_found("no death case for this deceased person"))?;
            c.object(case_name(&case.id));
            c.authorize(&[Role::Service], Some(&case.region))?;
            Ok((case, q.person_index))
        },
        async |_, _: pb::VerifyDeclarantRequest, (case, person): (CaseRow, String)| {
            Ok(answer(&case, &person))
        },
    )
    .await
}

fn answer(case: &CaseRow, person_index: &str) -> pb::VerifyDeclarantResponse {
    let Some(d) = &case.declarant else {
        return pb::VerifyDeclarantResponse {
            death_case: case_name(&case.id),
            ..Default::default()
        };
    };
    let is_declarant = d.index == person_index;
    let relationship = pb::DeclarantRelationship::from_str_name(&d.relationship)
        .filter(|_| is_declarant)
        .unwrap_or_default();
    pb::VerifyDeclarantResponse {
        death_case: case_name(&case.id),
        declarant_recorded: true,
        is_declarant,
        relationship: relationship.into(),
        recorded_at_desk: d.at_desk,
    }
}
