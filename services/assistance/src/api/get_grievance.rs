//! GetGrievance: a grievance, for the clerks of its region.

use contracts::civil::assistance::v1 as pb;
use tonic::{Request, Response, Status};

use super::AssistanceApi;
use super::shared::{HANDLERS, grievance_in_scope};
use crate::grievances;

pub async fn handle(
    api: &AssistanceApi,
    request: Request<pb::GetGrievanceRequest>,
) -> Result<Response<pb::Grievance>, Status> {
    api.rpc
        .read(
            request,
            async |c, req| grievance_in_scope(c, HANDLERS, &req.grievance_id).await,
            async |c, _: pb::GetGrievanceRequest, rec| Ok(grievances::to_proto(&rec, c.today())),
        )
        .await
}
