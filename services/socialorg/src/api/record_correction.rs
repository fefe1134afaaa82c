//! RecordCorrection: the organisation corrected what put it on the abnormal list; it leaves
//! the list 5 working days later.

use contracts::civil::socialorg::v1 as pb;
use kit::rpc::{Call, LONG_MAX, Rpc, Text as _};
use kit::{ServiceError, Violations};
use time::Date;
use tonic::{Request, Response, Status};

use super::shared::authorized_org;
use crate::convert;
use crate::domain::credit_list;
use crate::store::{self, ListingRow};

pub struct Correction {
    corrected_on: Date,
}

impl TryFrom<pb::RecordCorrectionRequest> for Correction {
    type Error = Violations;

    fn try_from(req: pb::RecordCorrectionRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let corrected_on = v.date(req.corrected_on.as_ref(), "corrected_on");
        v.text(&req.evidence, "evidence", LONG_MAX);
        match corrected_on {
            Some(corrected_on) if v.is_empty() => Ok(Self { corrected_on }),
            _ => Err(v),
        }
    }
}

pub async fn handle(
    rpc: &Rpc,
    request: Request<pb::RecordCorrectionRequest>,
) -> Result<Response<pb::Listing>, Status> {
    rpc.write(
        request,
        async |c, req| authorized_listing(c, &req.listing_id).await,
        async |c, fix: Correction, listing| {
            store::lock_org(c.db(), &listing.organisation_id).await?;
            let current = store::listing_by_id(c.db(), &listing.listing.id)
                .await?
                .ok_or_else(|| ServiceError::not_found("listing"))?;
            let removal_due =
                credit_list::correct(c.rpc().calendar(), &current.listing, fix.corrected_on)?;
            store::record_correction(c.db(), &current.listing.id, fix.corrected_on, removal_due)
                .await?;
            let row = store::listing_by_id(c.db(), &current.listing.id)
                .await?
                .ok_or_else(|| ServiceError::not_found("listing"))?;
            Ok(convert::listing_out(&row))
        },
    )
    .await
}

/// The listing, for an officer of its organisation's region.
async fn authorized_listing(c: &mut Call, id: &str) -> Result<ListingRow, ServiceError> {
    if id.trim().is_empty() {
        return Err(ServiceError::invalid("listing_id", "is required"));
    }
    let listing = store::listing_by_id(c.db(), id)
        .await?
        .ok_or_else(|| ServiceError::not_found(format!("listings/{id}")))?;
    authorized_org(c, &listing.organisation_id, false).await?;
    c.object(format!("listings/{id}"));
    Ok(listing)
}
