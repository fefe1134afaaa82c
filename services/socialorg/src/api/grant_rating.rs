//! GrantRating: 等级评估 1A-5A, valid five years, for organisations registered two full years
//! whose last due report passed and that were not penalised.

use contracts::civil::socialorg::v1 as pb;
use kit::Violations;
use kit::rpc::Rpc;
use time::Date;
use tonic::{Request, Response, Status};

use super::shared::{authorized_org, locked_active};
use crate::convert;
use crate::domain::rating;
use crate::store;

pub struct Grant {
    level: i32,
    assessed_on: Date,
}

impl TryFrom<pb::GrantRatingRequest> for Grant {
    type Error = Violations;

    fn try_from(req: pb::GrantRatingRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        v.check(
            rating::valid_level(req.level),
            "level",
            "must be 1-5 (1A-5A)",
        );
        let assessed_on = v.date(req.assessed_on.as_ref(), "assessed_on");
        match assessed_on {
            Some(assessed_on) if v.is_empty() => Ok(Grant {
                level: req.level,
                assessed_on,
            }),
            _ => Err(v),
        }
    }
}

pub async fn handle(
    rpc: &Rpc,
    request: Request<pb::GrantRatingRequest>,
) -> Result<Response<pb::Rating>, Status> {
    rpc.write(
        request,
        async |c, req| authorized_org(c, &req.organisation_id, false).await,
        async |c, grant: Grant, org| {
            let org = locked_active(c.db(), &org.id).await?;
            let calendar = c.rpc().ctx().calendar.clone();
            let facts = store::rating_facts(c.db(), &org, grant.assessed_on, &calendar).await?;
            rating::check_eligibility(&facts, grant.assessed_on)?;
            let row = store::RatingRow::new(&org.id, grant.level, grant.assessed_on);
            store::insert_rating(c.db(), &row).await?;
            Ok(convert::rating_out(&row))
        },
    )
    .await
}
