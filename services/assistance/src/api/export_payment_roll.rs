//! ExportPaymentRoll: the month's stored roll as CSV for the paying bank (payees masked).

use contracts::civil::assistance::v1 as pb;
use tonic::{Request, Response, Status};

use super::AssistanceApi;
use super::shared::APPROVER;
use crate::roll::{self, RollMonth, to_csv};

pub async fn handle(
    api: &AssistanceApi,
    request: Request<pb::ExportPaymentRollRequest>,
) -> Result<Response<pb::ExportPaymentRollResponse>, Status> {
    let county = api.inner.policy.county.clone();
    api.rpc
        .read(
            request,
            async |c, _| c.authorize(APPROVER, Some(&county)),
            async |c, RollMonth(month): RollMonth, ()| {
                let roll = roll::stored(c, month).await?;
                c.object(roll.id.clone());
                c.purpose("payment");
                Ok(pb::ExportPaymentRollResponse {
                    month: roll.month.clone(),
                    csv: to_csv(&roll),
                })
            },
        )
        .await
}
