//! A warning's lifecycle: raised -> assigned -> visited (two distinct staff, a date, a finding)
//! -> closed with evidence (a new application, a benefit change, a referral, or an approver's
//! reasoned dismissal; RULES.md §7 "Closure"). A second signal on a household with an open
//! warning joins it; an open warning past its due date is overdue and escalates to the county.

use serde::{Deserialize, Serialize};
use time::Date;

use super::Level;
use super::rules::Verdict;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Raised,
    Assigned,
    Visited,
    Closed,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Raised => "raised",
            State::Assigned => "assigned",
            State::Visited => "visited",
            State::Closed => "closed",
        }
    }

    pub fn parse(text: &str) -> Option<State> {
        [
            State::Raised,
            State::Assigned,
            State::Visited,
            State::Closed,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// One member of the visiting pair: subject and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Staff {
    pub subject: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visit {
    #[serde(with = "super::date_text")]
    pub date: Date,
    pub staff: Vec<Staff>,
    pub finding: String,
    pub recorded_by: String,
}

/// What a closure points to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Evidence {
    Application { id: String },
    BenefitChange { id: String },
    Referral { to: String },
    Dismissal,
}

impl Evidence {
    pub fn kind_str(&self) -> &'static str {
        match self {
            Evidence::Application { .. } => "application",
            Evidence::BenefitChange { .. } => "benefit_change",
            Evidence::Referral { .. } => "referral",
            Evidence::Dismissal => "dismissal",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closure {
    pub evidence: Evidence,
    pub reason: String,
    pub closed_by: String,
    #[serde(with = "super::date_text")]
    pub closed_on: Date,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub level: Level,
    pub state: State,
    pub owner_region: String,
    pub assignee: Option<String>,
    pub raised_on: Date,
    pub due_on: Date,
    pub escalated: bool,
    pub rule: String,
    pub visit: Option<Visit>,
    pub closure: Option<Closure>,
}

/// What the store found about the evidence a closure names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceFacts {
    /// The application or benefit covers a member of the warning's household.
    pub of_household: bool,
    /// When the application was submitted, or the benefit last changed.
    pub dated: Option<Date>,
}

/// Who closes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closer {
    pub subject: String,
    pub is_approver: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WarningRefusal {
    #[error("the warning is closed")]
    Closed,
    #[error("the warning is not assigned to anyone yet")]
    NotAssigned,
    #[error("the visit date must be between the day the warning was raised and today")]
    VisitDate,
    #[error("the warning has no visit recorded")]
    NotVisited,
    #[error(
        "a warning is closed only with evidence: an application, a benefit change, a referral or an approver's dismissal"
    )]
    EvidenceRequired,
    #[error("the application or benefit named is not of this household")]
    OtherHousehold,
    #[error("the application or benefit change predates the warning")]
    BeforeWarning,
    #[error("a dismissal is approved by a county approver who did not make the visit")]
    DismissalNeedsApprover,
}

impl kit::rpc::Refusal for WarningRefusal {
    fn reason(&self) -> &'static str {
        match self {
            WarningRefusal::Closed => "MONITORING_WARNING_CLOSED",
            WarningRefusal::NotAssigned => "MONITORING_NOT_ASSIGNED",
            WarningRefusal::VisitDate => "MONITORING_VISIT_DATE",
            WarningRefusal::NotVisited => "MONITORING_NOT_VISITED",
            WarningRefusal::EvidenceRequired => "MONITORING_EVIDENCE_REQUIRED",
            WarningRefusal::OtherHousehold => "MONITORING_EVIDENCE_OTHER_HOUSEHOLD",
            WarningRefusal::BeforeWarning => "MONITORING_EVIDENCE_BEFORE_WARNING",
            WarningRefusal::DismissalNeedsApprover => "MONITORING_DISMISSAL_NEEDS_APPROVER",
        }
    }
}

/// A new warning from the rules' verdict, owned by `owner_region`, due on `due_on`.
pub fn raise(verdict: &Verdict, owner_region: &str, today: Date, due_on: Date) -> Warning {
    Warning {
        level: verdict.level,
        state: State::Raised,
        owner_region: owner_region.to_owned(),
        assignee: None,
        raised_on: today,
        due_on,
        escalated: false,
        rule: verdict.rule.clone(),
        visit: None,
        closure: None,
    }
}

