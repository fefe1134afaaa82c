//! GetWarningChain: from a warning to the money that followed its closure.

use contracts::civil::assistance::v1 as pb;
use tonic::{Request, Response, Status};

use super::MonitoringApi;
use super::shared::warning_in_scope;
use crate::monitoring::views::warning_chain;

pub async fn handle(
    api: &MonitoringApi,
    request: Request<pb::GetWarningChainRequest>,
) -> Result<Response<pb::WarningChain>, Status> {
    api.rpc
        .read(
            request,
            async |c, req| warning_in_scope(c, &req.warning_id).await,
            async |c, _: pb::GetWarningChainRequest, row| {
                let (sealer, today) = (c.sealer().clone(), c.today());
                warning_chain(c.db(), &sealer, &row, today).await
            },
        )
        .await
}
