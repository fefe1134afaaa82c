//! GetApplication: clerks, approvers and the one-matter service, within their region scope.

use contracts::civil::assistance::v1 as pb;
use tonic::{Request, Response, Status};

use super::AssistanceApi;
use super::shared::READERS;
use super::shared::application_in_scope;
use crate::convert::application_to_proto;

pub async fn handle(
    api: &AssistanceApi,
    request: Request<pb::GetApplicationRequest>,
) -> Result<Response<pb::Application>, Status> {
    api.rpc
        .read(
            request,
            async |c, req| application_in_scope(c, READERS, &req.application_id).await,
            async |c, _: pb::GetApplicationRequest, rec| {
                let full = c.principal().sees_full_identity_numbers();
                Ok(application_to_proto(&rec, full))
            },
        )
        .await
}
