//! ListOverdueGrievances: the region's unresolved grievances past their deadline.

use contracts::civil::assistance::v1 as pb;
use kit::{ServiceError, Violations};
use tonic::{Request, Response, Status};

use super::AssistanceApi;
use super::shared::HANDLERS;
use crate::grievances;

/// The region asked for (the caller's own by default), in the caller's scope.
fn region(c: &kit::rpc::Call, asked: &str) -> Result<String, ServiceError> {
    let roles = HANDLERS;
    c.authorize(roles, None)?;
    let asked = if asked.is_empty() {
        c.principal().region.clone()
    } else {
        asked.to_owned()
    };
    let mut v = Violations::new();
    let region = v.region(&asked, "region").map(|r| r.as_str().to_owned());
    v.finish()?;
    let region = region.ok_or_else(|| ServiceError::invalid("region", "must be a region code"))?;
    c.authorize(roles, Some(&region))?;
    Ok(region)
}

pub async fn handle(
    api: &AssistanceApi,
    request: Request<pb::ListOverdueGrievancesRequest>,
) -> Result<Response<pb::ListOverdueGrievancesResponse>, Status> {
    api.rpc
        .read(
            request,
            async |c, req| region(c, &req.region),
            async |c, _: pb::ListOverdueGrievancesRequest, region| {
                c.object(region.clone());
                grievances::overdue(c, &region).await
            },
        )
        .await
}
