//! 低收入人口动态监测 effects: finding a person's monitored household (their benefit's household,
//! or a new one), feeding the register from the benefits, taking in signals (`intake`), the
//! suite's own signals from assistance events (`internal`), and the chain and statistics views
//! (`views`). The rules are in `crate::domain::monitoring`.

pub(crate) mod gauge;
pub(crate) mod intake;
pub(crate) mod internal;
pub(crate) mod views;

use kit::ServiceError;
use kit::pii::Sealer;
use sqlx::AnyConnection;
use time::Date;

use crate::domain::monitoring::register::{Category, category_of_benefit};
use crate::domain::monitoring::township::owner_of;
use crate::records::{BenefitRecord, parse_date};
use crate::store;
use crate::store::monitoring::{self as mon, HouseholdRow, RegisterRow};

/// The monitored household of a person (blind index): the one they are in; else the household
/// of a benefit that covers them (all its members, its region); else a new household of the
/// person alone in `region`.
pub(crate) async fn household_for(
    conn: &mut AnyConnection,
    sealer: &Sealer,
    index: &str,
    region: &str,
    now_ms: i64,
) -> Result<HouseholdRow, ServiceError> {
    if let Some(h) = mon::household_of_person(conn, index).await? {
        return Ok(h);
    }
    let benefits = store::benefits_of_person(conn, sealer, index).await?;
    let covering = benefits
        .iter()
        .find(|b| category_of_benefit(b.kind()).is_some())
        .or(benefits.first());
    let (region, members) = match covering {
        Some(b) => (
            b.region().to_owned(),
            store::member_indexes(conn, &b.id).await?,
        ),
        None => (region.to_owned(), vec![index.to_owned()]),
    };
    let h = HouseholdRow {
        id: uuid::Uuid::now_v7().to_string(),
        owner_region: owner_of(&region),
        region,
    };
    mon::insert_household(conn, &h, now_ms).await?;
    for m in members.iter().chain(std::iter::once(&index.to_owned())) {
        mon::add_member(conn, &h.id, m).await?;
    }
    // Another signal may have placed the person first: theirs is the household.
    Ok(mon::household_of_person(conn, index).await?.unwrap_or(h))
}

/// Feeds the register from the benefits covering the household's members (低保, 特困, 低保边缘):
/// one entry per benefit, from its approval to the day before its first unpaid month.
pub(crate) async fn sync_register(
    conn: &mut AnyConnection,
    sealer: &Sealer,
    h: &HouseholdRow,
    now_ms: i64,
) -> Result<Vec<RegisterRow>, ServiceError> {
    let mut seen = std::collections::BTreeSet::new();
    for index in mon::household_members(conn, &h.id).await? {
        for b in store::benefits_of_person(conn, sealer, &index).await? {
            if !seen.insert(b.id.clone()) {
                continue;
            }
            if let Some(entry) = entry_of_benefit(conn, h, &b).await? {
                mon::upsert_entry(conn, &entry, now_ms).await?;
            }
        }
    }
    mon::register_of_household(conn, &h.id).await
}

async fn entry_of_benefit(
    conn: &mut AnyConnection,
    h: &HouseholdRow,
    b: &BenefitRecord,
) -> Result<Option<RegisterRow>, ServiceError> {
    let Some(category) = category_of_benefit(b.kind()) else {
        return Ok(None);
    };
    let members = store::member_indexes(conn, &b.id).await?.len();
    let starts_on = parse_date(&b.approved_on).unwrap_or(b.terms.paid_from.first_day());
    let ends_on = b.terms.ends.and_then(|m| m.first_day().previous_day());
    Ok(Some(RegisterRow {
        id: uuid::Uuid::now_v7().to_string(),
        household_id: h.id.clone(),
        category,
        region: h.region.clone(),
        owner_region: h.owner_region.clone(),
        source: "benefit".into(),
        source_reference: b.id.clone(),
        starts_on,
        ends_on,
        members: i64::try_from(members).unwrap_or(i64::MAX),
    }))
}

/// The categories the household holds on `day`.
pub(crate) fn held_on(entries: &[RegisterRow], day: Date) -> Vec<Category> {
    let mut held: Vec<Category> = entries
        .iter()
        .filter(|e| e.starts_on <= day && e.ends_on.is_none_or(|end| day <= end))
        .map(|e| e.category)
        .collect();
    held.sort();
    held.dedup();
    held
}
