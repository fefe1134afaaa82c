//! RegisterCloseRelative (近亲属备案): a county approver registers a close relative of a staff
//! member or village official; every later application listing that person is flagged.

use auth::Principal;
use civil_id::{IdNumber, RegionCode};
use contracts::civil::assistance::v1 as pb;
use contracts::civil::common::v1::PersonRef;
use kit::Violations;
use kit::rpc::Text as _;
use tonic::{Request, Response, Status};

use super::AssistanceApi;
use super::shared::APPROVER;
use crate::store;

/// A valid registration.
pub struct Registration {
    official_subject: String,
    official_name: String,
    official_region: RegionCode,
    relative: IdNumber,
    relative_name: String,
    relationship: String,
}

impl TryFrom<pb::RegisterCloseRelativeRequest> for Registration {
    type Error = Violations;

    fn try_from(r: pb::RegisterCloseRelativeRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let official_subject = v.text(&r.official_subject, "official_subject", kit::rpc::SHORT_MAX);
        let official_name = v.text(&r.official_name, "official_name", kit::rpc::NAME_MAX);
        let official_region = v.region(&r.official_region, "official_region");
        let person = r.relative.unwrap_or_default();
        let relative = v.id_number(&person.id_number, "relative.id_number");
        let relative_name = v.text(&person.name, "relative.name", kit::rpc::NAME_MAX);
        let relationship = v.text(&r.relationship, "relationship", kit::rpc::SHORT_MAX);
        match (official_region, relative) {
            (Some(official_region), Some(relative)) if v.is_empty() => Ok(Registration {
                official_subject,
                official_name,
                official_region,
                relative,
                relative_name,
                relationship,
            }),
            _ => Err(v),
        }
    }
}

pub async fn handle(
    api: &AssistanceApi,
    request: Request<pb::RegisterCloseRelativeRequest>,
) -> Result<Response<pb::CloseRelative>, Status> {
    api.rpc
        .write(
            request,
            async |c, req| {
                let region = RegionCode::parse(&req.official_region).ok();
                c.authorize(APPROVER, region.as_ref().map(RegionCode::as_str))
            },
            async |c, reg: Registration, ()| {
                let sealer = c.sealer().clone();
                let index = sealer.index(&reg.relative);
                let record = entry(c, reg);
                c.object(format!("close_relative/{}", record.id));
                let now = c.now_ms();
                store::insert_close_relative(c.db(), &sealer, &index, &record, now).await?;
                Ok(shown(record, c.principal()))
            },
        )
        .await
}

/// The register entry.
fn entry(c: &kit::rpc::Call, reg: Registration) -> pb::CloseRelative {
    pb::CloseRelative {
        id: uuid::Uuid::now_v7().to_string(),
        official_subject: reg.official_subject.clone(),
        official_name: reg.official_name,
        official_region: reg.official_region.as_str().to_owned(),
        relative: Some(PersonRef {
            id_number: reg.relative.as_str().to_owned(),
            name: reg.relative_name,
        }),
        relationship: reg.relationship,
        registered_on: Some(kit::error::to_proto_date(c.today())),
        registered_by: c.principal().subject.clone(),
    }
}

/// The entry as the caller may see it (identity number masked unless the role needs it).
fn shown(mut record: pb::CloseRelative, p: &Principal) -> pb::CloseRelative {
    if !p.sees_full_identity_numbers()
        && let Some(relative) = record.relative.as_mut()
    {
        relative.id_number = civil_id::mask_id_number(&relative.id_number);
    }
    record
}
