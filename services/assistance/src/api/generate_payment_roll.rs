//! GeneratePaymentRoll: the month's payment roll of the county, generated once from the benefits
//! paying that month and answered again unchanged.

use contracts::civil::assistance::v1 as pb;
use tonic::{Request, Response, Status};

use super::AssistanceApi;
use super::shared::APPROVER;
use crate::roll::{self, RollMonth};

pub async fn handle(
    api: &AssistanceApi,
    request: Request<pb::GeneratePaymentRollRequest>,
) -> Result<Response<pb::PaymentRoll>, Status> {
    let policy = api.inner.policy.clone();
    api.rpc
        .write(
            request,
            // The roll covers the whole county of the policy: a county-scoped approver only.
            async |c, _| c.authorize(APPROVER, Some(&policy.county)),
            async |c, RollMonth(month), ()| roll::generate(c, &policy, month).await,
        )
        .await
}
