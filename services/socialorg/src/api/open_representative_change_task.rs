//! OpenRepresentativeChangeTask: the legal representative must be replaced (e.g. deceased);
//! one open task per organisation, a second request joins it.

use contracts::civil::socialorg::v1 as pb;
use kit::Violations;
use kit::rpc::{LONG_MAX, Rpc, Text as _};
use tonic::{Request, Response, Status};

use super::shared::{authorized_org, locked_active};
use crate::convert;
use crate::store;

pub struct Reason(String);

impl TryFrom<pb::OpenRepresentativeChangeTaskRequest> for Reason {
    type Error = Violations;

    fn try_from(req: pb::OpenRepresentativeChangeTaskRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let reason = v.text(&req.reason, "reason", LONG_MAX);
        if v.is_empty() {
            Ok(Reason(reason))
        } else {
            Err(v)
        }
    }
}

pub async fn handle(
    rpc: &Rpc,
    request: Request<pb::OpenRepresentativeChangeTaskRequest>,
) -> Result<Response<pb::RepresentativeChangeTask>, Status> {
    rpc.write(
        request,
        async |c, req| authorized_org(c, &req.organisation_id, true).await,
        async |c, Reason(reason), org| {
            let o = locked_active(c.db(), &org.id).await?;
            if let Some(open) = store::open_task(c.db(), &o.id).await? {
                return Ok(convert::task_out(&open));
            }
            let task = store::TaskRow {
                id: uuid::Uuid::now_v7().to_string(),
                organisation_id: o.id.clone(),
                reason,
                open: true,
                opened_at_ms: c.now_ms(),
            };
            store::insert_task(c.db(), &task).await?;
            Ok(convert::task_out(&task))
        },
    )
    .await
}
