//! ListRegister: the register's entries owned in a region, optionally of one category.

use contracts::civil::assistance::v1 as pb;
use kit::paging::{Page, Paging};
use kit::{ServiceError, Violations};
use tonic::{Request, Response, Status};

use super::MonitoringApi;
use super::shared::{STAFF, asked_region};
use crate::convert::monitoring::{category_in, register_out};
use crate::store::monitoring as mon;

const PAGING: Paging = Paging::new(100, 1000);

fn query(
    c: &kit::rpc::Call,
    req: &pb::ListRegisterRequest,
) -> Result<(String, Page), ServiceError> {
    c.authorize(STAFF, None)?;
    let mut v = Violations::new();
    let region = asked_region(c, &req.region, &mut v);
    let filter = [region.clone().unwrap_or_default(), req.category.to_string()];
    let page = PAGING.page(
        &mut v,
        req.page_size,
        &req.page_token,
        &[&filter[0], &filter[1]],
    );
    v.finish()?;
    let (Some(region), Some(page)) = (region, page) else {
        return Err(ServiceError::invalid("region", "must be a region code"));
    };
    c.authorize(STAFF, Some(&region))?;
    Ok((region, page))
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
