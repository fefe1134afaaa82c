//! What several RPCs share: loading an organisation for an authorised caller, its view, the
//! deciding authority.

use auth::Role;
use contracts::civil::common::v1::PersonRef;
use contracts::civil::socialorg::v1 as pb;
use kit::ServiceError;
use kit::error::to_proto_date;
use kit::rpc::{Call, Rpc};
use sqlx::AnyConnection;

use crate::convert;
use crate::domain::Refusal;
use crate::domain::credit_list::CreditList;
use crate::store::{self, OrgRow, OrgStatus};

/// Officers act within their region.
pub const OFFICER: &[Role] = &[Role::SocialOrgOfficer];

/// The resource name of an organisation (audit objects, NOT_FOUND messages).
pub fn org_name(id: &str) -> String {
    format!("organisations/{id}")
}

/// The registration authority named on listings it decides: the county setting
/// `socialorg_authority`, else the county's civil affairs bureau by its division code.
pub fn authority(rpc: &Rpc) -> String {
    let config = &rpc.ctx().config;
    match config.service_setting("socialorg", "authority") {
        Some(name) if !name.trim().is_empty() => name.trim().to_owned(),
        _ => format!("{}县民政局", config.county),
    }
}

/// Loads the organisation `id` names for a caller who may act on it: an officer within its
/// region, or (with `services_too`) another service of the suite anywhere.
pub async fn authorized_org(
    c: &mut Call,
    id: &str,
    services_too: bool,
) -> Result<OrgRow, ServiceError> {
    if id.trim().is_empty() {
        return Err(ServiceError::invalid("organisation_id", "is required"));
    }
    c.object(org_name(id));
    let org = store::org_by_id(c.db(), id)
        .await?
        .ok_or_else(|| ServiceError::not_found(org_name(id)))?;
    if services_too && c.principal().has_role(Role::Service) {
        return Ok(org);
    }
    c.authorize(OFFICER, Some(&org.region))?;
    Ok(org)
}

/// The organisation, locked for the transaction, if it is still active.
pub async fn locked_active(conn: &mut AnyConnection, id: &str) -> Result<OrgRow, ServiceError> {
    let org = store::lock_org(conn, id)
        .await?
        .ok_or_else(|| ServiceError::not_found(org_name(id)))?;
    if org.status != OrgStatus::Active {
        return Err(Refusal::NotActive.into());
    }
    Ok(org)
}

/// A person as this caller may see them: the identity number masked unless the role sees it
/// in full.
pub fn person(c: &Call, id_sealed: &str, name_sealed: &str) -> PersonRef {
    let id = c.sealer().open(id_sealed).unwrap_or_default();
    PersonRef {
        id_number: c.principal().shown_identity_number(&id),
        name: c.sealer().open(name_sealed).unwrap_or_default(),
    }
}

/// Seals a person as "id\nname" for the change history.
pub fn seal_person(c: &Call, id: &str, name: &str) -> String {
    c.sealer().seal(&format!("{id}\n{name}"))
}

/// Opens [`seal_person`]'s form into the caller's view.
fn open_person(c: &Call, sealed: &str) -> Option<PersonRef> {
    if sealed.is_empty() {
        return None;
    }
    let text = c.sealer().open(sealed).ok()?;
    let (id, name) = text.split_once('\n')?;
    Some(PersonRef {
        id_number: c.principal().shown_identity_number(id),
        name: name.to_owned(),
    })
}

/// The organisation as the caller sees it, with today's lists, rating, open task and history.
pub async fn org_out(c: &mut Call, o: &OrgRow) -> Result<pb::Organisation, ServiceError> {
    let today = c.today();
    let listings = store::listings(c.db(), &o.id).await?;
    let on = |list: CreditList| {
        listings
            .iter()
            .any(|l| l.list == list && l.in_force_on(today))
    };
    let rating = store::rating_in_force(c.db(), &o.id, today)
        .await?
        .map(|r| convert::rating_out(&r));
    let task = store::open_task(c.db(), &o.id).await?;
    let history = store::changes_of(c.db(), &o.id).await?;
    let changes = history
        .iter()
        .map(|h| convert::change_out(h, |sealed| open_person(c, sealed)))
        .collect();
    Ok(pb::Organisation {
        organisation_id: o.id.clone(),
        credit_code: o.credit_code.clone(),
        kind: convert::kind_out(o.kind).into(),
        field: convert::field_out(o.field).into(),
        name: o.name.clone(),
        region_code: o.region.clone(),
        address: o.address.clone(),
        legal_representative: Some(person(c, &o.rep_id_sealed, &o.rep_name_sealed)),
        supervisory_unit: o.supervisory_unit.clone(),
        status: convert::status_out(o.status).into(),
        registered_on: Some(to_proto_date(o.registered_on)),
        decision_due: Some(to_proto_date(o.decision_due)),
        decided_in_time: o.registered_on <= o.decision_due,
        rating,
        on_abnormal_list: on(CreditList::Abnormal),
        on_serious_list: on(CreditList::Serious),
        open_task_id: task.map(|t| t.id).unwrap_or_default(),
        changes,
    })
}

impl kit::rpc::Refusal for Refusal {
    fn reason(&self) -> &'static str {
        Refusal::reason(self)
    }
}
