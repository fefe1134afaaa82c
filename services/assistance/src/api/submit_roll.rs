//! SubmitRoll: the maker submits a draft roll for checking.

use contracts::civil::assistance::v1 as pb;
use tonic::{Request, Response, Status};

use super::AssistanceApi;
use super::shared::roll_in_scope;
use crate::payments;

pub async fn handle(
    api: &AssistanceApi,
    request: Request<pb::SubmitRollRequest>,
) -> Result<Response<pb::Roll>, Status> {
    let county = api.inner.policy.county.clone();
    api.rpc
        .write(
            request,
            async |c, req| roll_in_scope(c, &county, &req.roll_id).await,
            async |c, _: pb::SubmitRollRequest, roll| payments::submit(c, roll).await,
        )
        .await
}
