//! Listing changes several RPCs and the daily sweep share: applying the list rules' actions to
//! the store, with their events, in the caller's transaction.

use auth::Principal;
use auth::audit::AuditEntry;
use civil_calendar::HolidayCalendar;
use contracts::civil::socialorg::v1 as pb;
use kit::ServiceError;
use kit::error::to_proto_date;
use sqlx::AnyConnection;
use time::Date;

use super::shared::org_name;
use crate::convert;
use crate::domain::credit_list::{self, Action, Listing, OrgFacts};
use crate::store::{self, ListingRow, OrgRow, OrgStatus};

/// Writes an OrganisationListed or OrganisationDelisted event.
pub async fn emit(
    conn: &mut AnyConnection,
    row: &ListingRow,
    listed: bool,
) -> Result<(), ServiceError> {
    let listing = Some(convert::listing_out(row));
    if listed {
        let event = pb::OrganisationListed { listing };
        kit::outbox::append(
            conn,
            crate::TOPIC_LISTED,
            "civil.socialorg.v1.OrganisationListed",
            &row.organisation_id,
            &event,
        )
        .await?;
    } else {
        let event = pb::OrganisationDelisted { listing };
        kit::outbox::append(
            conn,
            crate::TOPIC_DELISTED,
            "civil.socialorg.v1.OrganisationDelisted",
            &row.organisation_id,
            &event,
        )
        .await?;
    }
    Ok(())
}

/// Applies listing actions for one organisation, with their events; new listings name
/// `authority`. Returns (listed, delisted).
pub async fn apply_actions(
    conn: &mut AnyConnection,
    org: &OrgRow,
    actions: &[Action],
    authority: &str,
) -> Result<(Vec<pb::Listing>, Vec<pb::Listing>), ServiceError> {
    let mut listed = Vec::new();
    let mut delisted = Vec::new();
    for action in actions {
        match action {
            Action::List(new) => {
                if let Some(row) = list_new(conn, org, new, authority).await? {
                    listed.push(convert::listing_out(&row));
                }
            }
            Action::Remove {
                listing_id,
                removed_on,
                reason,
            } => {
                if store::remove_listing(conn, listing_id, *removed_on, *reason).await?
                    && let Some(row) = store::listing_by_id(conn, listing_id).await?
                {
                    emit(conn, &row, false).await?;
                    delisted.push(convert::listing_out(&row));
                }
            }
        }
    }
    Ok((listed, delisted))
}

/// Puts the organisation on a list, with its event.
async fn list_new(
    conn: &mut AnyConnection,
    org: &OrgRow,
    new: &credit_list::NewListing,
    authority: &str,
) -> Result<Option<ListingRow>, ServiceError> {
    let listing = Listing {
        id: uuid::Uuid::now_v7().to_string(),
        list: new.list,
        trigger: new.trigger,
        listed_on: new.listed_on,
        report_year: new.report_year,
        corrected_on: None,
        removal_due: None,
        removed_on: None,
        removal_reason: None,
    };
    store::insert_listing(conn, &org.id, &listing, 0, &new.evidence, authority).await?;
    let row = store::listing_by_id(conn, &listing.id).await?;
    if let Some(row) = &row {
        emit(conn, row, true).await?;
    }
    Ok(row)
}

/// What a sweep needs besides the connection.
pub struct Sweep<'a> {
    pub calendar: &'a HolidayCalendar,
    pub date: Date,
    /// Region prefix of the organisations swept ("" for all).
    pub scope: &'a str,
    pub actor: &'a Principal,
    pub authority: &'a str,
}

/// Runs the listing rules for every active organisation within the scope on the date, in the
/// caller's transaction; each organisation changed gets its audit row.
pub async fn sweep_all(
    conn: &mut AnyConnection,
    s: &Sweep<'_>,
) -> Result<pb::ListingSweep, ServiceError> {
    let mut out = pb::ListingSweep {
        date: Some(to_proto_date(s.date)),
        listed: Vec::new(),
        delisted: Vec::new(),
    };
    for id in store::active_org_ids(conn).await? {
        if let Some((listed, delisted)) = sweep_one(conn, s, &id).await? {
            out.listed.extend(listed);
            out.delisted.extend(delisted);
        }
    }
    Ok(out)
}

type Changed = (Vec<pb::Listing>, Vec<pb::Listing>);

/// The sweep of one organisation: `None` when it is out of scope or nothing changes.
async fn sweep_one(
    conn: &mut AnyConnection,
    s: &Sweep<'_>,
    id: &str,
) -> Result<Option<Changed>, ServiceError> {
    let Some(org) = store::org_by_id(conn, id).await? else {
        return Ok(None);
    };
    if !org.region.starts_with(s.scope) {
        return Ok(None);
    }
    let facts = OrgFacts {
        registered_on: org.registered_on,
        active: org.status == OrgStatus::Active && org.registered_on <= s.date,
        reported_years: store::reported_years(conn, id).await?,
    };
    let listings = store::listings(conn, id).await?;
    if credit_list::sweep(s.calendar, &facts, &listings, s.date).is_empty() {
        return Ok(None);
    }
    // Something changes: lock the organisation and decide again on fresh rows.
    let Some(org) = store::lock_org(conn, id).await? else {
        return Ok(None);
    };
    let listings = store::listings(conn, id).await?;
    let facts = OrgFacts {
        reported_years: store::reported_years(conn, id).await?,
        ..facts
    };
    let actions = credit_list::sweep(s.calendar, &facts, &listings, s.date);
    let changed = apply_actions(conn, &org, &actions, s.authority).await?;
    let entry = AuditEntry::new(s.actor, "socialorg.RunListingSweep", &org_name(id))
        .with_trace_id(kit::telemetry::current_trace_id());
    auth::audit::append(conn, &[entry]).await?;
    Ok(Some(changed))
}
