//! ListBeds: an institution's beds with ids, types and occupants (AIP-158 paging).

use contracts::civil::eldercare::v1 as pb;
use kit::Violations;
use kit::paging::Page;
use tonic::{Request, Response, Status};

use super::{Svc, shared};
use crate::convert::{self, PAGING};
use crate::store::institutions::InstitutionRow;
use crate::store::residence as rs;

pub struct BedPage {
    page: Page,
    after: i64,
}

impl TryFrom<pb::ListBedsRequest> for BedPage {
    type Error = Violations;
    fn try_from(req: pb::ListBedsRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let page = PAGING.page(&mut v, req.page_size, &req.page_token, &[&req.institution]);
        let after = page.as_ref().and_then(Page::cursor).map(str::parse::<i64>);
        v.check(!matches!(after, Some(Err(_))), "page_token", "is malformed");
        match (page, after) {
            (Some(page), None) if v.is_empty() => Ok(BedPage { page, after: 0 }),
            (Some(page), Some(Ok(after))) if v.is_empty() => Ok(BedPage { page, after }),
            _ => Err(v),
        }
    }
}

pub async fn handle(
    svc: &Svc,
    request: Request<pb::ListBedsRequest>,
) -> Result<Response<pb::ListBedsResponse>, Status> {
    svc.rpc
        .read(
            request,
            async |c, req| shared::institution(c, &req.institution, shared::CARE_ROLES).await,
            async |c, p: BedPage, inst: InstitutionRow| {
                let mut rows = rs::beds(c.db(), &inst.id, p.after, p.page.limit() + 1).await?;
                let more = rows.len() > usize::try_from(p.page.size()).unwrap_or(usize::MAX);
                rows.truncate(usize::try_from(p.page.size()).unwrap_or(usize::MAX));
                let next_page_token = match rows.last() {
                    Some(last) if more => p.page.next_token(&last.seq.to_string()),
                    _ => String::new(),
                };
                Ok(pb::ListBedsResponse {
                    beds: rows.iter().map(convert::bed_out).collect(),
                    next_page_token,
                })
            },
        )
        .await
}
