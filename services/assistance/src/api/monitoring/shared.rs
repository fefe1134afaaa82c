//! What the monitoring handlers share: the role sets, loading a warning in the caller's scope,
//! storing it and answering it, and the region a list or statistic is asked for.

use auth::Role;
use contracts::civil::assistance::v1 as pb;
use kit::rpc::Call;
use kit::{ServiceError, Violations};

use crate::monitoring::views::warning_view;
use crate::store::monitoring::{self as mon, WarningRow};

pub(crate) const STAFF: &[Role] = &[Role::TownshipClerk, Role::CountyApprover];

/// Loads a warning and checks the caller's region covers its owner; names it for the audit.
pub async fn warning_in_scope(c: &mut Call, id: &str) -> Result<WarningRow, ServiceError> {
    c.authorize(STAFF, None)?;
    let sealer = c.sealer().clone();
    let row = mon::load_warning(c.db(), &sealer, id).await?;
    c.authorize(STAFF, Some(&row.warning.owner_region))?;
    c.object(row.id.clone());
    Ok(row)
}

/// Stores a changed warning and answers it.
pub async fn saved(c: &mut Call, row: &WarningRow) -> Result<pb::Warning, ServiceError> {
    let (sealer, now, today) = (c.sealer().clone(), c.now_ms(), c.today());
    mon::update_warning(c.db(), &sealer, row, now).await?;
    let mut answered = row.clone();
    answered.version += 1;
    warning_view(c.db(), &answered, today).await
}

/// The region a list is asked for (the caller's own when empty), checked and in scope.
pub fn asked_region(c: &Call, given: &str, v: &mut Violations) -> Option<String> {
    let region = match given {
        "" => c.principal().region.clone(),
        given => given.to_owned(),
    };
    v.region(&region, "region").map(|r| r.as_str().to_owned())
}

/// A region-scoped page of a list: the asked region (the caller's own when empty) and the page,
/// every violation at once, then the caller's scope over that region. `filter` is what the
/// page token is bound to besides the region.
pub(super) fn region_page(
    c: &kit::rpc::Call,
    asked: &str,
    filter: &str,
    paging: &kit::paging::Paging,
    page_size: i32,
    page_token: &str,
) -> Result<(String, kit::paging::Page), kit::ServiceError> {
    c.authorize(STAFF, None)?;
    let mut v = kit::Violations::new();
    let region = asked_region(c, asked, &mut v);
    let bound = region.clone().unwrap_or_default();
    let page = paging.page(&mut v, page_size, page_token, &[&bound, filter]);
    v.finish()?;
    let (Some(region), Some(page)) = (region, page) else {
        return Err(kit::ServiceError::invalid(
            "region",
            "must be a region code",
        ));
    };
    c.authorize(STAFF, Some(&region))?;
    Ok((region, page))
}
