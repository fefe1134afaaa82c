//! 活动异常名录 and 严重违法失信名单: the credit lists, what puts an organisation on them and
//! what takes it off.
//!
//! Source: 社会组织信用信息管理办法 (民政部令第60号, 2018) arts. 11-17 as summarised in RULES.md:
//! - abnormal list: missed annual report, unreachable at the registered address, overdue
//!   correction, a warning or a fine under 50,000 yuan; removal 5 working days after the
//!   correction is verified;
//! - a new breach while listed restarts the listing clock; two years on the abnormal list
//!   moves the organisation to the serious list (it leaves the abnormal list);
//! - serious list: also revocation, an order to suspend, a fine of 50,000 yuan or more; removal
//!   on application after two years without a new breach, or on deregistration.
//!
//! Every function here is pure: the sweep returns the actions, the store applies them.

use std::collections::BTreeSet;

use civil_calendar::{HolidayCalendar, birthday_in_year};
use time::Date;

use super::annual_report::{latest_due_year, report_deadline};
use super::refusal::Refusal;

/// A fine from this amount puts the organisation on the serious list (50,000 yuan).
pub const SERIOUS_FINE_FEN: i64 = 5_000_000;
/// Working days between the verified correction and the removal.
pub const REMOVAL_WORKING_DAYS: u32 = 5;
/// Years on the abnormal list before escalation, and clean years before serious-list removal.
pub const LISTING_YEARS: i32 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CreditList {
    /// 活动异常名录.
    Abnormal,
    /// 严重违法失信名单.
    Serious,
}

impl CreditList {
    pub fn as_str(self) -> &'static str {
        match self {
            CreditList::Abnormal => "ABNORMAL",
            CreditList::Serious => "SERIOUS",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Abnormal, Self::Serious]
            .into_iter()
            .find(|l| l.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trigger {
    MissedAnnualReport,
    Unreachable,
    OverdueCorrection,
    Warning,
    Fine,
    SuspensionOrder,
    Revocation,
    AbnormalTwoYears,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::MissedAnnualReport => "MISSED_ANNUAL_REPORT",
            Trigger::Unreachable => "UNREACHABLE",
            Trigger::OverdueCorrection => "OVERDUE_CORRECTION",
            Trigger::Warning => "WARNING",
            Trigger::Fine => "FINE",
            Trigger::SuspensionOrder => "SUSPENSION_ORDER",
            Trigger::Revocation => "REVOCATION",
            Trigger::AbnormalTwoYears => "ABNORMAL_TWO_YEARS",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::MissedAnnualReport,
            Self::Unreachable,
            Self::OverdueCorrection,
            Self::Warning,
            Self::Fine,
            Self::SuspensionOrder,
            Self::Revocation,
            Self::AbnormalTwoYears,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }

    /// Whether the bureau records this trigger as a breach decision (the sweep records the
    /// other two itself).
    pub fn is_recorded_breach(self) -> bool {
        !matches!(
            self,
            Trigger::MissedAnnualReport | Trigger::AbnormalTwoYears
        )
    }

    /// Whether the trigger is an administrative penalty (行政处罚), which bars a rating.
    pub fn is_penalty(self) -> bool {
        matches!(
            self,
            Trigger::Warning | Trigger::Fine | Trigger::SuspensionOrder | Trigger::Revocation
        )
    }
}

/// Returns the list a breach puts the organisation on.
pub fn list_for(trigger: Trigger, fine_fen: i64) -> CreditList {
    match trigger {
        Trigger::MissedAnnualReport
        | Trigger::Unreachable
        | Trigger::OverdueCorrection
        | Trigger::Warning => CreditList::Abnormal,
        Trigger::Fine if fine_fen < SERIOUS_FINE_FEN => CreditList::Abnormal,
        Trigger::Fine
        | Trigger::SuspensionOrder
        | Trigger::Revocation
        | Trigger::AbnormalTwoYears => CreditList::Serious,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemovalReason {
    Corrected,
    Escalated,
    CleanYears,
    Deregistered,
}

impl RemovalReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RemovalReason::Corrected => "CORRECTED",
            RemovalReason::Escalated => "ESCALATED",
            RemovalReason::CleanYears => "CLEAN_YEARS",
            RemovalReason::Deregistered => "DEREGISTERED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Corrected,
            Self::Escalated,
            Self::CleanYears,
            Self::Deregistered,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

/// One listing of one organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub id: String,
    pub list: CreditList,
    pub trigger: Trigger,
    pub listed_on: Date,
    /// The reported year, for a missed annual report.
    pub report_year: Option<i32>,
    pub corrected_on: Option<Date>,
    pub removal_due: Option<Date>,
    pub removed_on: Option<Date>,
    pub removal_reason: Option<RemovalReason>,
}

impl Listing {
    /// Whether the listing is in force on `day` (listed, not yet removed).
    pub fn in_force_on(&self, day: Date) -> bool {
        self.listed_on <= day && self.removed_on.is_none_or(|r| r > day)
    }
}

/// A listing to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewListing {
    pub list: CreditList,
    pub trigger: Trigger,
    pub listed_on: Date,
    pub report_year: Option<i32>,
    pub evidence: String,
}

/// What the sweep (or a removal) does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    List(NewListing),
    Remove {
        listing_id: String,
        removed_on: Date,
        reason: RemovalReason,
    },
}

