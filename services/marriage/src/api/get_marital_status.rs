//! GetMaritalStatus: a person's current status for other bureaus, with the region scope of
//! GetMarriage for people and the minimal view for other services. Every read is audited.

use std::time::Duration;

use auth::Role;
use civil_id::IdNumber;
use contracts::civil::common::v1::PersonRef;
use contracts::civil::marriage::v1 as pb;
use kit::rpc::{Call, Text as _};
use kit::{ServiceError, Violations};
use prost::Message;
use tonic::{Request, Response, Status};

use super::MarriageApi;
use super::shared::{PURPOSE, status_cache_key};
use crate::convert::{self, Mask};
use crate::domain::Refusal;
use crate::domain::status::MaritalState;
use crate::national::{Answer, merge};
use crate::store;

/// How long a status stays in the shared cache; every change of the person invalidates it.
const STATUS_TTL: Duration = Duration::from_secs(60);

pub struct StatusQuery {
    id: IdNumber,
}

impl TryFrom<pb::GetMaritalStatusRequest> for StatusQuery {
    type Error = Violations;

    fn try_from(req: pb::GetMaritalStatusRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let id = v.id_number(&req.id_number, "id_number");
        v.optional_text(&req.purpose, "purpose", PURPOSE);
        match id {
            Some(id) if v.is_empty() => Ok(StatusQuery { id }),
            _ => Err(v),
        }
    }
}

/// What a caller may see of a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum View {
    /// Everything (identity numbers masked unless the role sees them).
    Full,
    /// The state only: what another bureau's system needs to decide (minimum necessary,
    /// 个人信息保护法 art. 6).
    Minimal,
}

pub async fn handle(
    api: &MarriageApi,
    request: Request<pb::GetMaritalStatusRequest>,
) -> Result<Response<pb::MaritalStatus>, Status> {
    api.rpc
        .read(
            request,
            async |c, req| {
                c.purpose(req.purpose.trim());
                Ok(())
            },
            async |c, q: StatusQuery, ()| {
                let index = c.sealer().index(&q.id);
                c.object(index.clone());
                c.person(index.clone());
                let status = cached_status(c, api, &q.id, &index).await?;
                let view = view_of(c, api, &q.id, &status).await?;
                Ok(shape(c, q.id, status, view))
            },
        )
        .await
}

/// The region scope of GetMarriage for people: the office that registered the marriage the
/// status derives from (without one, the division code of the identity number); the minimal
/// view for other services.
async fn view_of(
    c: &mut Call,
    api: &MarriageApi,
    id: &IdNumber,
    status: &pb::MaritalStatus,
) -> Result<View, ServiceError> {
    let region = if status.office_id.is_empty() {
        id.region().to_owned()
    } else {
        api.offices
            .get(c.db(), &status.office_id)
            .await?
            .region_code
    };
    let p = c.principal();
    let person = p.has_role(Role::Registrar) || p.has_role(Role::CountyApprover);
    if person && p.covers_region(&region) {
        Ok(View::Full)
    } else if p.has_role(Role::Service) {
        Ok(View::Minimal)
    } else {
        let denied = "the record is outside the caller's region scope";
        Err(ServiceError::PermissionDenied(denied.into()))
    }
}

/// The answer for this caller. The cached copy holds no clear identity number: the person's
/// comes from the request, the spouse's is sealed.
fn shape(c: &Call, id: IdNumber, status: pb::MaritalStatus, view: View) -> pb::MaritalStatus {
    if view == View::Minimal {
        return pb::MaritalStatus {
            state: status.state,
            since: status.since,
            deceased: status.deceased,
            source: status.source,
            ..Default::default()
        };
    }
    let mut status = status;
    if let Some(person) = status.person.as_mut() {
        person.id_number = id.as_str().to_owned();
    }
    if let Some(spouse) = status.spouse.as_mut() {
        spouse.id_number = convert::open_id(c.sealer(), &spouse.id_number);
    }
    status.masked_unless(c.principal().sees_full_identity_numbers())
}

/// The status from the shared cache, or built from the archive and cached.
async fn cached_status(
    c: &mut Call,
    api: &MarriageApi,
    id: &IdNumber,
    index: &str,
) -> Result<pb::MaritalStatus, ServiceError> {
    let key = status_cache_key(index);
    let cached = api
        .rpc
        .cache()
        .get(&key)
        .await
        .and_then(|bytes| pb::MaritalStatus::decode(bytes.as_slice()).ok())
        // An entry written before statuses named their source and office: build it again.
        .filter(|s| s.source != pb::StatusSource::Unspecified as i32);
    if let Some(status) = cached {
        return Ok(status);
    }
    let (status, local_certificates) = load_status(c, index).await?;
    let national = if api.national.configured() {
        let region = c.principal().region.clone();
        let purpose = "marital status for another bureau";
        api.national.query(id, &region, "", purpose).await
    } else {
        Answer::NotAsked
    };
    let status = merge(status, &local_certificates, national).ok_or_else(|| {
        let detail = "asked for a person the archive holds no marriage in force of".into();
        ServiceError::from(Refusal::NationalCheckUnavailable { detail })
    })?;
    api.rpc
        .cache()
        .set(&key, status.encode_to_vec(), STATUS_TTL)
        .await;
    Ok(status)
}

/// Builds the status from the archive, with the spouse's number still sealed; and the
/// certificate numbers the archive holds of the person.
async fn load_status(
    c: &mut Call,
    index: &str,
) -> Result<(pb::MaritalStatus, Vec<String>), ServiceError> {
    let (history, rows) = store::history(c.db(), index).await?;
    let person = store::get_person(c.db(), index).await?;
    let status = history.status();
    let row = status.marriage.and_then(|m| {
        rows.iter()
            .find(|r| r.certificate_number == m.certificate_number)
    });
    let spouse = row
        .filter(|_| status.state == MaritalState::Married && !status.deceased)
        .and_then(|r| r.sides(index))
        .map(|(_, other)| PersonRef {
            id_number: other.sealed.clone(),
            name: other.name.clone(),
        });
    let source = match status.state {
        MaritalState::NoRecord => pb::StatusSource::None,
        _ => pb::StatusSource::LocalRegistry,
    };
    let certificates = rows.iter().map(|r| r.certificate_number.clone()).collect();
    let status = pb::MaritalStatus {
        person: Some(PersonRef {
            id_number: String::new(),
            name: person.map(|p| p.name).unwrap_or_default(),
        }),
        state: convert::marital_state(status.state).into(),
        since: status.since.map(kit::error::to_proto_date),
        spouse,
        marriage_certificate_number: status
            .marriage
            .map(|m| m.certificate_number.clone())
            .unwrap_or_default(),
        deceased: status.deceased,
        office_id: row.map(|r| r.office_id.clone()).unwrap_or_default(),
        source: source.into(),
    };
    Ok((status, certificates))
}
