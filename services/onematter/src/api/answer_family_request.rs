//! AnswerFamilyRequest (补件): the family answers what a step waits for; the step runs again.

use tonic::{Request, Response, Status};

use auth::Role;
use contracts::civil::onematter::v1 as pb;
use kit::rpc::Text;
use kit::{ServiceError, Violations};

use super::{OneMatterApi, load};
use crate::executor::store;

/// The answer, checked.
pub struct Answer {
    request: String,
    text: String,
}

impl TryFrom<pb::AnswerFamilyRequestRequest> for Answer {
    type Error = Violations;
    fn try_from(req: pb::AnswerFamilyRequestRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let text = v.text(&req.answer, "answer", 2000);
        let request = request_id(&req.name);
        if request.is_none() {
            v.add("name", "must be cases/{case}/requests/{step}");
        }
        super::decoded(
            v,
            Answer {
                request: request.unwrap_or_default(),
                text,
            },
        )
    }
}

/// `cases/{case}/requests/{step}` -> `{case}/{step}`.
fn request_id(name: &str) -> Option<String> {
    let rest = name.strip_prefix("cases/")?;
    let (case, step) = rest.split_once("/requests/")?;
    let valid = |s: &str| !s.is_empty() && s.len() <= 64 && !s.contains('/');
    (valid(case) && valid(step)).then(|| format!("{case}/{step}"))
}

/// The case of the request, when the caller is its applicant (the family that applied);
/// anyone else gets PERMISSION_DENIED without details.
async fn applicant_case(
    c: &mut kit::rpc::Call,
    name: &str,
) -> Result<crate::executor::store::CaseRecord, ServiceError> {
    let denied = || ServiceError::Status(Status::permission_denied("not allowed"));
    let case_name = name.split("/requests/").next().unwrap_or_default();
    let case = load(c, case_name).await.map_err(|_| denied())?;
    let p = c.principal();
    if p.has_role(Role::Citizen) && !case.applicant.is_empty() && case.applicant == p.subject {
        Ok(case)
    } else {
        Err(denied())
    }
}

pub(super) async fn handle(
    api: &OneMatterApi,
    request: Request<pb::AnswerFamilyRequestRequest>,
) -> Result<Response<pb::FamilyRequest>, Status> {
    let executor = api.executor.clone();
    let answer = api
        .rpc
        .write(
            request,
            async |c, req| applicant_case(c, &req.name).await,
            async |c, a: Answer, case| {
                let by = c.principal().subject.clone();
                executor.answer(c.db(), &a.request, &a.text, &by).await?;
                c.object(format!("cases/{}/requests", case.id));
                let stored = store::load_request(c.db(), &a.request)
                    .await?
                    .ok_or_else(|| ServiceError::not_found("request"))?;
                Ok(crate::convert::family_request(&stored, c.today()))
            },
        )
        .await?;
    let id = answer
        .get_ref()
        .case
        .trim_start_matches("cases/")
        .to_owned();
    api.executor.signals().notify(&id);
    Ok(answer)
}
