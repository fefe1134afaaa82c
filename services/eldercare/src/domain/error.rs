//! Refusals of eldercare rules, each with its stable reason (documented in eldercare.proto).

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the roll of a month is built once the month has started")]
    RollMonthOpen,
    #[error("the elder is recorded as deceased")]
    ElderDeceased,
    #[error("the scores reach no grade")]
    BelowGradeOne,
    #[error("no free bed of the requested type")]
    NoFreeBed,
    #[error("the elder is already resident in an institution")]
    AlreadyAdmitted,
    #[error("the elder is not resident in this institution")]
    NotAdmitted,
    #[error("a different date of death is on record")]
    DeathDateConflict,
    #[error("grants cannot be run for a day that has not come yet")]
    GrantDayNotReached,
    #[error("the day is further back than the county's catch-up window for grants")]
    GrantDayPastCatchUp,
    #[error("the bed is occupied")]
    BedTaken,
    #[error("the bed already has this type")]
    BedTypeUnchanged,
    #[error("the discharge day precedes the admission day")]
    DischargeBeforeAdmission,
}

impl Refusal {
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::RollMonthOpen => "ELDERCARE_ROLL_MONTH_OPEN",
            Refusal::ElderDeceased => "ELDERCARE_ELDER_DECEASED",
            Refusal::BelowGradeOne => "ELDERCARE_BELOW_GRADE_ONE",
            Refusal::NoFreeBed => "ELDERCARE_NO_FREE_BED",
            Refusal::AlreadyAdmitted => "ELDERCARE_ALREADY_ADMITTED",
            Refusal::NotAdmitted => "ELDERCARE_NOT_ADMITTED",
            Refusal::DeathDateConflict => "ELDERCARE_DEATH_DATE_CONFLICT",
            Refusal::GrantDayNotReached => "ELDERCARE_GRANT_DAY_NOT_REACHED",
            Refusal::GrantDayPastCatchUp => "ELDERCARE_GRANT_DAY_PAST_CATCH_UP",
            Refusal::BedTaken => "ELDERCARE_BED_TAKEN",
            Refusal::BedTypeUnchanged => "ELDERCARE_BED_TYPE_UNCHANGED",
            Refusal::DischargeBeforeAdmission => "ELDERCARE_DISCHARGE_BEFORE_ADMISSION",
        }
    }
}
