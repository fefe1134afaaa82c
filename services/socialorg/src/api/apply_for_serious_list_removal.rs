//! ApplyForSeriousListRemoval: after two clean years the organisation may leave the serious
//! dishonesty list.

use contracts::civil::socialorg::v1 as pb;
use kit::error::to_proto_date;
use kit::rpc::Rpc;
use kit::{ServiceError, Violations};
use time::Date;
use tonic::{Request, Response, Status};

use super::listings::apply_actions;
use super::shared::{authority, authorized_org, org_name};
use crate::domain::credit_list;
use crate::store;

pub struct Application {
    applied_on: Date,
}

impl TryFrom<pb::ApplyForSeriousListRemovalRequest> for Application {
    type Error = Violations;

    fn try_from(req: pb::ApplyForSeriousListRemovalRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        match v.date(req.applied_on.as_ref(), "applied_on") {
            Some(applied_on) => Ok(Self { applied_on }),
            None => Err(v),
        }
    }
}

pub async fn handle(
    rpc: &Rpc,
    request: Request<pb::ApplyForSeriousListRemovalRequest>,
) -> Result<Response<pb::ListingSweep>, Status> {
    let authority = authority(rpc);
    rpc.write(
        request,
        async |c, req| authorized_org(c, &req.organisation_id, false).await,
        async |c, a: Application, org| {
            let o = store::lock_org(c.db(), &org.id)
                .await?
                .ok_or_else(|| ServiceError::not_found(org_name(&org.id)))?;
            let listings = store::listings(c.db(), &o.id).await?;
            let actions = credit_list::serious_list_removal(&listings, a.applied_on)?;
            let (listed, delisted) = apply_actions(c.db(), &o, &actions, &authority).await?;
            Ok(pb::ListingSweep {
                date: Some(to_proto_date(a.applied_on)),
                listed,
                delisted,
            })
        },
    )
    .await
}
