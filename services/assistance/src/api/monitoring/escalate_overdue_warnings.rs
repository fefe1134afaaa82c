//! EscalateOverdueWarnings: every open warning past its due date is escalated to the county
//! (once); the scheduler runs it daily.

use auth::Role;
use contracts::civil::assistance::v1 as pb;
use tonic::{Request, Response, Status};

use super::MonitoringApi;
use crate::domain::monitoring::warning;
use crate::monitoring::views::warning_view;
use crate::store::monitoring as mon;

pub async fn handle(
    api: &MonitoringApi,
    request: Request<pb::EscalateOverdueWarningsRequest>,
) -> Result<Response<pb::EscalateOverdueWarningsResponse>, Status> {
    api.rpc
        .write(
            request,
            async |c, _| c.authorize(&[Role::CountyApprover, Role::Service], None),
            async |c, _: pb::EscalateOverdueWarningsRequest, ()| {
                let (sealer, today, now) = (c.sealer().clone(), c.today(), c.now_ms());
                let today_text = kit::clock::date_text(today);
                let mut escalated = Vec::new();
                for mut row in mon::overdue_unescalated(c.db(), &sealer, &today_text).await? {
                    if warning::escalate(&mut row.warning, today) {
                        mon::update_warning(c.db(), &sealer, &row, now).await?;
                        c.also_audit(row.id.clone());
                        escalated.push(warning_view(c.db(), &row, today).await?);
                    }
                }
                Ok(pb::EscalateOverdueWarningsResponse { escalated })
            },
        )
        .await
}
