//! GetRoll: a roll's state, hash and reconciliation, with its lines of one status if asked.

use contracts::civil::assistance::v1 as pb;
use tonic::{Request, Response, Status};

use super::AssistanceApi;
use super::shared::roll_in_scope;
use crate::payments;

pub async fn handle(
    api: &AssistanceApi,
    request: Request<pb::GetRollRequest>,
) -> Result<Response<pb::Roll>, Status> {
    let county = api.inner.policy.county.clone();
    api.rpc
        .read(
            request,
            async |c, req| roll_in_scope(c, &county, &req.roll_id).await,
            async |c, req: pb::GetRollRequest, roll| {
                let status = payments::line_status_from_proto(req.lines_with_status);
                if status.is_none() {
                    // Totals only: no person is named.
                    c.quiet();
                }
                payments::view(c, &roll, status).await
            },
        )
        .await
}
