//! Grievances, objections, complaints (申诉 / 异议 / 复核 / 信访 / 行政复议; RULES.md "Second
//! round" §6): the category tree, the deadline of each category counted as the rules give it
//! (working days for objections and complaints, calendar days moved off rest days for 信访 and
//! 行政复议), the time limits for filing, extension, escalation when overdue, and the outcome.
//!
//! Plain types and functions: the service loads and stores, these decide.

use civil_calendar::HolidayCalendar;
use time::Date;

/// The top of the category tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// 异议: an objection during the public notice (最低生活保障审核确认办法 2021).
    Objection,
    /// 投诉举报: a complaint about staff (社会救助暂行办法 art. 63).
    Complaint,
    /// 信访 (信访工作条例 2022).
    Petition,
    /// 行政复议 (行政复议法 2023).
    AdministrativeReview,
}

/// A leaf of the category tree: what the grievance is, hence its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Category {
    /// 公示异议: re-investigation and a new opinion within 15 working days (unconfirmed).
    NoticeObjection,
    /// 投诉: handled within the county's working days (example 15).
    StaffComplaint,
    /// 信访: acceptance decided within 15 days, handled within 60 days of acceptance (+30).
    Petition,
    /// 信访复查: requested within 30 days of the reply, answered within 30 days.
    PetitionReview,
    /// 信访复核: likewise, of the review's answer.
    PetitionReReview,
    /// 行政复议: filed within 60 days of knowing of the act, decided within 60 days (+30).
    AdministrativeReview,
}

/// How a period is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    WorkingDays(u32),
    /// Calendar days from the day after, the end moved off a rest day (民法典 arts. 201, 203).
    CalendarDays(u32),
}

impl Period {
    /// The last day of the period following `from`.
    pub fn end(self, calendar: &HolidayCalendar, from: Date) -> Date {
        match self {
            Period::WorkingDays(n) => calendar.add_working_days(from, n),
            Period::CalendarDays(n) => calendar.period_end(from, n),
        }
    }
}

/// County policy for grievances (the rules leave it to the county).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrievancePolicy {
    /// Working days to handle a complaint (RULES.md §6 example: 15).
    pub complaint_working_days: u32,
}

impl Default for GrievancePolicy {
    fn default() -> Self {
        GrievancePolicy {
            complaint_working_days: 15,
        }
    }
}

/// The categories, in tree order.
pub const CATEGORIES: [Category; 6] = [
    Category::NoticeObjection,
    Category::StaffComplaint,
    Category::Petition,
    Category::PetitionReview,
    Category::PetitionReReview,
    Category::AdministrativeReview,
];

impl Category {
    pub fn group(self) -> Group {
        match self {
            Category::NoticeObjection => Group::Objection,
            Category::StaffComplaint => Group::Complaint,
            Category::Petition | Category::PetitionReview | Category::PetitionReReview => {
                Group::Petition
            }
            Category::AdministrativeReview => Group::AdministrativeReview,
        }
    }

    /// The stored code: `group.leaf`.
    pub fn code(self) -> &'static str {
        match self {
            Category::NoticeObjection => "objection.notice",
            Category::StaffComplaint => "complaint.staff",
            Category::Petition => "petition.first",
            Category::PetitionReview => "petition.review",
            Category::PetitionReReview => "petition.re_review",
            Category::AdministrativeReview => "administrative_review.county",
        }
    }

    pub fn parse(code: &str) -> Option<Category> {
        CATEGORIES.into_iter().find(|c| c.code() == code)
    }

    /// Whether the grievance must first be accepted (信访: 受理 within 15 days).
    pub fn needs_acceptance(self) -> bool {
        self == Category::Petition
    }

    /// The period to handle it, from filing (or from acceptance for a 信访).
    pub fn handling(self, policy: &GrievancePolicy) -> Period {
        match self {
            Category::NoticeObjection => Period::WorkingDays(15),
            Category::StaffComplaint => Period::WorkingDays(policy.complaint_working_days),
            Category::Petition | Category::AdministrativeReview => Period::CalendarDays(60),
            Category::PetitionReview | Category::PetitionReReview => Period::CalendarDays(30),
        }
    }

    /// The period within which it must be filed, after the act or reply it is about.
    pub fn filing_limit(self) -> Option<Period> {
        match self {
            Category::PetitionReview | Category::PetitionReReview => Some(Period::CalendarDays(30)),
            Category::AdministrativeReview => Some(Period::CalendarDays(60)),
            _ => None,
        }
    }

    /// The extension the handling period allows once, with reasons.
    pub fn extension(self) -> Option<Period> {
        match self {
            Category::Petition | Category::AdministrativeReview => Some(Period::CalendarDays(30)),
            _ => None,
        }
    }
}

