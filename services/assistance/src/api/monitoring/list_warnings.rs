//! ListWarnings: the warnings owned in a region, newest first; `overdue_only` keeps the open
//! ones past their due date.

use contracts::civil::assistance::v1 as pb;
use kit::ServiceError;
use kit::paging::{Page, Paging};
use tonic::{Request, Response, Status};

use super::MonitoringApi;
use super::shared::region_page;
use crate::monitoring::views::warning_view;
use crate::store::monitoring as mon;

const PAGING: Paging = Paging::new(50, 500);

fn query(
    c: &kit::rpc::Call,
    req: &pb::ListWarningsRequest,
) -> Result<(String, Page), ServiceError> {
    let filter = req.overdue_only.to_string();
    region_page(
        c,
        &req.region,
        &filter,
        &PAGING,
        req.page_size,
        &req.page_token,
    )
}

pub async fn handle(
    api: &MonitoringApi,
    request: Request<pb::ListWarningsRequest>,
) -> Result<Response<pb::ListWarningsResponse>, Status> {
    api.rpc
        .read(
            request,
            async |c, req| query(c, req),
            async |c, req: pb::ListWarningsRequest, (region, page)| {
                c.object(region.clone());
                let (sealer, today) = (c.sealer().clone(), c.today());
                let overdue = req.overdue_only.then(|| kit::clock::date_text(today));
                let before = page.cursor().unwrap_or_default().to_owned();
                let mut rows = mon::list_warnings(
                    c.db(),
                    &sealer,
                    &region,
                    overdue.as_deref(),
                    &before,
                    page.limit() + 1,
                )
                .await?;
                let size = usize::try_from(page.size()).unwrap_or(usize::MAX);
                let next_page_token = if rows.len() > size {
                    rows.truncate(size);
                    rows.last()
                        .map_or_else(String::new, |r| page.next_token(&r.id))
                } else {
                    String::new()
                };
                let mut warnings = Vec::new();
                for row in &rows {
                    warnings.push(warning_view(c.db(), row, today).await?);
                }
                Ok(pb::ListWarningsResponse {
                    warnings,
                    next_page_token,
                })
            },
        )
        .await
}
