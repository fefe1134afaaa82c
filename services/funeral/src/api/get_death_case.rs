//! GetDeathCase: a funeral home or the aggregator, within the case's region; read-audited.

use contracts::civil::funeral::v1 as pb;
use kit::rpc::Rpc;
use tonic::{Request, Response, Status};

use super::shared::{CASE_ROLES, authorized_case, case_out};

pub async fn handle(
    rpc: &Rpc,
    request: Request<pb::GetDeathCaseRequest>,
) -> Result<Response<pb::DeathCase>, Status> {
    rpc.read(
        request,
        async |c, req: &pb::GetDeathCaseRequest| {
            c.purpose("read personal data");
            authorized_case(c, &req.name, "name", CASE_ROLES).await
        },
        async |c, _: pb::GetDeathCaseRequest, case| case_out(c, &case).await,
    )
    .await
}