/// 信访: acceptance is decided within 15 days of receipt.
pub const PETITION_ACCEPTANCE: Period = Period::CalendarDays(15);

/// Why a grievance step is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrievanceRefusal {
    #[error("filed after the time limit, which ended on {0}")]
    TooLate(Date),
    #[error("the date the act became known is required for this category")]
    KnownOnRequired,
    #[error("this category allows no extension, or it was extended already")]
    NotExtendable,
    #[error("the grievance is resolved already")]
    Resolved,
    #[error("a 信访 must be accepted before it is resolved")]
    NotAccepted,
}

impl GrievanceRefusal {
    /// The FAILED_PRECONDITION reason.
    pub fn reason(&self) -> &'static str {
        match self {
            GrievanceRefusal::TooLate(_) => "GRIEVANCE_TIME_LIMIT_PASSED",
            GrievanceRefusal::KnownOnRequired => "GRIEVANCE_KNOWN_ON_REQUIRED",
            GrievanceRefusal::NotExtendable => "GRIEVANCE_NOT_EXTENDABLE",
            GrievanceRefusal::Resolved => "GRIEVANCE_RESOLVED",
            GrievanceRefusal::NotAccepted => "GRIEVANCE_NOT_ACCEPTED",
        }
    }
}

/// The deadline set on filing: for a 信访 the acceptance deadline, else the handling deadline.
/// A category with a filing limit needs the date its act or reply became known, and is refused
/// when filed after the limit.
pub fn on_filing(
    calendar: &HolidayCalendar,
    policy: &GrievancePolicy,
    category: Category,
    filed_on: Date,
    known_on: Option<Date>,
) -> Result<Date, GrievanceRefusal> {
    if let Some(limit) = category.filing_limit() {
        let known_on = known_on.ok_or(GrievanceRefusal::KnownOnRequired)?;
        let last = limit.end(calendar, known_on);
        if filed_on > last {
            return Err(GrievanceRefusal::TooLate(last));
        }
    }
    Ok(if category.needs_acceptance() {
        PETITION_ACCEPTANCE.end(calendar, filed_on)
    } else {
        category.handling(policy).end(calendar, filed_on)
    })
}

/// The handling deadline of a 信访 accepted on `accepted_on`.
pub fn on_acceptance(calendar: &HolidayCalendar, accepted_on: Date) -> Date {
    Category::Petition
        .handling(&GrievancePolicy::default())
        .end(calendar, accepted_on)
}

/// The deadline after the one extension the category allows; the extension follows the first
/// period (it starts the day after its possibly moved end).
pub fn extended(
    calendar: &HolidayCalendar,
    category: Category,
    deadline: Date,
    extended_before: bool,
) -> Result<Date, GrievanceRefusal> {
    match category.extension() {
        Some(Period::CalendarDays(n)) if !extended_before => {
            Ok(calendar.following_period_end(deadline, n))
        }
        Some(Period::WorkingDays(n)) if !extended_before => {
            Ok(calendar.add_working_days(deadline, n))
        }
        _ => Err(GrievanceRefusal::NotExtendable),
    }
}

/// Overdue: unresolved and past its deadline's last day.
pub fn is_overdue(resolved: bool, deadline: Date, today: Date) -> bool {
    !resolved && today > deadline
}

/// Escalation: an overdue grievance not yet escalated goes to the county level once (its owner
/// is answerable to the county approver; 信访工作条例 holds the leaders of the body responsible).
pub fn needs_escalation(resolved: bool, escalated: bool, deadline: Date, today: Date) -> bool {
    is_overdue(resolved, deadline, today) && !escalated
}

/// The outcome of a grievance.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Outcome {
    /// Upheld: the decision was corrected; names the corrected application or benefit.
    Corrected { decision_ref: String, note: String },
    /// Not upheld, with the reasons given in writing.
    Rejected { reasons: String },
}

/// A grievance may be resolved once, and a 信访 only after its acceptance.
pub fn resolve(category: Category, accepted: bool, resolved: bool) -> Result<(), GrievanceRefusal> {
    if resolved {
        return Err(GrievanceRefusal::Resolved);
    }
    if category.needs_acceptance() && !accepted {
        return Err(GrievanceRefusal::NotAccepted);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
