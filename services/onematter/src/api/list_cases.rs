//! ListCases: citizens their own cases, operators the cases of their region, newest first.

use tonic::{Request, Response, Status};

use auth::{Principal, Role};
use contracts::civil::onematter::v1 as pb;
use kit::ServiceError;

use super::OneMatterApi;

/// AIP-158: 20 by default; a larger page size is capped at 100, not refused.
const PAGING: kit::paging::Paging = kit::paging::Paging::new(20, 100);
use crate::convert::{case_state_of, kind_name};
use crate::executor::store::{self, CaseFilter};

pub(super) async fn handle(
    api: &OneMatterApi,
    request: Request<pb::ListCasesRequest>,
) -> Result<Response<pb::ListCasesResponse>, Status> {
    api.rpc
        .read(
            request,
            async |c, req| filter(c.principal(), req),
            async |c, req: pb::ListCasesRequest, mut filter| {
                let page = PAGING.decode(req.page_size, &req.page_token, &filter.key())?;
                filter.before_id = page.cursor().map(str::to_owned);
                let size = page.limit();
                let mut cases = store::list_cases(c.db(), &filter, size + 1).await?;
                let more = cases.len() as i64 > size;
                cases.truncate(page.size() as usize);
                let next_page_token = match cases.last() {
                    Some(last) if more => page.next_token(&last.id),
                    _ => String::new(),
                };
                c.object(format!("{} cases", cases.len()));
                let cases = cases
                    .iter()
                    .map(|r| crate::convert::case(r, c.sealer()))
                    .collect();
                Ok(pb::ListCasesResponse {
                    cases,
                    next_page_token,
                })
            },
        )
        .await
}

/// Operators list within their region scope; citizens only their own cases.
fn filter(p: &Principal, req: &pb::ListCasesRequest) -> Result<CaseFilter, ServiceError> {
    let denied = |why: &str| ServiceError::Status(Status::permission_denied(why));
    let mut filter = CaseFilter {
        state: case_state_of(req.state()).map(|s| s.as_str().to_owned()),
        kind: kind_name(req.kind()).map(str::to_owned),
        ..Default::default()
    };
    if !req.region.is_empty() && civil_id::RegionCode::parse(&req.region).is_err() {
        let mut v = kit::Violations::new();
        v.add("region", "must be a division code of 6, 9 or 12 digits");
        v.finish()?;
    }
    if p.has_role(Role::Operator) {
        let region = if req.region.is_empty() {
            p.region.clone()
        } else {
            req.region.clone()
        };
        if !p.covers_region(&region) {
            return Err(denied("the region is outside the caller's scope"));
        }
        filter.region_prefix = Some(region);
        filter.applicant = (!req.applicant.is_empty()).then(|| req.applicant.clone());
    } else {
        if !req.applicant.is_empty() && req.applicant != p.subject {
            return Err(denied("citizens list only their own cases"));
        }
        filter.applicant = Some(p.subject.clone());
        filter.region_prefix = (!req.region.is_empty()).then(|| req.region.clone());
    }
    Ok(filter)
}
