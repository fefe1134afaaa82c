//! ListRefusals: the refusals recorded at an office's desk, oldest first, paged per AIP-158.

use auth::Role;
use base64::Engine as _;
use contracts::civil::marriage::v1 as pb;
use kit::Violations;
use tonic::{Request, Response, Status};

use super::MarriageApi;
use crate::convert;
use crate::store;

/// Refusals per page when the caller does not say (AIP-158).
const DEFAULT_PAGE_SIZE: i64 = 50;
/// Larger page sizes are capped to this (AIP-158: coerce, do not refuse).
const MAX_PAGE_SIZE: i64 = 1_000;
const ROLES: &[Role] = &[Role::Registrar, Role::CountyApprover];

/// A page token: the office it lists and the last refusal id seen. Opaque to callers; bound
/// to the request that produced it.
fn page_token(office_id: &str, last: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("v1\n{office_id}\n{last}"))
}

/// The last refusal id of a page token, if it belongs to a request for `office_id`.
fn parse_page_token(token: &str, office_id: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut parts = text.splitn(3, '\n');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("v1"), Some(office), Some(last)) if office == office_id && !last.is_empty() => {
            Some(last.to_owned())
        }
        _ => None,
    }
}

pub struct Page {
    office_id: String,
    after: String,
    size: i64,
}

impl TryFrom<pb::ListRefusalsRequest> for Page {
    type Error = Violations;

    fn try_from(req: pb::ListRefusalsRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        v.check(req.page_size >= 0, "page_size", "must not be negative");
        let after = if req.page_token.is_empty() {
            Some(String::new())
        } else {
            parse_page_token(&req.page_token, &req.office_id)
        };
        let rule = "is not a page token of this request (same office_id)";
        v.check(after.is_some(), "page_token", rule);
        let size = match i64::from(req.page_size) {
            0 => DEFAULT_PAGE_SIZE,
            n => n.min(MAX_PAGE_SIZE),
        };
        match after {
            Some(after) if v.is_empty() => Ok(Page {
                office_id: req.office_id,
                after,
                size,
            }),
            _ => Err(v),
        }
    }
}

pub async fn handle(
    api: &MarriageApi,
    request: Request<pb::ListRefusalsRequest>,
) -> Result<Response<pb::ListRefusalsResponse>, Status> {
    api.rpc
        .read(
            request,
            async |c, req| {
                if req.office_id.trim().is_empty() {
                    return Err(kit::ServiceError::invalid("office_id", "is required"));
                }
                c.object(format!("offices/{}/refusals", req.office_id));
                let office = api.offices.get(c.db(), &req.office_id).await?;
                c.authorize(ROLES, Some(&office.region_code))
            },
            async |c, page: Page, ()| {
                // One more than the page: whether a next page exists, without a count.
                let mut rows =
                    store::refusals_of_office(c.db(), &page.office_id, &page.after, page.size + 1)
                        .await?;
                let more = i64::try_from(rows.len()).unwrap_or(i64::MAX) > page.size;
                rows.truncate(usize::try_from(page.size).unwrap_or(usize::MAX));
                let next_page_token = match rows.last() {
                    Some(last) if more => page_token(&page.office_id, &last.refusal_id),
                    _ => String::new(),
                };
                Ok(pb::ListRefusalsResponse {
                    refusals: rows.into_iter().map(convert::refusal).collect(),
                    next_page_token,
                })
            },
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_token_is_valid_only_for_the_office_it_lists() {
        let token = page_token("county-office", "0190-abc");
        assert_eq!(
            parse_page_token(&token, "county-office").as_deref(),
            Some("0190-abc")
        );
        assert_eq!(parse_page_token(&token, "other-office"), None);
        assert_eq!(parse_page_token("garbage!", "county-office"), None);
    }
}
