//! ListCreditListings: the public abnormal / serious lists in force on a day (public fields
//! only, with the deciding authority). Any authenticated caller.

use contracts::civil::socialorg::v1 as pb;
use kit::Violations;
use kit::rpc::Rpc;
use time::Date;
use tonic::{Request, Response, Status};

use crate::convert;
use crate::domain::credit_list::CreditList;
use crate::store;

pub struct Query {
    list: CreditList,
    on: Option<Date>,
    region: String,
    size: i64,
    after: String,
}

impl TryFrom<pb::ListCreditListingsRequest> for Query {
    type Error = Violations;

    fn try_from(req: pb::ListCreditListingsRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let list = convert::list_in(req.list);
        v.check(list.is_some(), "list", "must be ABNORMAL or SERIOUS");
        let on = req.on.as_ref().map(|d| v.date(Some(d), "on"));
        v.check(
            region_filter_ok(&req.region_code),
            "region_code",
            REGION_RULE,
        );
        v.check(
            (0..=200).contains(&req.page_size),
            "page_size",
            "must be 0-200",
        );
        let (Some(list), true) = (list, v.is_empty()) else {
            return Err(v);
        };
        let size = if req.page_size == 0 {
            50
        } else {
            i64::from(req.page_size)
        };
        Ok(Self {
            list,
            on: on.flatten(),
            region: req.region_code,
            size,
            after: req.page_token,
        })
    }
}

const REGION_RULE: &str = "must be a province, prefecture or county code (2, 4 or 6 digits)";

/// A region filter is empty or a real division code of the province (2 digits), prefecture (4)
/// or county (6) level.
fn region_filter_ok(code: &str) -> bool {
    code.is_empty()
        || (matches!(code.len(), 2 | 4 | 6)
            && code.bytes().all(|b| b.is_ascii_digit())
            && civil_id::RegionCode::parse(&format!("{code:0<6}")).is_ok())
}

pub async fn handle(
    rpc: &Rpc,
    request: Request<pb::ListCreditListingsRequest>,
) -> Result<Response<pb::ListCreditListingsResponse>, Status> {
    rpc.read(
        request,
        async |c, _| {
            // Public lists name organisations only.
            c.quiet();
            Ok(())
        },
        async |c, q: Query, ()| {
            let on = q.on.unwrap_or(c.today());
            let mut rows =
                store::listings_in_force(c.db(), q.list, on, &q.region, &q.after, q.size + 1)
                    .await?;
            let mut next_page_token = String::new();
            if rows.len() as i64 > q.size {
                rows.truncate(usize::try_from(q.size).unwrap_or(0));
                next_page_token = rows
                    .last()
                    .map(|r| r.listing.id.clone())
                    .unwrap_or_default();
            }
            let listings = rows.iter().map(convert::listing_out).collect();
            Ok(pb::ListCreditListingsResponse {
                listings,
                next_page_token,
            })
        },
    )
    .await
}
