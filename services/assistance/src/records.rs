//! What the store keeps per application and benefit. Serialised as JSON and sealed as a whole,
//! because household data (identity numbers, income, property, health) is sensitive personal
//! information (PIPL art. 28).

use serde::{Deserialize, Serialize};
use time::Date;
use time::macros::format_description;

use crate::domain::allowance::Computation;
use crate::domain::application::ApplicationState;
use crate::domain::benefit::{BenefitKind, TerminationReason, Terms};
use crate::domain::household::Household;
use crate::domain::month::Month;

pub fn fmt_date(date: Date) -> String {
    date.format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

pub fn parse_date(text: &str) -> Option<Date> {
    Date::parse(text, format_description!("[year]-[month]-[day]")).ok()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visit {
    pub date: String,
    pub staff: Vec<String>,
    pub staff_names: Vec<String>,
    pub findings: String,
    pub recorded_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckRecord {
    pub report_id: String,
    pub authorisation_reference: String,
    pub authorisation_signed_on: String,
    pub income_fen: money::Fen,
    pub financial_fen: money::Fen,
    pub houses: i32,
    pub vehicles: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeRecord {
    pub start: String,
    pub end: String,
    pub objections: Vec<String>,
    /// The notice as posted (composed by the service; no minors, masked identities).
    #[serde(default)]
    pub text: String,
}

/// An extension of the review deadline (审核确认办法 art. 12).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtensionRecord {
    pub previous_deadline: String,
    pub new_deadline: String,
    pub reason: String,
    pub approved_by: String,
    pub recorded_on: String,
}

/// One change of a benefit: what moved, from when, why, who decided, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRecord {
    pub from_month: Month,
    pub reason: String,
    pub decided_by: String,
    pub decided_on: String,
    pub monthly_amount_fen: money::Fen,
}

/// A review of a benefit's household composition (OpenHouseholdReview).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HouseholdReviewRecord {
    pub id: String,
    /// `marriage`.
    pub cause: String,
    pub reference: String,
    pub changed_on: String,
    pub opened_on: String,
    pub opened_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRecord {
    pub approved: bool,
    pub decided_on: String,
    pub decided_by: String,
    pub reasons: Vec<String>,
    pub computation: Option<Computation>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationRecord {
    pub id: String,
    pub kind: BenefitKind,
    pub channel: i32,
    pub state: ApplicationState,
    pub household: Household,
    pub individual: Option<String>,
    pub institutional: bool,
    /// Subjects of staff the applicant is a close relative of.
    pub related_staff: Vec<String>,
    pub submitted_on: String,
    pub accepted_on: Option<String>,
    pub deadline: Option<String>,
    pub visits: Vec<Visit>,
    pub check: Option<CheckRecord>,
    pub notice: Option<NoticeRecord>,
    pub decision: Option<DecisionRecord>,
    pub benefit_id: Option<String>,
    #[serde(default)]
    pub extensions: Vec<ExtensionRecord>,
    /// 特困: investigation deadline (15 working days after acceptance).
    #[serde(default)]
    pub investigation_deadline: Option<String>,
    /// 特困: confirmation deadline (10 working days after the notice ends).
    #[serde(default)]
    pub confirmation_deadline: Option<String>,
    #[serde(skip)]
    pub version: i64,
}

impl ApplicationRecord {
    pub fn flagged(&self) -> bool {
        !self.related_staff.is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BenefitState {
    Active,
    PhaseOut,
    Terminated,
}

impl BenefitState {
    pub fn as_str(self) -> &'static str {
        match self {
            BenefitState::Active => "active",
            BenefitState::PhaseOut => "phase_out",
            BenefitState::Terminated => "terminated",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminationRecord {
    pub reason: TerminationReason,
    pub effective_month: Month,
    pub decided_by: String,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BenefitRecord {
    pub id: String,
    pub application_id: Option<String>,
    pub state: BenefitState,
    pub approved_on: String,
    pub approved_by: String,
    pub terms: Terms,
    /// The current computation (at approval, then after each change), with its policy version.
    pub computation: Computation,
    pub termination: Option<TerminationRecord>,
    /// 临时救助 only.
    pub emergency: bool,
    /// 先行救助: an emergency grant's paperwork (pending, then completed or recovered).
    #[serde(default)]
    pub paperwork: Option<crate::domain::temporary::Paperwork>,
    pub circumstances: String,
    pub next_review: String,
    /// Every change, oldest first (approval included).
    #[serde(default)]
    pub history: Vec<ChangeRecord>,
    /// Household-composition reviews, oldest first.
    #[serde(default)]
    pub household_reviews: Vec<HouseholdReviewRecord>,
    #[serde(skip)]
    pub version: i64,
}

impl BenefitRecord {
    pub fn kind(&self) -> BenefitKind {
        self.terms.kind
    }

    pub fn region(&self) -> &str {
        &self.terms.revisions[0].household.region
    }

    /// Appends a change to the benefit's history.
    pub fn record_history(&mut self, from_month: Month, reason: &str, by: &str, on: Date) {
        self.history.push(ChangeRecord {
            from_month,
            reason: reason.to_owned(),
            decided_by: by.to_owned(),
            decided_on: fmt_date(on),
            monthly_amount_fen: if self.state == BenefitState::Terminated {
                money::Fen::ZERO
            } else {
                self.computation.total_fen
            },
        });
    }
}

pub fn kind_str(kind: BenefitKind) -> &'static str {
    match kind {
        BenefitKind::MinimumLiving => "minimum_living",
        BenefitKind::NearThreshold => "near_threshold",
        BenefitKind::ExtremePoverty => "extreme_poverty",
        BenefitKind::Temporary => "temporary",
    }
}

pub fn state_str(state: ApplicationState) -> &'static str {
    match state {
        ApplicationState::Submitted => "submitted",
        ApplicationState::Accepted => "accepted",
        ApplicationState::Investigated => "investigated",
        ApplicationState::Checked => "checked",
        ApplicationState::Notice => "notice",
        ApplicationState::Reinvestigation => "reinvestigation",
        ApplicationState::Approved => "approved",
        ApplicationState::Refused => "refused",
    }
}
