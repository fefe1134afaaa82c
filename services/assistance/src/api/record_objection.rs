//! RecordObjection: an objection raised during the notice sends the application back to
//! investigation and a new notice (审核确认办法 art. 20).

use contracts::civil::assistance::v1 as pb;
use kit::Violations;
use kit::rpc::Text as _;
use tonic::{Request, Response, Status};

use super::AssistanceApi;
use super::shared::CLERK;
use super::shared::application_in_scope;
use super::shared::saved;
use crate::domain::application::Step;
use crate::procedure::step;

/// The objection's summary (bounded text).
pub struct Objection(String);

impl TryFrom<pb::RecordObjectionRequest> for Objection {
    type Error = Violations;

    fn try_from(r: pb::RecordObjectionRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let summary = v.text(&r.summary, "summary", kit::rpc::LONG_MAX);
        if v.is_empty() {
            Ok(Objection(summary))
        } else {
            Err(v)
        }
    }
}

pub async fn handle(
    api: &AssistanceApi,
    request: Request<pb::RecordObjectionRequest>,
) -> Result<Response<pb::Application>, Status> {
    api.rpc
        .write(
            request,
            async |c, req| application_in_scope(c, CLERK, &req.application_id).await,
            async |c, Objection(summary), mut rec| {
                step(&mut rec, Step::Object)?;
                if let Some(notice) = rec.notice.as_mut() {
                    notice.objections.push(summary);
                }
                saved(c, &rec).await
            },
        )
        .await
}
