//! RecordNationalCheckOverride: a county approver lets one couple be registered at one office
//! today while the national database does not answer (county policy, RULES.md "Second round"
//! §1). Audited by kit (`marriage.RecordNationalCheckOverride`) with the office as its object;
//! the registration it lets pass is marked NATIONAL_CHECK_OVERRIDDEN.

use auth::Role;
use civil_id::IdNumber;
use contracts::civil::common::v1::PersonRef;
use contracts::civil::marriage::v1 as pb;
use kit::error::to_proto_date;
use kit::rpc::Call;
use kit::rpc::Text as _;
use kit::{ServiceError, Violations};
use tonic::{Request, Response, Status};

use super::MarriageApi;
use super::shared::person_in;
use crate::convert::Mask;
use crate::store::{self, OfficeRow, OverrideRow};

/// Why the couple may not wait: a written reason, bounded.
const REASON: usize = 500;

pub struct Override {
    a: (IdNumber, String),
    b: (IdNumber, String),
    reason: String,
}

impl TryFrom<pb::RecordNationalCheckOverrideRequest> for Override {
    type Error = Violations;

    fn try_from(req: pb::RecordNationalCheckOverrideRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let a = person_in(&mut v, req.party_a.as_ref(), "party_a");
        let b = person_in(&mut v, req.party_b.as_ref(), "party_b");
        let reason = v.text(&req.reason, "reason", REASON);
        match (a, b) {
            (Some(a), Some(b)) if v.is_empty() => Ok(Override { a, b, reason }),
            _ => Err(v),
        }
    }
}

pub async fn handle(
    api: &MarriageApi,
    request: Request<pb::RecordNationalCheckOverrideRequest>,
) -> Result<Response<pb::NationalCheckOverride>, Status> {
    api.rpc
        .write(
            request,
            async |c, req| {
                if req.office_id.trim().is_empty() {
                    return Err(ServiceError::invalid("office_id", "is required"));
                }
                let office = api.offices.get(c.db(), &req.office_id).await?;
                c.authorize(&[Role::CountyApprover], Some(&office.region_code))?;
                c.object(format!("offices/{}", office.office_id));
                Ok(office)
            },
            async |c, o: Override, office| record(c, o, office).await,
        )
        .await
}

async fn record(
    c: &mut Call,
    o: Override,
    office: OfficeRow,
) -> Result<pb::NationalCheckOverride, ServiceError> {
    let (today, now, sealer) = (c.today(), c.now_ms(), c.sealer().clone());
    let row = OverrideRow {
        override_id: uuid::Uuid::now_v7().to_string(),
        office_id: office.office_id,
        pair_key: store::pair_key(&sealer.index(&o.a.0), &sealer.index(&o.b.0)),
        valid_on: today,
        reason: o.reason,
        approved_by: c.principal().subject.clone(),
    };
    store::insert_override(c.db(), &row, now).await?;
    let person = |(id, name): (IdNumber, String)| PersonRef {
        id_number: id.as_str().to_owned(),
        name,
    };
    let full = c.principal().sees_full_identity_numbers();
    Ok(pb::NationalCheckOverride {
        override_id: row.override_id,
        office_id: row.office_id,
        party_a: Some(person(o.a)).masked_unless(full),
        party_b: Some(person(o.b)).masked_unless(full),
        valid_on: Some(to_proto_date(row.valid_on)),
        reason: row.reason,
        approved_by: row.approved_by,
    })
}
