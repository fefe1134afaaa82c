//! ExplainLine: why a roll line has its amount, from the inputs frozen with the roll.

use contracts::civil::assistance::v1 as pb;
use kit::ServiceError;
use tonic::{Request, Response, Status};

use super::AssistanceApi;
use super::shared::APPROVER;
use crate::payments;
use crate::store;

pub async fn handle(
    api: &AssistanceApi,
    request: Request<pb::ExplainLineRequest>,
) -> Result<Response<pb::LineExplanation>, Status> {
    let county = api.inner.policy.county.clone();
    api.rpc
        .read(
            request,
            async |c, req| {
                c.authorize(APPROVER, Some(&county))?;
                if req.line_id.trim().is_empty() {
                    return Err(ServiceError::invalid("line_id", "is required"));
                }
                let line = store::load_line(c.db(), &req.line_id).await?;
                c.object(line.benefit_id.clone());
                c.also_audit(line.line_id.clone());
                Ok(line)
            },
            async |c, _: pb::ExplainLineRequest, line| {
                c.purpose("payment");
                payments::explain(c, line).await
            },
        )
        .await
}
