//! ListFamilyRequests (补件): citizens what their own cases wait for; operators the requests
//! of their region, the overdue ones if asked.

use tonic::{Request, Response, Status};

use auth::{Principal, Role};
use contracts::civil::onematter::v1 as pb;
use kit::ServiceError;

use super::OneMatterApi;
use crate::executor::store::{self, RequestFilter};

pub(super) async fn handle(
    api: &OneMatterApi,
    request: Request<pb::ListFamilyRequestsRequest>,
) -> Result<Response<pb::ListFamilyRequestsResponse>, Status> {
    api.rpc
        .read(
            request,
            async |c, req| {
                let today = kit::clock::date_text(c.today());
                filter(c.principal(), req, &today)
            },
            async |c, _: pb::ListFamilyRequestsRequest, filter| {
                let today = c.today();
                let found = store::list_requests(c.db(), &filter).await?;
                c.object(format!("{} family requests", found.len()));
                let requests = found
                    .iter()
                    .map(|r| crate::convert::family_request(r, today))
                    .collect();
                Ok(pb::ListFamilyRequestsResponse { requests })
            },
        )
        .await
}

/// Citizens: the requests of the cases they applied for; operators: of their region.
fn filter(
    p: &Principal,
    req: &pb::ListFamilyRequestsRequest,
    today: &str,
) -> Result<RequestFilter, ServiceError> {
    let case_id = match req.case.as_str() {
        "" => None,
        name => Some(super::case_id(name)?),
    };
    let mut filter = RequestFilter {
        case_id,
        open_only: req.open_only,
        due_before: req.overdue.then(|| today.to_owned()),
        ..Default::default()
    };
    if p.has_role(Role::Operator) {
        filter.region_prefix = Some(p.region.clone());
    } else if p.has_role(Role::Citizen) {
        filter.applicant = Some(p.subject.clone());
    } else {
        return Err(ServiceError::Status(Status::permission_denied(
            "not allowed",
        )));
    }
    Ok(filter)
}
