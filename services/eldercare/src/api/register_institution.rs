//! RegisterInstitution: an institution and its beds (nursing beds first).

use contracts::civil::eldercare::v1 as pb;
use kit::rpc::{NAME_MAX, Text as _};
use kit::{ServiceError, Violations};
use tonic::{Request, Response, Status};

use super::{Svc, shared};
use crate::convert::{self, BEDS_MAX};
use crate::store::institutions::{self, InstitutionRow};
use crate::store::residence;

pub struct NewInstitution {
    display_name: String,
    region: String,
    beds: i32,
    nursing_beds: i32,
}

impl TryFrom<pb::RegisterInstitutionRequest> for NewInstitution {
    type Error = Violations;
    fn try_from(req: pb::RegisterInstitutionRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let region = convert::region_in(&mut v, &req.region, "region");
        let display_name = v.text(&req.display_name, "display_name", NAME_MAX);
        v.check(
            (1..=BEDS_MAX).contains(&req.beds),
            "beds",
            "must be between 1 and 2000",
        );
        let nursing_ok = (0..=req.beds.max(0)).contains(&req.nursing_beds);
        v.check(nursing_ok, "nursing_beds", "must be between 0 and beds");
        match region {
            Some(region) if v.is_empty() => Ok(NewInstitution {
                display_name,
                region,
                beds: req.beds,
                nursing_beds: req.nursing_beds,
            }),
            _ => Err(v),
        }
    }
}

/// A well-formed region must be the caller's and the county's; a malformed one is left to
/// the decode (reported with the other fields).
fn authorize(c: &mut kit::rpc::Call, region: &str, county: &str) -> Result<(), ServiceError> {
    c.object("institutions/-");
    let mut ignored = Violations::new();
    if convert::region_in(&mut ignored, region, "region").is_none() {
        return c.authorize(shared::STAFF, None);
    }
    c.authorize(shared::STAFF, Some(region))?;
    shared::check(
        region.starts_with(county),
        "region",
        "must be within the county",
    )
}

pub async fn handle(
    svc: &Svc,
    request: Request<pb::RegisterInstitutionRequest>,
) -> Result<Response<pb::Institution>, Status> {
    svc.rpc
        .write(
            request,
            async |c, req| authorize(c, &req.region, &svc.county),
            async |c, n: NewInstitution, ()| {
                let row = InstitutionRow {
                    id: uuid::Uuid::now_v7().to_string(),
                    display_name: n.display_name,
                    region: n.region,
                    beds: n.beds,
                    nursing_beds: n.nursing_beds,
                    occupied: 0,
                    occupied_nursing: 0,
                    grade: 0,
                };
                institutions::insert_institution(c.db(), &row).await?;
                residence::insert_beds(c.db(), &row.id, row.beds, row.nursing_beds).await?;
                c.object(convert::institution_name(&row.id));
                Ok(convert::institution_out(&row))
            },
        )
        .await
}
