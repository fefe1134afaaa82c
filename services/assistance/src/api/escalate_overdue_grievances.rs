//! EscalateOverdueGrievances: the county's overdue grievances go to the county level, once.

use auth::Role;
use contracts::civil::assistance::v1 as pb;
use tonic::{Request, Response, Status};

use super::AssistanceApi;
use crate::grievances;

/// The county approver, or the scheduler (a service caller).
const ESCALATORS: &[Role] = &[Role::CountyApprover, Role::Service];

pub async fn handle(
    api: &AssistanceApi,
    request: Request<pb::EscalateOverdueGrievancesRequest>,
) -> Result<Response<pb::ListOverdueGrievancesResponse>, Status> {
    let county = api.inner.policy.county.clone();
    api.rpc
        .write(
            request,
            async |c, _| {
                c.authorize(ESCALATORS, Some(&county))?;
                c.object(county.clone());
                Ok(())
            },
            async |c, _: pb::EscalateOverdueGrievancesRequest, ()| {
                grievances::escalate(c, &county).await
            },
        )
        .await
}
