//! TerminateForDeath: funeral's death registration (through the one-matter service) or a county
//! approver ends or recalculates every benefit of the deceased; the outcome is stored per
//! person, so every later call answers the same.

use auth::Role;
use contracts::civil::assistance::v1 as pb;
use kit::Violations;
use tonic::{Request, Response, Status};

use super::AssistanceApi;
use crate::death::{Death, terminate_for_death};

impl TryFrom<pb::TerminateForDeathRequest> for Death {
    type Error = Violations;

    fn try_from(r: pb::TerminateForDeathRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let id = v.id_number(&r.id_number, "id_number");
        let died = v.date(r.date_of_death.as_ref(), "date_of_death");
        match (id, died) {
            (Some(id), Some(died)) if v.is_empty() => Ok(Death { id, died }),
            _ => Err(v),
        }
    }
}

pub async fn handle(
    api: &AssistanceApi,
    request: Request<pb::TerminateForDeathRequest>,
) -> Result<Response<pb::TerminateForDeathResponse>, Status> {
    let person = civil_id::IdNumber::parse(&request.get_ref().id_number)
        .ok()
        .map(|id| api.rpc.sealer().index(&id));
    let policy = api.inner.policy.clone();
    let result = api
        .rpc
        .write(
            request,
            async |c, _| c.authorize(&[Role::Service, Role::CountyApprover], None),
            async |c, death: Death, ()| terminate_for_death(c, &policy, death).await,
        )
        .await;
    if let Ok(response) = &result {
        api.invalidate(person.as_slice()).await;
        for effect in &response.get_ref().effects {
            api.invalidate_benefit(&effect.benefit_id).await;
        }
    }
    result
}
