//! ListPaymentRolls: the county's rolls, newest first, without their lines.

use contracts::civil::assistance::v1 as pb;
use tonic::{Request, Response, Status};

use super::AssistanceApi;
use super::shared::APPROVER;
use crate::roll;

pub async fn handle(
    api: &AssistanceApi,
    request: Request<pb::ListPaymentRollsRequest>,
) -> Result<Response<pb::ListPaymentRollsResponse>, Status> {
    let county = api.inner.policy.county.clone();
    api.rpc
        .read(
            request,
            async |c, _| c.authorize(APPROVER, Some(&county)),
            async |c, req: pb::ListPaymentRollsRequest, ()| {
                let (size, before) = roll::page_of(&req)?;
                // Totals per month: no person is named.
                c.quiet();
                roll::list(c, size, &before).await
            },
        )
        .await
}