/// What the sweep needs to know about an organisation.
#[derive(Debug, Clone)]
pub struct OrgFacts {
    pub registered_on: Date,
    pub active: bool,
    pub reported_years: BTreeSet<i32>,
}

/// Returns the same day `years` years later (29 February -> 28 February, 民法典 art. 202).
pub fn years_after(day: Date, years: i32) -> Date {
    birthday_in_year(day, day.year() + years)
}

/// Records the verified correction of an abnormal listing: returns the removal day, 5 working
/// days later (办法 art. 14). A missed report is corrected by filing it ([`report_filed`]).
pub fn correct(
    calendar: &HolidayCalendar,
    listing: &Listing,
    corrected_on: Date,
) -> Result<Date, Refusal> {
    if !listing.in_force_on(corrected_on) {
        return Err(Refusal::ListingNotActive);
    }
    if listing.list == CreditList::Serious {
        return Err(Refusal::NotCorrectable(
            "serious-list listings end on application after two clean years or on deregistration",
        ));
    }
    if listing.trigger == Trigger::MissedAnnualReport {
        return Err(Refusal::NotCorrectable(
            "a missed annual report is corrected by filing it",
        ));
    }
    if listing.corrected_on.is_some() {
        return Err(Refusal::NotCorrectable("the listing is already corrected"));
    }
    Ok(calendar.add_working_days(corrected_on, REMOVAL_WORKING_DAYS))
}

/// Returns the listings a late report for `year` corrects, with their removal day.
pub fn report_filed<'a>(
    calendar: &HolidayCalendar,
    listings: &'a [Listing],
    year: i32,
    filed_on: Date,
) -> Vec<(&'a Listing, Date)> {
    listings
        .iter()
        .filter(|l| l.trigger == Trigger::MissedAnnualReport && l.report_year == Some(year))
        .filter(|l| l.removed_on.is_none() && l.corrected_on.is_none())
        .map(|l| {
            (
                l,
                calendar.add_working_days(filed_on.max(l.listed_on), REMOVAL_WORKING_DAYS),
            )
        })
        .collect()
}

/// Returns the day the escalation clock started for the abnormal-list spell that covers
/// `today`: the latest listing of the spell, because a new breach while listed restarts the
/// clock (办法 art. 13). `None` when the organisation is not on the abnormal list on `today`.
pub fn escalation_clock(listings: &[Listing], today: Date) -> Option<Date> {
    let mut abnormal: Vec<&Listing> = listings
        .iter()
        .filter(|l| l.list == CreditList::Abnormal && l.listed_on <= today)
        .collect();
    abnormal.sort_by_key(|l| l.listed_on);
    // Merge the listing intervals into spells; a removal and a listing on the same day touch.
    let mut spell: Option<(Option<Date>, Date)> = None; // (end, latest listed_on)
    for l in abnormal {
        spell = match spell {
            Some((end, latest)) if end.is_none_or(|e| l.listed_on <= e) => {
                let end = match (end, l.removed_on) {
                    (None, _) | (_, None) => None,
                    (Some(a), Some(b)) => Some(a.max(b)),
                };
                Some((end, latest.max(l.listed_on)))
            }
            _ => Some((l.removed_on, l.listed_on)),
        };
    }
    match spell {
        Some((end, latest)) if end.is_none_or(|e| e > today) => Some(latest),
        _ => None,
    }
}

