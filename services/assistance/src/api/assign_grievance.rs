//! AssignGrievance: the county names who handles a grievance (and accepts a 信访).

use contracts::civil::assistance::v1 as pb;
use kit::Violations;
use kit::rpc::Text as _;
use tonic::{Request, Response, Status};

use super::AssistanceApi;
use super::shared::{APPROVER, grievance_in_scope};
use crate::grievances;

/// The owner named (a staff subject).
pub struct Owner(String);

impl TryFrom<pb::AssignGrievanceRequest> for Owner {
    type Error = Violations;

    fn try_from(r: pb::AssignGrievanceRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let owner = v.text(&r.owner, "owner", kit::rpc::SHORT_MAX);
        if v.is_empty() {
            Ok(Owner(owner))
        } else {
            Err(v)
        }
    }
}

pub async fn handle(
    api: &AssistanceApi,
    request: Request<pb::AssignGrievanceRequest>,
) -> Result<Response<pb::Grievance>, Status> {
    api.rpc
        .write(
            request,
            async |c, req| grievance_in_scope(c, APPROVER, &req.grievance_id).await,
            async |c, Owner(owner), rec| grievances::assign(c, rec, owner).await,
        )
        .await
}
