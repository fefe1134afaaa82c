//! ListRegister: the register's entries owned in a region, optionally of one category.

use contracts::civil::assistance::v1 as pb;
use kit::ServiceError;
use kit::paging::{Page, Paging};
use tonic::{Request, Response, Status};

use super::MonitoringApi;
use super::shared::region_page;
use crate::convert::monitoring::{category_in, register_out};
use crate::store::monitoring as mon;

const PAGING: Paging = Paging::new(100, 1000);

fn query(
    c: &kit::rpc::Call,
    req: &pb::ListRegisterRequest,
) -> Result<(String, Page), ServiceError> {
    let filter = req.category.to_string();
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
    request: Request<pb::ListRegisterRequest>,
) -> Result<Response<pb::ListRegisterResponse>, Status> {
    api.rpc
        .read(
            request,
            async |c, req| query(c, req),
            async |c, req: pb::ListRegisterRequest, (region, page)| {
                c.object(region.clone());
                let after = page.cursor().unwrap_or_default().to_owned();
                let category = category_in(req.category);
                let mut rows =
                    mon::list_register(c.db(), &region, category, &after, page.limit() + 1).await?;
                let size = usize::try_from(page.size()).unwrap_or(usize::MAX);
                let next_page_token = if rows.len() > size {
                    rows.truncate(size);
                    rows.last()
                        .map_or_else(String::new, |r| page.next_token(&r.id))
                } else {
                    String::new()
                };
                Ok(pb::ListRegisterResponse {
                    entries: rows.iter().map(register_out).collect(),
                    next_page_token,
                })
            },
        )
        .await
}
