//! ListDischarges: an institution's discharge records, newest first (AIP-158 paging).

use contracts::civil::eldercare::v1 as pb;
use kit::Violations;
use kit::paging::Page;
use tonic::{Request, Response, Status};

use super::{Svc, shared};
use crate::convert::{self, PAGING};
use crate::store::date_text;
use crate::store::institutions::InstitutionRow;
use crate::store::residence as rs;

pub struct DischargePage {
    page: Page,
    /// (discharge day, id) of the previous page's last record.
    after: Option<(String, String)>,
}

impl TryFrom<pb::ListDischargesRequest> for DischargePage {
    type Error = Violations;
    fn try_from(req: pb::ListDischargesRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let page = PAGING.page(&mut v, req.page_size, &req.page_token, &[&req.institution]);
        let cursor = page.as_ref().and_then(Page::cursor);
        let after = cursor
            .and_then(|c| c.split_once('|'))
            .map(|(d, i)| (d.to_owned(), i.to_owned()));
        v.check(
            cursor.is_none() || after.is_some(),
            "page_token",
            "is malformed",
        );
        match page {
            Some(page) if v.is_empty() => Ok(DischargePage { page, after }),
            _ => Err(v),
        }
    }
}

pub async fn handle(
    svc: &Svc,
    request: Request<pb::ListDischargesRequest>,
) -> Result<Response<pb::ListDischargesResponse>, Status> {
    svc.rpc
        .read(
            request,
            async |c, req| shared::institution(c, &req.institution, shared::CARE_ROLES).await,
            async |c, p: DischargePage, inst: InstitutionRow| {
                let after = p.after.as_ref().map(|(d, i)| (d.as_str(), i.as_str()));
                let mut rows = rs::discharges(c.db(), &inst.id, after, p.page.limit() + 1).await?;
                let more = rows.len() > usize::try_from(p.page.size()).unwrap_or(usize::MAX);
                rows.truncate(usize::try_from(p.page.size()).unwrap_or(usize::MAX));
                let next_page_token = match rows.last() {
                    Some(last) if more => {
                        let day = last.discharged_on.map(date_text).unwrap_or_default();
                        p.page.next_token(&format!("{day}|{}", last.id))
                    }
                    _ => String::new(),
                };
                Ok(pb::ListDischargesResponse {
                    discharges: rows.iter().map(convert::discharge_out).collect(),
                    next_page_token,
                })
            },
        )
        .await
}
