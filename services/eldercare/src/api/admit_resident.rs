//! AdmitResident: an elder takes a bed (the named one, or the first free one of the type) and a
//! stay opens.

use contracts::civil::eldercare::v1 as pb;
use kit::{ServiceError, Violations};
use sqlx::AnyConnection;
use time::Date;
use tonic::{Request, Response, Status};

use super::{Svc, shared};
use crate::convert::{self, bed_name};
use crate::domain::Refusal;
use crate::domain::institution::BedType;
use crate::store::institutions::InstitutionRow;
use crate::store::residence::{self as rs, StayRow};
use crate::store::{self, ElderRow};

pub struct Admission {
    on: Date,
    /// (institution id, bed id) of a named bed.
    bed: Option<(String, String)>,
    kind: BedType,
}

impl TryFrom<pb::AdmitResidentRequest> for Admission {
    type Error = Violations;
    fn try_from(req: pb::AdmitResidentRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let on = v.date(req.admitted_on.as_ref(), "admitted_on");
        let bed = convert::bed_name_in(&req.bed).map(|(i, b)| (i.to_owned(), b.to_owned()));
        v.check(
            req.bed.is_empty() || bed.is_some(),
            "bed",
            "must be institutions/{institution}/beds/{bed}",
        );
        match on {
            Some(on) if v.is_empty() => Ok(Admission {
                on,
                bed,
                kind: BedType::of_flag(req.nursing_bed),
            }),
            _ => Err(v),
        }
    }
}

/// Takes the named bed, else the first free one of `kind` (a few tries when another admission
/// takes the same bed at once).
async fn take(
    conn: &mut AnyConnection,
    inst: &str,
    named: Option<&str>,
    kind: BedType,
    elder: &str,
) -> Result<(String, BedType), ServiceError> {
    if let Some(bed_id) = named {
        let bed = rs::bed(conn, bed_id)
            .await?
            .filter(|b| b.institution_id == inst)
            .ok_or_else(|| ServiceError::not_found(bed_name(inst, bed_id)))?;
        if !rs::take_bed(conn, &bed.id, elder).await? {
            return Err(Refusal::BedTaken.into());
        }
        return Ok((bed.id, bed.bed_type));
    }
    for _ in 0..3 {
        if let Some(id) = rs::take_free_bed(conn, inst, kind, elder).await? {
            return Ok((id, kind));
        }
    }
    Err(Refusal::NoFreeBed.into())
}

/// The elder as now stored, if alive and not resident anywhere.
async fn admissible(c: &mut kit::rpc::Call, id: &str) -> Result<ElderRow, ServiceError> {
    let e = shared::elder_now(c, id).await?;
    if e.date_of_death.is_some() {
        return Err(Refusal::ElderDeceased.into());
    }
    if e.institution_id.is_some() {
        return Err(Refusal::AlreadyAdmitted.into());
    }
    Ok(e)
}

pub async fn handle(
    svc: &Svc,
    request: Request<pb::AdmitResidentRequest>,
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
            async |c, a: Admission, (inst, e): (InstitutionRow, ElderRow)| {
                shared::check(a.on <= c.today(), "admitted_on", "is in the future")?;
                shared::check(
                    a.bed.as_ref().is_none_or(|(i, _)| *i == inst.id),
                    "bed",
                    "is not a bed of this institution",
                )?;
                let e = admissible(c, &e.id).await?;
                let named = a.bed.as_ref().map(|(_, b)| b.as_str());
                let (bed_id, kind) = take(c.db(), &inst.id, named, a.kind, &e.id).await?;
                store::set_residence(c.db(), &e.id, Some(&inst.id), kind == BedType::Nursing)
                    .await?;
                let stay = StayRow::open(&inst.id, &e.id, bed_id, kind, a.on);
                rs::open_stay(c.db(), &stay).await?;
                Ok(convert::institution_out(
                    &shared::institution_now(c, &inst.id).await?,
                ))
            },
        )
        .await
}
