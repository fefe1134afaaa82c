//! StopForDeath: the after-death step: the allowance stops after the month of death and any bed
//! is released (with its discharge record).

use auth::Role;
use civil_id::IdNumber;
use contracts::civil::eldercare::v1 as pb;
use kit::{ServiceError, Violations};
use time::Date;
use tonic::{Request, Response, Status};

use super::{Svc, shared};
use crate::convert::elder_name;
use crate::domain::institution::DischargeReason;
use crate::domain::{Refusal, allowance};
use crate::store::{self, ElderRow, residence};

pub struct Death {
    id: IdNumber,
    on: Date,
}

impl TryFrom<pb::StopForDeathRequest> for Death {
    type Error = Violations;
    fn try_from(req: pb::StopForDeathRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let id = v.id_number(&req.id_number, "id_number");
        let on = v.date(req.date_of_death.as_ref(), "date_of_death");
        match (id, on) {
            (Some(id), Some(on)) if v.is_empty() => Ok(Death { id, on }),
            _ => Err(v),
        }
    }
}

/// A service of another county stops nothing here and learns nothing, replay or not.
async fn authorize(
    c: &mut kit::rpc::Call,
    req: &pb::StopForDeathRequest,
    county: &str,
) -> Result<(), ServiceError> {
    c.object("elders/-");
    c.authorize(&[Role::Service], Some(county))?;
    let Ok(id) = IdNumber::parse(&req.id_number) else {
        return Ok(());
    };
    let index = c.sealer().index(&id);
    c.person(index.clone());
    if let Some(e) = store::elder_by_person(c.db(), &index).await? {
        c.authorize(&[Role::Service], Some(&e.region))?;
        c.object(elder_name(&e.id));
    }
    Ok(())
}

fn outcome(e: &ElderRow) -> pb::StopForDeathResponse {
    pb::StopForDeathResponse {
        elder_known: true,
        last_paid_month: e.last_paid_month.map(kit::error::to_proto_date),
        allowance_stopped: e.death_allowance_stopped,
        bed_released: e.death_bed_released,
    }
}

/// Stops the allowance after the month of death and releases the bed, once.
async fn stop(c: &mut kit::rpc::Call, e: &ElderRow, death: Date) -> Result<(), ServiceError> {
    let stopped = e.bracket.is_some();
    let last_paid = stopped.then(|| allowance::last_paid_month(death));
    let resident = e.institution_id.is_some();
    let now = c.now_ms();
    if resident {
        let by = c.principal().subject.clone();
        residence::release(c.db(), &e.id, death, DischargeReason::Death, "", &by).await?;
    }
    if !store::record_death(c.db(), &e.id, death, last_paid, stopped, resident, now).await? {
        return Err(ServiceError::Aborted(
            "the elder changed concurrently, retry".into(),
        ));
    }
    let Some(last) = last_paid else { return Ok(()) };
    let event = pb::AllowanceStopped {
        event_id: String::new(),
        elder: elder_name(&e.id),
        person_index: e.person_index.clone(),
        last_paid_month: Some(kit::error::to_proto_date(last)),
    };
    let topic = crate::events::ALLOWANCE_STOPPED;
    c.publish(topic.name(), &topic.event_type(), &e.id, &event)
        .await
}

pub async fn handle(
    svc: &Svc,
    request: Request<pb::StopForDeathRequest>,
) -> Result<Response<pb::StopForDeathResponse>, Status> {
    svc.rpc
        .write(
            request,
            async |c, req| authorize(c, req, &svc.county).await,
            async |c, d: Death, ()| {
                shared::check(d.on <= c.today(), "date_of_death", "is in the future")?;
                let index = c.sealer().index(&d.id);
                let Some(e) = store::elder_by_person(c.db(), &index).await? else {
                    return Ok(pb::StopForDeathResponse {
                        elder_known: false,
                        ..Default::default()
                    });
                };
                match e.date_of_death {
                    Some(recorded) if recorded == d.on => return Ok(outcome(&e)),
                    Some(_) => return Err(Refusal::DeathDateConflict.into()),
                    None => {}
                }
                stop(c, &e, d.on).await?;
                c.purpose("after-death matter");
                Ok(outcome(&shared::elder_now(c, &e.id).await?))
            },
        )
        .await
}
