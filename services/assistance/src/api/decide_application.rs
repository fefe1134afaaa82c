//! DecideApplication (审核确认): the county approves (the benefit starts) or refuses with
//! written reasons, once the public notice has ended.

use contracts::civil::assistance::v1 as pb;
use tonic::{Request, Response, Status};

use super::AssistanceApi;
use super::shared::{APPROVER, application_in_scope, forget_now};
use crate::convert::application_to_proto;
use crate::decision::{self, Decision};

pub async fn handle(
    api: &AssistanceApi,
    request: Request<pb::DecideApplicationRequest>,
) -> Result<Response<pb::Application>, Status> {
    let policy = api.inner.policy.clone();
    let result = api
        .rpc
        .write(
            request,
            async |c, req| application_in_scope(c, APPROVER, &req.application_id).await,
            async |c, decision: Decision, rec| {
                let rec = decision::decide(c, &policy, decision, rec).await?;
                let full = c.principal().sees_full_identity_numbers();
                Ok(application_to_proto(&rec, full))
            },
        )
        .await;
    forget_now(api, result, |a| &a.benefit_id).await
}