/// A further signal joins the open warning: a more urgent level replaces the level and its
/// rule, and the due date becomes the earlier of the two. Returns whether anything changed.
pub fn merge(w: &mut Warning, verdict: &Verdict, due_on: Date) -> bool {
    let before = (w.level, w.due_on);
    if verdict.level > w.level {
        w.level = verdict.level;
        w.rule = verdict.rule.clone();
    }
    w.due_on = w.due_on.min(due_on);
    before != (w.level, w.due_on)
}

pub fn is_open(w: &Warning) -> bool {
    w.state != State::Closed
}

/// Open and past its due date (the due date itself is in time).
pub fn is_overdue(w: &Warning, today: Date) -> bool {
    is_open(w) && today > w.due_on
}

/// Assigns (or reassigns) the warning to a clerk.
pub fn assign(w: &mut Warning, assignee: &str) -> Result<(), WarningRefusal> {
    if !is_open(w) {
        return Err(WarningRefusal::Closed);
    }
    w.assignee = Some(assignee.to_owned());
    if w.state == State::Raised {
        w.state = State::Assigned;
    }
    Ok(())
}

/// Two staff, distinct and named (checked when the request is decoded).
pub fn two_distinct_staff(staff: &[Staff]) -> bool {
    staff.len() == 2
        && staff[0].subject != staff[1].subject
        && staff.iter().all(|s| !s.subject.trim().is_empty())
}

/// Records the home visit on an assigned warning.
pub fn record_visit(w: &mut Warning, visit: Visit, today: Date) -> Result<(), WarningRefusal> {
    if !is_open(w) {
        return Err(WarningRefusal::Closed);
    }
    if w.state == State::Raised {
        return Err(WarningRefusal::NotAssigned);
    }
    if visit.date < w.raised_on || visit.date > today {
        return Err(WarningRefusal::VisitDate);
    }
    w.visit = Some(visit);
    w.state = State::Visited;
    Ok(())
}

/// Closes a visited warning with its evidence.
pub fn close(
    w: &mut Warning,
    evidence: Option<Evidence>,
    facts: Option<&EvidenceFacts>,
    closer: &Closer,
    reason: &str,
    today: Date,
) -> Result<(), WarningRefusal> {
    if !is_open(w) {
        return Err(WarningRefusal::Closed);
    }
    let Some(visit) = w.visit.as_ref() else {
        return Err(WarningRefusal::NotVisited);
    };
    let Some(evidence) = evidence else {
        return Err(WarningRefusal::EvidenceRequired);
    };
    match &evidence {
        Evidence::Application { .. } | Evidence::BenefitChange { .. } => {
            let facts = facts.ok_or(WarningRefusal::EvidenceRequired)?;
            if !facts.of_household {
                return Err(WarningRefusal::OtherHousehold);
            }
            if facts.dated.is_none_or(|d| d < w.raised_on) {
                return Err(WarningRefusal::BeforeWarning);
            }
        }
        Evidence::Dismissal => {
            let visited = visit.staff.iter().any(|s| s.subject == closer.subject);
            if !closer.is_approver || visited {
                return Err(WarningRefusal::DismissalNeedsApprover);
            }
        }
        Evidence::Referral { .. } => {}
    }
    w.closure = Some(Closure {
        evidence,
        reason: reason.to_owned(),
        closed_by: closer.subject.clone(),
        closed_on: today,
    });
    w.state = State::Closed;
    Ok(())
}

/// Escalates an overdue, not yet escalated warning to the county. Returns whether it did.
pub fn escalate(w: &mut Warning, today: Date) -> bool {
    if is_overdue(w, today) && !w.escalated {
        w.escalated = true;
        return true;
    }
    false
}

/// For a closed warning: whether it was closed by its due date.
pub fn closed_in_time(w: &Warning) -> Option<bool> {
    w.closure.as_ref().map(|c| c.closed_on <= w.due_on)
}

#[cfg(test)]
#[path = "warning_tests.rs"]
mod tests;
