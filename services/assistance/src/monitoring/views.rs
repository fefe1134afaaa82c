//! The 救助链 views: from a household, its register entries, signals, warnings, applications,
//! benefits and roll lines; from a warning, its signals and the money that followed its
//! closure. And the statistics per township and month.

use std::collections::{BTreeMap, BTreeSet};

use contracts::civil::assistance::v1 as pb;
use kit::ServiceError;
use kit::error::to_proto_date;
use kit::pii::Sealer;
use sqlx::AnyConnection;
use time::Date;

use crate::convert::monitoring::{register_out, roll_line_out, signal_out, warning_out};
use crate::convert::{application_to_proto, benefit_state_to_proto, kind_to_proto, visible_state};
use crate::domain::monitoring::stats::{Counted, Tally};
use crate::domain::month::Month;
use crate::records::{BenefitRecord, parse_date};
use crate::store;
use crate::store::monitoring::{self as mon, HouseholdRow, SignalsOf, WarningRow};
use crate::store::monitoring_views as views;

/// A warning with its signal ids.
pub(crate) async fn warning_view(
    conn: &mut AnyConnection,
    row: &WarningRow,
    today: Date,
) -> Result<pb::Warning, ServiceError> {
    let ids = mon::signals_where(conn, SignalsOf::Warning, &row.id)
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect();
    Ok(warning_out(row, ids, today))
}

pub(crate) async fn household_chain(
    conn: &mut AnyConnection,
    sealer: &Sealer,
    h: &HouseholdRow,
    today: Date,
) -> Result<pb::HouseholdChain, ServiceError> {
    let members = mon::household_members(conn, &h.id).await?;
    let register = mon::register_of_household(conn, &h.id).await?;
    let signals = mon::signals_where(conn, SignalsOf::Household, &h.id).await?;
    let warning_rows = mon::warnings_of_household(conn, sealer, &h.id).await?;
    let mut benefits: BTreeMap<String, BenefitRecord> = BTreeMap::new();
    for index in &members {
        for b in store::benefits_of_person(conn, sealer, index).await? {
            benefits.insert(b.id.clone(), b);
        }
    }
    let mut application_ids: BTreeSet<String> = benefits
        .values()
        .filter_map(|b| b.application_id.clone())
        .collect();
    application_ids.extend(warning_rows.iter().filter_map(closing_application));
    let mut warnings = Vec::new();
    for row in &warning_rows {
        warnings.push(warning_view(conn, row, today).await?);
    }
    let mut chain = pb::HouseholdChain {
        household_id: h.id.clone(),
        region: h.region.clone(),
        owner_region: h.owner_region.clone(),
        members: i32::try_from(members.len()).unwrap_or(i32::MAX),
        register: register.iter().map(register_out).collect(),
        signals: signals.iter().map(signal_out).collect(),
        warnings,
        ..Default::default()
    };
    for id in &application_ids {
        chain
            .applications
            .push(application_link(conn, sealer, id).await?);
    }
    for b in benefits.values() {
        chain.benefits.push(benefit_link(b, today));
        let lines = views::roll_lines_of_benefit(conn, &b.id).await?;
        chain.roll_lines.extend(lines.iter().map(roll_line_out));
    }
    Ok(chain)
}

fn closing_application(row: &WarningRow) -> Option<String> {
    match row.warning.closure.as_ref().map(|c| &c.evidence) {
        Some(crate::domain::monitoring::warning::Evidence::Application { id }) => Some(id.clone()),
        _ => None,
    }
}

async fn application_link(
    conn: &mut AnyConnection,
    sealer: &Sealer,
    id: &str,
) -> Result<pb::ChainApplication, ServiceError> {
    let rec = store::load_application(conn, sealer, id).await?;
    let view = application_to_proto(&rec, false);
    Ok(pb::ChainApplication {
        id: rec.id.clone(),
        kind: view.kind,
        state: view.state,
        submitted_on: parse_date(&rec.submitted_on).map(to_proto_date),
        benefit_id: rec.benefit_id.clone().unwrap_or_default(),
    })
}

fn benefit_link(b: &BenefitRecord, today: Date) -> pb::ChainBenefit {
    pb::ChainBenefit {
        id: b.id.clone(),
        kind: kind_to_proto(b.kind()),
        state: benefit_state_to_proto(visible_state(b, Month::of(today))),
        paid_from: b.terms.paid_from.to_string(),
        monthly_amount_fen: b.computation.total_fen.get(),
        application_id: b.application_id.clone().unwrap_or_default(),
    }
}

/// From a warning to the money: its signals, the application that closed it, the benefit that
/// application led to (or the benefit changed), and that benefit's roll lines.
pub(crate) async fn warning_chain(
    conn: &mut AnyConnection,
    sealer: &Sealer,
    row: &WarningRow,
    today: Date,
) -> Result<pb::WarningChain, ServiceError> {
    let signals = mon::signals_where(conn, SignalsOf::Warning, &row.id).await?;
    let mut chain = pb::WarningChain {
        warning: Some(warning_view(conn, row, today).await?),
        signals: signals.iter().map(signal_out).collect(),
        ..Default::default()
    };
    let mut benefit_id = None;
    if let Some(app_id) = closing_application(row) {
        let link = application_link(conn, sealer, &app_id).await?;
        benefit_id = Some(link.benefit_id.clone()).filter(|b| !b.is_empty());
        chain.application = Some(link);
    }
    if let Some(crate::domain::monitoring::warning::Evidence::BenefitChange { id }) =
        row.warning.closure.as_ref().map(|c| &c.evidence)
    {
        benefit_id = Some(id.clone());
    }
    if let Some(id) = benefit_id {
        let b = store::load_benefit(conn, sealer, &id).await?;
        chain.benefits.push(benefit_link(&b, today));
        let lines = views::roll_lines_of_benefit(conn, &id).await?;
        chain.roll_lines = lines.iter().map(roll_line_out).collect();
    }
    Ok(chain)
}

/// Per owner region (township, or the county for households without one) for `month`.
pub(crate) async fn statistics(
    conn: &mut AnyConnection,
    region: &str,
    month: &str,
    today: Date,
) -> Result<Vec<pb::TownshipMonth>, ServiceError> {
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    for row in views::warnings_raised_in(conn, region, month).await? {
        let due_on = kit::clock::stored_date(&row.due_on)?;
        let closed = match (&row.closure_kind, &row.closed_on) {
            (Some(kind), Some(on)) if !row.open => {
                Some((kind.as_str(), kit::clock::stored_date(on)?))
            }
            _ => None,
        };
        tallies
            .entry(row.owner_region.clone())
            .or_default()
            .add(&Counted { due_on, closed }, today);
    }
    Ok(tallies
        .into_iter()
        .map(|(township, t)| pb::TownshipMonth {
            township,
            month: month.to_owned(),
            raised: t.raised,
            closed_in_time: t.closed_in_time,
            closed_late: t.closed_late,
            open_overdue: t.open_overdue,
            open_in_time: t.open_in_time,
            by_application: t.by_application,
            by_benefit_change: t.by_benefit_change,
            by_referral: t.by_referral,
            by_dismissal: t.by_dismissal,
        })
        .collect())
}