/// Runs the daily listing rules for one organisation on `today` and returns what to change.
/// Running it twice on the same state returns nothing new the second time, once the first
/// result is applied.
pub fn sweep(
    calendar: &HolidayCalendar,
    org: &OrgFacts,
    listings: &[Listing],
    today: Date,
) -> Vec<Action> {
    if !org.active {
        return Vec::new();
    }
    let mut actions = Vec::new();
    let mut state: Vec<Listing> = listings.to_vec();

    // 1. Non-reporters go on the abnormal list the day after the deadline.
    let year = latest_due_year(calendar, today);
    let already_listed = state
        .iter()
        .any(|l| l.trigger == Trigger::MissedAnnualReport && l.report_year == Some(year));
    if org.registered_on.year() <= year && !org.reported_years.contains(&year) && !already_listed {
        let deadline = report_deadline(calendar, year);
        let listed_on = deadline.next_day().unwrap_or(deadline);
        let new = NewListing {
            list: CreditList::Abnormal,
            trigger: Trigger::MissedAnnualReport,
            listed_on,
            report_year: Some(year),
            evidence: format!("no annual report for {year} on file by the deadline {deadline}"),
        };
        state.push(listing_from(&new));
        actions.push(Action::List(new));
    }

    // 2. Corrected abnormal listings leave the list on their removal day.
    for l in state.iter_mut() {
        if l.list == CreditList::Abnormal
            && l.removed_on.is_none()
            && let Some(due) = l.removal_due.filter(|d| *d <= today)
        {
            l.removed_on = Some(due);
            actions.push(Action::Remove {
                listing_id: l.id.clone(),
                removed_on: due,
                reason: RemovalReason::Corrected,
            });
        }
    }

    // 3. Two years on the abnormal list (clock restarted by each new breach) -> serious list.
    if let Some(clock) = escalation_clock(&state, today) {
        let escalate_on = years_after(clock, LISTING_YEARS);
        if escalate_on <= today {
            actions.push(Action::List(NewListing {
                list: CreditList::Serious,
                trigger: Trigger::AbnormalTwoYears,
                listed_on: escalate_on,
                report_year: None,
                evidence: format!(
                    "on the abnormal list since {clock} without interruption or correction"
                ),
            }));
            for l in state
                .iter()
                .filter(|l| l.list == CreditList::Abnormal && l.in_force_on(escalate_on))
            {
                actions.push(Action::Remove {
                    listing_id: l.id.clone(),
                    removed_on: escalate_on,
                    reason: RemovalReason::Escalated,
                });
            }
        }
    }
    actions
}

fn listing_from(new: &NewListing) -> Listing {
    Listing {
        id: String::new(),
        list: new.list,
        trigger: new.trigger,
        listed_on: new.listed_on,
        report_year: new.report_year,
        corrected_on: None,
        removal_due: None,
        removed_on: None,
        removal_reason: None,
    }
}

/// Removal from the serious list on application: possible two years after the latest listing
/// of any kind (a new breach restarts the clock, 办法 art. 16). Returns the removals.
pub fn serious_list_removal(
    listings: &[Listing],
    applied_on: Date,
) -> Result<Vec<Action>, Refusal> {
    let in_force: Vec<&Listing> = listings
        .iter()
        .filter(|l| l.list == CreditList::Serious && l.in_force_on(applied_on))
        .collect();
    if in_force.is_empty() {
        return Err(Refusal::NotOnSeriousList);
    }
    let latest_breach = listings
        .iter()
        .map(|l| l.listed_on)
        .max()
        .unwrap_or(applied_on);
    let possible_from = years_after(latest_breach, LISTING_YEARS);
    if applied_on < possible_from {
        return Err(Refusal::NotTwoCleanYears { possible_from });
    }
    Ok(in_force
        .into_iter()
        .map(|l| Action::Remove {
            listing_id: l.id.clone(),
            removed_on: applied_on,
            reason: RemovalReason::CleanYears,
        })
        .collect())
}

/// Deregistration ends every listing still in force (办法 art. 17).
pub fn deregistration_removals(listings: &[Listing], deregistered_on: Date) -> Vec<Action> {
    listings
        .iter()
        .filter(|l| l.removed_on.is_none_or(|r| r > deregistered_on))
        .map(|l| Action::Remove {
            listing_id: l.id.clone(),
            removed_on: deregistered_on,
            reason: RemovalReason::Deregistered,
        })
        .collect()
}

#[cfg(test)]
mod tests;
