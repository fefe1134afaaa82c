//! RegisterCemetery: a cemetery (公墓) on designated land only (殡葬管理条例 art. 10).

use contracts::civil::funeral::v1 as pb;
use kit::Violations;
use kit::rpc::{Rpc, Text as _};
use tonic::{Request, Response, Status};

use super::shared::{HOME, cemetery_name};
use crate::convert;
use crate::domain::{plot, text};
use crate::store::{self, CemeteryRow};

pub struct NewCemetery {
    row: CemeteryRow,
    kind: pb::CemeteryKind,
    land_use: pb::SiteLandUse,
}

impl TryFrom<pb::RegisterCemeteryRequest> for NewCemetery {
    type Error = Violations;

    fn try_from(req: pb::RegisterCemeteryRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let region = v.region(&req.region, "region");
        let display_name = v.text(&req.display_name, "display_name", text::DISPLAY_NAME_MAX);
        let kind = pb::CemeteryKind::try_from(req.kind)
            .ok()
            .filter(|k| *k != pb::CemeteryKind::Unspecified);
        v.check(
            kind.is_some(),
            "kind",
            "must be public welfare or commercial",
        );
        let land_use = pb::SiteLandUse::try_from(req.land_use)
            .ok()
            .filter(|k| *k != pb::SiteLandUse::Unspecified);
        v.check(land_use.is_some(), "land_use", "is required");
        let (Some(region), Some(kind), Some(land_use)) = (region, kind, land_use) else {
            return Err(v);
        };
        if !v.is_empty() {
            return Err(v);
        }
        let row = CemeteryRow {
            id: uuid::Uuid::now_v7().to_string(),
            display_name,
            region: region.as_str().to_owned(),
            kind: kind.as_str_name().to_owned(),
        };
        Ok(Self {
            row,
            kind,
            land_use,
        })
    }
}

pub async fn handle(
    rpc: &Rpc,
    request: Request<pb::RegisterCemeteryRequest>,
) -> Result<Response<pb::Cemetery>, Status> {
    rpc.write(
        request,
        async |c, req: &pb::RegisterCemeteryRequest| {
            c.object("cemeteries/-");
            // The region is known from the request: out of scope is refused before the body.
            if civil_id::RegionCode::parse(&req.region).is_ok() {
                c.authorize(HOME, Some(&req.region))?;
            }
            Ok(())
        },
        async |c, new: NewCemetery, ()| {
            plot::check_site(convert::land_use_in(new.land_use))?;
            store::insert_cemetery(c.db(), &new.row).await?;
            c.object(cemetery_name(&new.row.id));
            Ok(pb::Cemetery {
                name: cemetery_name(&new.row.id),
                display_name: new.row.display_name,
                region: new.row.region,
                kind: new.kind.into(),
            })
        },
    )
    .await
}
