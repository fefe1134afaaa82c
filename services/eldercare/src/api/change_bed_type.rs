//! ChangeBedType: a bed re-certified (e.g. general -> nursing-type); an occupant stays in it.

use contracts::civil::eldercare::v1 as pb;
use kit::rpc::{LONG_MAX, Text as _};
use kit::{ServiceError, Violations};
use time::Date;
use tonic::{Request, Response, Status};

use super::{Svc, shared};
use crate::convert::{self, bed_name, institution_name};
use crate::domain::Refusal;
use crate::domain::institution::BedType;
use crate::store::institutions::InstitutionRow;
use crate::store::residence::{self as rs, BedRow, BedTypeChange};
use crate::store::{self, date_text};

pub struct Change {
    to: BedType,
    on: Date,
    reason: String,
}

impl TryFrom<pb::ChangeBedTypeRequest> for Change {
    type Error = Violations;
    fn try_from(req: pb::ChangeBedTypeRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let to = convert::bed_type_in(req.r#type);
        v.check(to.is_some(), "type", "must be general or nursing");
        let on = v.date(req.changed_on.as_ref(), "changed_on");
        let reason = v.text(&req.reason, "reason", LONG_MAX);
        match (to, on) {
            (Some(to), Some(on)) if v.is_empty() => Ok(Change { to, on, reason }),
            _ => Err(v),
        }
    }
}

async fn authorize(
    c: &mut kit::rpc::Call,
    bed: &str,
) -> Result<(InstitutionRow, String), ServiceError> {
    let (inst, bed) = convert::bed_name_in(bed).ok_or_else(|| {
        ServiceError::invalid("bed", "must be institutions/{institution}/beds/{bed}")
    })?;
    let bed = bed.to_owned();
    let inst = shared::institution(c, &institution_name(inst), shared::CARE_ROLES).await?;
    c.object(bed_name(&inst.id, &bed));
    Ok((inst, bed))
}

async fn bed_of(c: &mut kit::rpc::Call, inst: &str, bed: &str) -> Result<BedRow, ServiceError> {
    rs::bed(c.db(), bed)
        .await?
        .filter(|b| b.institution_id == inst)
        .ok_or_else(|| ServiceError::not_found(bed_name(inst, bed)))
}

pub async fn handle(
    svc: &Svc,
    request: Request<pb::ChangeBedTypeRequest>,
) -> Result<Response<pb::Bed>, Status> {
    svc.rpc
        .write(
            request,
            async |c, req| authorize(c, &req.bed).await,
            async |c, ch: Change, (inst, bed_id): (InstitutionRow, String)| {
                shared::check(ch.on <= c.today(), "changed_on", "is in the future")?;
                let bed = bed_of(c, &inst.id, &bed_id).await?;
                if bed.bed_type == ch.to {
                    return Err(Refusal::BedTypeUnchanged.into());
                }
                let by = c.principal().subject.clone();
                let change = BedTypeChange {
                    bed: &bed,
                    to: ch.to,
                    changed_on: ch.on,
                    reason: &ch.reason,
                    changed_by: &by,
                    at_ms: c.now_ms(),
                };
                if !rs::change_bed_type(c.db(), &change).await? {
                    return Err(ServiceError::Aborted("the bed changed, retry".into()));
                }
                if let Some(occupant) = &bed.elder_id {
                    let nursing = ch.to == BedType::Nursing;
                    store::set_residence(c.db(), occupant, Some(&inst.id), nursing).await?;
                }
                c.purpose(format!("to {} from {}", ch.to.as_str(), date_text(ch.on)));
                Ok(convert::bed_out(&BedRow {
                    bed_type: ch.to,
                    ..bed
                }))
            },
        )
        .await
}
