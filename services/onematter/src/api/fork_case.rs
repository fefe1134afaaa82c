//! ForkCase: an operator reruns a parked or finished case from a step, as a new linked case.

use tonic::{Request, Response, Status};

use contracts::civil::onematter::v1 as pb;
use kit::Violations;

use super::{OneMatterApi, operated, view};

/// The step to rerun from.
pub struct Fork {
    step: String,
}

impl TryFrom<pb::ForkCaseRequest> for Fork {
    type Error = Violations;
    fn try_from(req: pb::ForkCaseRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        v.required(&req.step, "step");
        super::decoded(v, Fork { step: req.step })
    }
}

pub(super) async fn handle(
    api: &OneMatterApi,
    request: Request<pb::ForkCaseRequest>,
) -> Result<Response<pb::Case>, Status> {
    let executor = api.executor.clone();
    let answer = api
        .rpc
        .write(
            request,
            async |c, req| operated(c, &req.name).await,
            async |c, fork: Fork, case| {
                let actor = c.principal().subject.clone();
                let new_id = uuid::Uuid::now_v7().to_string();
                executor
                    .fork(c.db(), &case.id, &fork.step, &new_id, &actor)
                    .await?;
                c.also_audit(format!("cases/{new_id}"));
                c.purpose(fork.step);
                view(c, &new_id).await
            },
        )
        .await?;
    api.notify(answer.get_ref());
    Ok(answer)
}
