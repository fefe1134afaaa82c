//! Helpers several RPCs share: roles, loading a record and authorizing the caller on it.

use auth::Role;
use kit::rpc::Call;
use kit::{ServiceError, Violations};

use crate::convert::{self, elder_name, institution_name};
use crate::store::institutions::{self, InstitutionRow};
use crate::store::{self, ElderRow};

pub const STAFF: &[Role] = &[Role::EldercareStaff];
pub const STAFF_OR_SERVICE: &[Role] = &[Role::EldercareStaff, Role::Service];
pub const CARE_ROLES: &[Role] = &[Role::EldercareStaff, Role::InstitutionOperator];

/// The id in a resource name `prefix{id}`.
pub fn id_from<'a>(name: &'a str, prefix: &str, field: &str) -> Result<&'a str, ServiceError> {
    match name.strip_prefix(prefix) {
        Some(id) if !id.is_empty() && !id.contains('/') => Ok(id),
        _ => Err(ServiceError::invalid(
            field,
            format!("must be {prefix}{{id}}"),
        )),
    }
}

/// Loads `elders/{id}` and authorizes the caller on its region; names it in the audit row.
pub async fn elder(c: &mut Call, name: &str, roles: &[Role]) -> Result<ElderRow, ServiceError> {
    let id = id_from(name, "elders/", "elder")?;
    let e = store::elder_by_id(c.db(), id)
        .await?
        .ok_or_else(|| ServiceError::not_found(name.to_owned()))?;
    c.authorize(roles, Some(&e.region))?;
    c.object(elder_name(&e.id));
    Ok(e)
}

/// Re-reads an elder inside the write's transaction.
pub async fn elder_now(c: &mut Call, id: &str) -> Result<ElderRow, ServiceError> {
    store::elder_by_id(c.db(), id)
        .await?
        .ok_or_else(|| ServiceError::not_found(elder_name(id)))
}

/// Loads `institutions/{id}` and authorizes the caller on its region.
pub async fn institution(
    c: &mut Call,
    name: &str,
    roles: &[Role],
) -> Result<InstitutionRow, ServiceError> {
    let id = id_from(name, "institutions/", "institution")?;
    let i = institutions::institution(c.db(), id)
        .await?
        .ok_or_else(|| ServiceError::not_found(name.to_owned()))?;
    c.authorize(roles, Some(&i.region))?;
    c.object(institution_name(&i.id));
    Ok(i)
}

/// Re-reads an institution inside the write's transaction.
pub async fn institution_now(c: &mut Call, id: &str) -> Result<InstitutionRow, ServiceError> {
    institutions::institution(c.db(), id)
        .await?
        .ok_or_else(|| ServiceError::not_found(institution_name(id)))
}

/// A region filter of this service: well-formed (else INVALID_ARGUMENT), within the caller's
/// scope (else PERMISSION_DENIED), within the county (else INVALID_ARGUMENT).
pub fn region_filter(
    c: &mut Call,
    value: &str,
    roles: &[Role],
    county: &str,
) -> Result<String, ServiceError> {
    let mut v = Violations::new();
    let region = convert::region_in(&mut v, value, "region");
    v.finish()?;
    let region = region.unwrap_or_default();
    c.authorize(roles, Some(&region))?;
    let mut v = Violations::new();
    convert::county_region_in(&mut v, &region, "region", county);
    v.finish()?;
    Ok(region)
}

/// Turns a violation found in the effect (it needed the clock or the policy) into
/// INVALID_ARGUMENT.
pub fn check(ok: bool, field: &str, description: &str) -> Result<(), ServiceError> {
    if ok {
        Ok(())
    } else {
        Err(ServiceError::invalid(field, description))
    }
}
