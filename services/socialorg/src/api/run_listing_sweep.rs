//! RunListingSweep: the listing rules for a day (the background job runs it daily). An
//! officer sweeps their region; a service of the suite the whole county.

use auth::Role;
use contracts::civil::socialorg::v1 as pb;
use kit::rpc::Rpc;
use kit::{ServiceError, Violations};
use time::Date;
use tonic::{Request, Response, Status};

use super::listings::{Sweep, sweep_all};
use super::shared::authority;

pub struct Day(Date);

impl TryFrom<pb::RunListingSweepRequest> for Day {
    type Error = Violations;

    fn try_from(req: pb::RunListingSweepRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        match v.date(req.date.as_ref(), "date") {
            Some(d) => Ok(Day(d)),
            None => Err(v),
        }
    }
}

pub async fn handle(
    rpc: &Rpc,
    request: Request<pb::RunListingSweepRequest>,
) -> Result<Response<pb::ListingSweep>, Status> {
    let authority = authority(rpc);
    rpc.write(
        request,
        async |c, _| {
            c.object("listings/-");
            c.authorize(&[Role::SocialOrgOfficer, Role::Service], None)?;
            if c.principal().has_role(Role::Service) {
                return Ok(String::new());
            }
            if c.principal().region.is_empty() {
                return Err(ServiceError::PermissionDenied(
                    "the caller has no region scope".into(),
                ));
            }
            Ok(c.principal().region.clone())
        },
        async |c, Day(date), scope| {
            let actor = c.principal().clone();
            let calendar = c.rpc().ctx().calendar.clone();
            let sweep = Sweep {
                calendar: &calendar,
                date,
                scope: &scope,
                actor: &actor,
                authority: &authority,
            };
            sweep_all(c.db(), &sweep).await
        },
    )
    .await
}
