//! AssignWarning: a warning goes to a named clerk of its township (or the county).

use contracts::civil::assistance::v1 as pb;
use kit::Violations;
use kit::rpc::{NAME_MAX, Text as _};
use tonic::{Request, Response, Status};

use super::MonitoringApi;
use super::shared::{saved, warning_in_scope};
use crate::domain::monitoring::warning;

pub struct Assignee(String);

impl TryFrom<pb::AssignWarningRequest> for Assignee {
    type Error = Violations;

    fn try_from(r: pb::AssignWarningRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let assignee = v.text(&r.assignee, "assignee", NAME_MAX);
        if v.is_empty() {
            Ok(Assignee(assignee))
        } else {
            Err(v)
        }
    }
}

pub async fn handle(
    api: &MonitoringApi,
    request: Request<pb::AssignWarningRequest>,
) -> Result<Response<pb::Warning>, Status> {
    api.rpc
        .write(
            request,
            async |c, req| warning_in_scope(c, &req.warning_id).await,
            async |c, who: Assignee, mut row| {
                warning::assign(&mut row.warning, &who.0)?;
                saved(c, &row).await
            },
        )
        .await
}
