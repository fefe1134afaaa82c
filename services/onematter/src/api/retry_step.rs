//! RetryStep: an operator runs a failed (or waiting) step again now with fresh attempts.

use tonic::{Request, Response, Status};

use contracts::civil::onematter::v1 as pb;
use kit::Violations;

use super::{OneMatterApi, operated, view};
use crate::executor::Engine;

/// The step to run again.
pub struct Retry {
    step: String,
}

impl TryFrom<pb::RetryStepRequest> for Retry {
    type Error = Violations;
    fn try_from(req: pb::RetryStepRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        v.required(&req.step, "step");
        super::decoded(v, Retry { step: req.step })
    }
}

pub(super) async fn handle(
    api: &OneMatterApi,
    request: Request<pb::RetryStepRequest>,
) -> Result<Response<pb::Case>, Status> {
    let executor = api.executor.clone();
    let answer = api
        .rpc
        .write(
            request,
            async |c, req| operated(c, &req.name).await,
            async |c, retry: Retry, case| {
                let actor = c.principal().subject.clone();
                executor
                    .retry_step(c.db(), &case.id, &retry.step, &actor)
                    .await?;
                c.purpose(retry.step);
                view(c, &case.id).await
            },
        )
        .await?;
    api.notify(answer.get_ref());
    Ok(answer)
}
