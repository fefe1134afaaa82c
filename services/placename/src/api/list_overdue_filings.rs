//! ListOverdueFilings: approved names whose filing or announcement (15 days each, art. 13) is
//! overdue and not yet recorded, oldest due first. Role: PlaceNameOfficer within the region.

use contracts::civil::placename::v1 as pb;
use kit::rpc::Call;
use kit::{ServiceError, Violations};
use time::Date;
use tonic::Request;

use super::shared::OFFICER;
use super::{Answer, PlaceNameApi, limits};
use crate::{convert, store};

pub struct List {
    as_of: Option<Date>,
    page_size: usize,
    page_token: String,
}

impl TryFrom<pb::ListOverdueFilingsRequest> for List {
    type Error = Violations;

    fn try_from(r: pb::ListOverdueFilingsRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        limits::region_filter(&mut v, &r.region_code, "region_code");
        let as_of = r.as_of.as_ref().and_then(|d| v.date(Some(d), "as_of"));
        let page_size = limits::page_size(&mut v, r.page_size, "page_size");
        if !v.is_empty() {
            return Err(v);
        }
        Ok(List {
            as_of,
            page_size,
            page_token: r.page_token,
        })
    }
}

pub async fn handle(
    api: &PlaceNameApi,
    request: Request<pb::ListOverdueFilingsRequest>,
) -> Answer<pb::ListOverdueFilingsResponse> {
    api.rpc
        .read(
            request,
            async |c: &mut Call, r: &pb::ListOverdueFilingsRequest| {
                c.quiet();
                let region = match r.region_code.as_str() {
                    "" => c.principal().region.clone(),
                    given => given.to_owned(),
                };
                c.authorize(OFFICER, Some(&region))?;
                Ok(region)
            },
            async |c: &mut Call, list: List, region: String| overdue(c, list, region).await,
        )
        .await
}

/// One page of the overdue applications of the region, judged on `as_of` (today by default).
async fn overdue(
    c: &mut Call,
    list: List,
    region: String,
) -> Result<pb::ListOverdueFilingsResponse, ServiceError> {
    let as_of = list.as_of.unwrap_or(c.today());
    // The token is bound to the region and the day it was issued for (AIP-158).
    let filter = format!("{region}|{}", store::date_text(as_of));
    let mut v = Violations::new();
    let after = limits::decode_keyset(&mut v, &list.page_token, &filter, "page_token");
    v.finish()?;
    let after = match after {
        Some((due, id)) => Some((kit::clock::parse_date(&due).ok_or_else(bad_token)?, id)),
        None => None,
    };
    let limit = i64::try_from(list.page_size + 1).unwrap_or(i64::MAX);
    let keyset = after.as_ref().map(|(d, id)| (*d, id.as_str()));
    let mut rows = store::overdue_applications(c.db(), &region, as_of, keyset, limit).await?;
    let mut next_page_token = String::new();
    if rows.len() > list.page_size {
        rows.truncate(list.page_size);
        if let Some(last) = rows.last() {
            let due = last.filing_due.map(store::date_text).unwrap_or_default();
            next_page_token = limits::encode_keyset(&filter, &due, &last.id);
        }
    }
    let applications = rows.iter().map(|a| {
        let mut out = convert::application_out(a);
        out.filed_late = a.filing_due.is_some_and(|d| d < as_of);
        out.announced_late = a.announcement_due.is_some_and(|d| d < as_of);
        out
    });
    Ok(pb::ListOverdueFilingsResponse {
        applications: applications.collect(),
        next_page_token,
    })
}

fn bad_token() -> ServiceError {
    ServiceError::invalid("page_token", "is not a token of this list")
}
