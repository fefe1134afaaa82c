//! GenerateRoll: the month's regular roll as a draft (generated again while a draft), or the
//! submitted or frozen roll as it is.

use contracts::civil::assistance::v1 as pb;
use tonic::{Request, Response, Status};

use super::AssistanceApi;
use super::shared::APPROVER;
use crate::payments;
use crate::roll::{RollMonth, parse_month};

impl TryFrom<pb::GenerateRollRequest> for RollMonth {
    type Error = kit::ServiceError;

    fn try_from(r: pb::GenerateRollRequest) -> Result<Self, kit::ServiceError> {
        parse_month(&r.month).map(RollMonth)
    }
}

pub async fn handle(
    api: &AssistanceApi,
    request: Request<pb::GenerateRollRequest>,
) -> Result<Response<pb::Roll>, Status> {
    let policy = api.inner.policy.clone();
    api.rpc
        .write(
            request,
            async |c, _| c.authorize(APPROVER, Some(&policy.county)),
            async |c, RollMonth(month), ()| payments::generate(c, &policy, month).await,
        )
        .await
}
