//! GetCase: a case with its steps, for its verified applicant or an operator of its region.

use tonic::{Request, Response, Status};

use contracts::civil::onematter::v1 as pb;

use super::{OneMatterApi, readable};

pub(super) async fn handle(
    api: &OneMatterApi,
    request: Request<pb::GetCaseRequest>,
) -> Result<Response<pb::Case>, Status> {
    api.rpc
        .read(
            request,
            async |c, req| readable(c, &req.name).await,
            async |c, _: pb::GetCaseRequest, case| Ok(crate::convert::case(&case, c.sealer())),
        )
        .await
}
