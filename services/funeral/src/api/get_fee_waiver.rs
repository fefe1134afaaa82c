//! GetFeeWaiver: the recorded decision with its fees and grounding benefits; read-audited.

use contracts::civil::funeral::v1 as pb;
use kit::ServiceError;
use kit::rpc::Rpc;
use tonic::{Request, Response, Status};

use super::shared::{CASE_ROLES, authorized_case, recorded_waiver};

pub async fn handle(
    rpc: &Rpc,
    request: Request<pb::GetFeeWaiverRequest>,
) -> Result<Response<pb::FeeWaiver>, Status> {
    rpc.read(
        request,
        async |c, req: &pb::GetFeeWaiverRequest| {
            c.purpose("read fee waiver");
            authorized_case(c, &req.death_case, "death_case", CASE_ROLES).await
        },
        async |c, _: pb::GetFeeWaiverRequest, case| {
            recorded_waiver(c.db(), &case.id)
                .await?
                .ok_or_else(|| ServiceError::not_found("no fee waiver decision for this case yet"))
        },
    )
    .await
}
