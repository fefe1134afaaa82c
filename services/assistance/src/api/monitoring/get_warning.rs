//! GetWarning: one warning, in the caller's region.

use contracts::civil::assistance::v1 as pb;
use tonic::{Request, Response, Status};

use super::MonitoringApi;
use super::shared::warning_in_scope;
use crate::monitoring::views::warning_view;

pub async fn handle(
    api: &MonitoringApi,
    request: Request<pb::GetWarningRequest>,
) -> Result<Response<pb::Warning>, Status> {
    api.rpc
        .read(
            request,
            async |c, req| warning_in_scope(c, &req.warning_id).await,
            async |c, _: pb::GetWarningRequest, row| {
                let today = c.today();
                warning_view(c.db(), &row, today).await
            },
        )
        .await
}
