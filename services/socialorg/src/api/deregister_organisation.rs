//! DeregisterOrganisation: 注销登记; the organisation leaves every list it is on.

use contracts::civil::socialorg::v1 as pb;
use kit::Violations;
use kit::rpc::{LONG_MAX, Rpc, Text as _};
use time::Date;
use tonic::{Request, Response, Status};

use super::listings::apply_actions;
use super::shared::{authority, authorized_org, locked_active, org_out};
use crate::domain::credit_list;
use crate::store::{self, OrgStatus};

pub struct Deregistration {
    on: Date,
}

impl TryFrom<pb::DeregisterOrganisationRequest> for Deregistration {
    type Error = Violations;

    fn try_from(req: pb::DeregisterOrganisationRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let on = v.date(req.deregistered_on.as_ref(), "deregistered_on");
        v.text(&req.reason, "reason", LONG_MAX);
        match on {
            Some(on) if v.is_empty() => Ok(Self { on }),
            _ => Err(v),
        }
    }
}

pub async fn handle(
    rpc: &Rpc,
    request: Request<pb::DeregisterOrganisationRequest>,
) -> Result<Response<pb::Organisation>, Status> {
    let authority = authority(rpc);
    rpc.write(
        request,
        async |c, req| authorized_org(c, &req.organisation_id, false).await,
        async |c, d: Deregistration, org| {
            let mut o = locked_active(c.db(), &org.id).await?;
            o.status = OrgStatus::Deregistered;
            o.ended_on = Some(d.on);
            let now = c.now_ms();
            store::update_org(c.db(), &o, now).await?;
            let now = c.now_ms();
            store::close_tasks(c.db(), &o.id, now).await?;
            let listings = store::listings(c.db(), &o.id).await?;
            let actions = credit_list::deregistration_removals(&listings, d.on);
            apply_actions(c.db(), &o, &actions, &authority).await?;
            org_out(c, &o).await
        },
    )
    .await
}
