//! ListOverdueApplications: the region's accepted applications past their review deadline,
//! oldest deadline first (the caller's own region when none is given).

use contracts::civil::assistance::v1 as pb;
use kit::paging::Page;
use kit::{ServiceError, Violations};
use tonic::{Request, Response, Status};

use super::AssistanceApi;
use super::shared::READERS;
use crate::convert::application_to_proto;
use crate::records::{ApplicationRecord, fmt_date};
use crate::store;

const PAGING: kit::paging::Paging = kit::paging::Paging::new(50, 500);

/// The region asked for (the caller's own by default) and the page.
fn query(
    c: &kit::rpc::Call,
    req: &pb::ListOverdueApplicationsRequest,
) -> Result<(String, Page), ServiceError> {
    c.authorize(READERS, None)?;
    let region = match req.region.as_str() {
        "" => c.principal().region.clone(),
        given => given.to_owned(),
    };
    let mut v = Violations::new();
    let region = v.region(&region, "region").map(|r| r.as_str().to_owned());
    let filter = region.clone().unwrap_or_default();
    let page = PAGING.page(&mut v, req.page_size, &req.page_token, &[&filter]);
    v.finish()?;
    let (Some(region), Some(page)) = (region, page) else {
        return Err(ServiceError::invalid("region", "must be a region code"));
    };
    c.authorize(READERS, Some(&region))?;
    Ok((region, page))
}

pub async fn handle(
    api: &AssistanceApi,
    request: Request<pb::ListOverdueApplicationsRequest>,
) -> Result<Response<pb::ListOverdueApplicationsResponse>, Status> {
    api.rpc
        .read(
            request,
            async |c, req| query(c, req),
            async |c, _: pb::ListOverdueApplicationsRequest, (region, page)| {
                c.object(region.clone());
                let (today, sealer) = (fmt_date(c.today()), c.sealer().clone());
                let after = page.cursor().and_then(|k| k.split_once('\n'));
                let mut rows = store::overdue_applications(
                    c.db(),
                    &sealer,
                    &region,
                    &today,
                    after,
                    page.limit() + 1,
                )
                .await?;
                let next_page_token = cut(&mut rows, &page);
                let full = c.principal().sees_full_identity_numbers();
                let applications = rows
                    .iter()
                    .map(|(_, r)| application_to_proto(r, full))
                    .collect();
                Ok(pb::ListOverdueApplicationsResponse {
                    applications,
                    next_page_token,
                })
            },
        )
        .await
}

/// Cuts `rows` (fetched one over the page) to the page; the next page's token, empty on the
/// last page.
fn cut(rows: &mut Vec<(String, ApplicationRecord)>, page: &Page) -> String {
    let size = usize::try_from(page.size()).unwrap_or(usize::MAX);
    if rows.len() <= size {
        return String::new();
    }
    rows.truncate(size);
    rows.last().map_or_else(String::new, |(deadline, rec)| {
        page.next_token(&format!("{deadline}\n{}", rec.id))
    })
}
