//! Helpers several kit::rpc handlers share: the role sets, loading a record in the caller's
//! scope, and dropping this replica's cached status once a change has committed.

use auth::Role;
use kit::ServiceError;
use kit::rpc::Call;

use super::AssistanceApi;
use crate::records::ApplicationRecord;
use crate::store;

pub(crate) const CLERK: &[Role] = &[Role::TownshipClerk];
pub(crate) const APPROVER: &[Role] = &[Role::CountyApprover];
/// Service: the one-matter aggregator follows an application it opened for a citizen.
pub(crate) const READERS: &[Role] = &[Role::TownshipClerk, Role::CountyApprover, Role::Service];
/// Service: the one-matter aggregator applies on the citizen's behalf (社会救助一件事).
pub(crate) const APPLICANTS: &[Role] = &[Role::Citizen, Role::TownshipClerk, Role::Service];

/// Loads an application and checks the caller's region scope covers its household; names it as
/// the audited object.
pub async fn application_in_scope(
    c: &mut Call,
    roles: &[Role],
    id: &str,
) -> Result<ApplicationRecord, ServiceError> {
    let sealer = c.sealer().clone();
    let rec = store::load_application(c.db(), &sealer, id).await?;
    c.authorize(roles, Some(&rec.household.region))?;
    c.object(rec.id.clone());
    Ok(rec)
}

/// Stores a changed application and answers it as the caller may see it.
pub async fn saved(
    c: &mut Call,
    rec: &ApplicationRecord,
) -> Result<contracts::civil::assistance::v1::Application, ServiceError> {
    let sealer = c.sealer().clone();
    let now = c.now_ms();
    store::update_application(c.db(), &sealer, rec, now).await?;
    let full = c.principal().sees_full_identity_numbers();
    Ok(crate::convert::application_to_proto(rec, full))
}

/// Role, then the region the request names when it names a valid one (an invalid region is
/// reported by decoding, after this).
pub fn by_region(c: &Call, roles: &[Role], region: &str) -> Result<(), ServiceError> {
    c.authorize(roles, None)?;
    match civil_id::RegionCode::parse(region) {
        Ok(region) => c.authorize(roles, Some(region.as_str())),
        Err(_) => Ok(()),
    }
}

/// After a committed change: this replica drops the benefit's members' cached status at once
/// (the durable invalidation recorded in the transaction reaches every replica within a tick).
pub async fn forget_now<T>(
    api: &AssistanceApi,
    result: Result<tonic::Response<T>, tonic::Status>,
    benefit_id: impl Fn(&T) -> &str,
) -> Result<tonic::Response<T>, tonic::Status> {
    if let Ok(response) = &result {
        api.invalidate_benefit(benefit_id(response.get_ref())).await;
    }
    result
}

/// Roll steps: a county-scoped approver, then the roll (named as the audited object).
pub async fn roll_in_scope(
    c: &mut Call,
    county: &str,
    roll_id: &str,
) -> Result<store::RollRow, ServiceError> {
    c.authorize(APPROVER, Some(county))?;
    if roll_id.trim().is_empty() {
        return Err(ServiceError::invalid("roll_id", "is required"));
    }
    let roll = store::load_roll(c.db(), roll_id).await?;
    c.object(roll.id.clone());
    Ok(roll)
}

/// Grievances are handled by the clerks and approvers of their region.
pub(crate) const HANDLERS: &[Role] = &[Role::TownshipClerk, Role::CountyApprover];

/// Loads a grievance and checks the caller's region scope covers it; names it as the audited
/// object.
pub async fn grievance_in_scope(
    c: &mut Call,
    roles: &[Role],
    id: &str,
) -> Result<crate::grievances::GrievanceRecord, ServiceError> {
    c.authorize(roles, None)?;
    if id.trim().is_empty() {
        return Err(ServiceError::invalid("grievance_id", "is required"));
    }
    let sealer = c.sealer().clone();
    let rec = store::load_grievance(c.db(), &sealer, id).await?;
    c.authorize(roles, Some(&rec.region))?;
    c.object(rec.id.clone());
    Ok(rec)
}
