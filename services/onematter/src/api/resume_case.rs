//! ResumeCase: an operator resumes a parked case, declaring some failed steps done by hand.

use tonic::{Request, Response, Status};

use contracts::civil::onematter::v1 as pb;
use kit::Violations;
use kit::rpc::{LONG_MAX, Text as _};

use super::{OneMatterApi, operated, view};
use crate::executor::Engine;

/// What the operator did, and the failed steps completed outside the system.
pub struct Resume {
    note: String,
    completed_by_hand: Vec<String>,
}

impl TryFrom<pb::ResumeCaseRequest> for Resume {
    type Error = Violations;
    fn try_from(req: pb::ResumeCaseRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let note = v.text(&req.note, "note", LONG_MAX);
        super::decoded(
            v,
            Resume {
                note,
                completed_by_hand: req.completed_by_hand,
            },
        )
    }
}

pub(super) async fn handle(
    api: &OneMatterApi,
    request: Request<pb::ResumeCaseRequest>,
) -> Result<Response<pb::Case>, Status> {
    let executor = api.executor.clone();
    let answer = api
        .rpc
        .write(
            request,
            async |c, req| operated(c, &req.name).await,
            async |c, r: Resume, case| {
                let actor = c.principal().subject.clone();
                let by_hand = &r.completed_by_hand;
                executor
                    .resume(c.db(), &case.id, &actor, &r.note, by_hand)
                    .await?;
                view(c, &case.id).await
            },
        )
        .await?;
    api.notify(answer.get_ref());
    Ok(answer)
}
