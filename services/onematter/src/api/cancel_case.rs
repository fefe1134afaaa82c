//! CancelCase: an operator cancels a case that is not finished.

use tonic::{Request, Response, Status};

use contracts::civil::onematter::v1 as pb;
use kit::Violations;
use kit::rpc::{LONG_MAX, Text as _};

use super::{OneMatterApi, operated, view};
use crate::executor::Engine;

/// Why the case is cancelled.
pub struct Cancel {
    reason: String,
}

impl TryFrom<pb::CancelCaseRequest> for Cancel {
    type Error = Violations;
    fn try_from(req: pb::CancelCaseRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let reason = v.text(&req.reason, "reason", LONG_MAX);
        super::decoded(v, Cancel { reason })
    }
}

pub(super) async fn handle(
    api: &OneMatterApi,
    request: Request<pb::CancelCaseRequest>,
) -> Result<Response<pb::Case>, Status> {
    let executor = api.executor.clone();
    let answer = api
        .rpc
        .write(
            request,
            async |c, req| operated(c, &req.name).await,
            async |c, cancel: Cancel, case| {
                let actor = c.principal().subject.clone();
                executor
                    .cancel(c.db(), &case.id, &actor, &cancel.reason)
                    .await?;
                view(c, &case.id).await
            },
        )
        .await?;
    api.notify(answer.get_ref());
    Ok(answer)
}
