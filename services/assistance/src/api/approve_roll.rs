//! ApproveRoll: the checker, another person than the maker, approves and freezes a roll.

use contracts::civil::assistance::v1 as pb;
use tonic::{Request, Response, Status};

use super::AssistanceApi;
use super::shared::roll_in_scope;
use crate::payments;

pub async fn handle(
    api: &AssistanceApi,
    request: Request<pb::ApproveRollRequest>,
) -> Result<Response<pb::Roll>, Status> {
    let county = api.inner.policy.county.clone();
    api.rpc
        .write(
            request,
            async |c, req| roll_in_scope(c, &county, &req.roll_id).await,
            async |c, _: pb::ApproveRollRequest, roll| payments::approve(c, roll).await,
        )
        .await
}
