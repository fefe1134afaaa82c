//! RecordBurial: a body burial (土葬), where the zone rule or the burial-custom exemption allows.

use contracts::civil::funeral::v1 as pb;
use kit::Violations;
use kit::rpc::{Rpc, Text as _};
use tonic::{Request, Response, Status};

use super::shared::{CASE_ROLES, authorized_case, case_out};
use crate::convert;
use crate::domain::case::Step;
use crate::domain::text;
use crate::domain::zone::{self, ZonePolicy};
use crate::store;

pub struct Burial {
    region: String,
    place: String,
}

impl TryFrom<pb::RecordBurialRequest> for Burial {
    type Error = Violations;

    fn try_from(req: pb::RecordBurialRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let region = v.region(&req.burial_region, "burial_region");
        let place = v.text(&req.place, "place", text::PLACE_MAX);
        match region {
            Some(r) if v.is_empty() => Ok(Self {
                region: r.as_str().to_owned(),
                place,
            }),
            _ => Err(v),
        }
    }
}

pub async fn handle(
    rpc: &Rpc,
    zones: &ZonePolicy,
    request: Request<pb::RecordBurialRequest>,
) -> Result<Response<pb::DeathCase>, Status> {
    rpc.write(
        request,
        async |c, req: &pb::RecordBurialRequest| {
            authorized_case(c, &req.death_case, "death_case", CASE_ROLES).await
        },
        async |c, b: Burial, case| {
            let ethnicity = convert::stored_ethnicity_in(&case.ethnicity);
            zone::check_burial(zones, &b.region, ethnicity)?;
            let next = case.state.apply(Step::Bury)?;
            store::release_booking(c.db(), &case.id).await?;
            let now = c.now_ms();
            store::transition(c.db(), &case.id, case.state, next, now).await?;
            store::set_final_place(c.db(), &case.id, &b.place).await?;
            let case = store::case_by_id(c.db(), &case.id).await?.unwrap_or(case);
            case_out(c, &case).await
        },
    )
    .await
}
