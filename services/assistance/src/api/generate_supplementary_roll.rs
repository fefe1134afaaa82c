//! GenerateSupplementaryRoll: failed lines whose account was corrected, re-issued once each.

use contracts::civil::assistance::v1 as pb;
use tonic::{Request, Response, Status};

use super::AssistanceApi;
use super::shared::APPROVER;
use crate::payments;

pub async fn handle(
    api: &AssistanceApi,
    request: Request<pb::GenerateSupplementaryRollRequest>,
) -> Result<Response<pb::Roll>, Status> {
    let county = api.inner.policy.county.clone();
    api.rpc
        .write(
            request,
            async |c, _| c.authorize(APPROVER, Some(&county)),
            async |c, _: pb::GenerateSupplementaryRollRequest, ()| payments::supplementary(c).await,
        )
        .await
}
