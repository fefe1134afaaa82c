//! DischargeResident: frees the bed and closes the stay, which stays readable as the discharge
//! record (ListDischarges).

use contracts::civil::eldercare::v1 as pb;
use kit::{ServiceError, Violations};
use time::Date;
use tonic::{Request, Response, Status};

use super::{Svc, shared};
use crate::convert;
use crate::domain::Refusal;
use crate::domain::institution::{self, DischargeReason};
use crate::store::ElderRow;
use crate::store::institutions::InstitutionRow;
use crate::store::residence as rs;

pub struct Discharge {
    on: Date,
    reason: DischargeReason,
    note: String,
}

impl TryFrom<pb::DischargeResidentRequest> for Discharge {
    type Error = Violations;
    fn try_from(req: pb::DischargeResidentRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let on = v.date(req.discharged_on.as_ref(), "discharged_on");
        let reason = convert::discharge_reason_in(req.reason);
        v.check(reason.is_some(), "reason", "has an unknown value");
        let note = convert::notes_in(&mut v, &req.note, "note");
        match (on, reason) {
            (Some(on), Some(reason)) if v.is_empty() => Ok(Discharge { on, reason, note }),
            _ => Err(v),
        }
    }
}

pub async fn handle(
    svc: &Svc,
    request: Request<pb::DischargeResidentRequest>,
) -> Result<Response<pb::Institution>, Status> {
    svc.rpc
        .write(
            request,
            async |c, req| {
                let inst = shared::institution(c, &req.institution, shared::CARE_ROLES).await?;
                Ok::<_, ServiceError>((
                    inst,
                    shared::elder(c, &req.elder, shared::CARE_ROLES).await?,
                ))
            },
            async |c, d: Discharge, (inst, e): (InstitutionRow, ElderRow)| {
                shared::check(d.on <= c.today(), "discharged_on", "is in the future")?;
                let e = shared::elder_now(c, &e.id).await?;
                if e.institution_id.as_deref() != Some(inst.id.as_str()) {
                    return Err(Refusal::NotAdmitted.into());
                }
                if let Some(stay) = rs::open_stay_of(c.db(), &e.id).await? {
                    institution::check_discharge_day(stay.admitted_on, d.on)?;
                }
                let by = c.principal().subject.clone();
                rs::release(c.db(), &e.id, d.on, d.reason, &d.note, &by).await?;
                Ok(convert::institution_out(
                    &shared::institution_now(c, &inst.id).await?,
                ))
            },
        )
        .await
}
