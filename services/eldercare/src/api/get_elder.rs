//! GetElder: by name, or by identity number.

use contracts::civil::eldercare::v1 as pb;
use kit::{ServiceError, Violations};
use tonic::{Request, Response, Status};

use super::{Svc, shared};
use crate::convert::{self, elder_name};
use crate::store::{self, ElderRow};

pub struct Get;

impl TryFrom<pb::GetElderRequest> for Get {
    type Error = Violations;
    fn try_from(_: pb::GetElderRequest) -> Result<Self, Violations> {
        Ok(Get)
    }
}

async fn load(c: &mut kit::rpc::Call, req: &pb::GetElderRequest) -> Result<ElderRow, ServiceError> {
    if !req.name.is_empty() {
        return shared::elder(c, &req.name, shared::STAFF_OR_SERVICE).await;
    }
    let mut v = Violations::new();
    let id = v.id_number(&req.id_number, "id_number");
    v.finish()?;
    let id = id.ok_or_else(|| ServiceError::invalid("id_number", "is required"))?;
    let index = c.sealer().index(&id);
    let e = store::elder_by_person(c.db(), &index)
        .await?
        .ok_or_else(|| ServiceError::not_found("no such elder"))?;
    c.authorize(shared::STAFF_OR_SERVICE, Some(&e.region))?;
    c.object(elder_name(&e.id));
    Ok(e)
}

pub async fn handle(
    svc: &Svc,
    request: Request<pb::GetElderRequest>,
) -> Result<Response<pb::Elder>, Status> {
    svc.rpc
        .read(
            request,
            async |c, req| load(c, req).await,
            async |c, Get, e: ElderRow| {
                c.purpose("read personal data");
                Ok(convert::elder_out(
                    c.sealer(),
                    &svc.policy,
                    c.today(),
                    c.principal(),
                    &e,
                ))
            },
        )
        .await
}
