//! Business-rule refusals of the social-organisation service, each with its stable reason.

/// A rule refused the request. The API maps it to FAILED_PRECONDITION with [`Refusal::reason`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("a social group needs at least 50 individual or 30 unit members (mixed: 50 in total)")]
    TooFewMembers,
    #[error("funds of {found_fen} fen are below the minimum of {minimum_fen} fen")]
    FundsTooLow { found_fen: i64, minimum_fen: i64 },
    #[error("the name may not contain {word:?}: {why}")]
    NameNotAllowed { word: String, why: &'static str },
    #[error("an active organisation of the county already has this name")]
    NameTaken,
    #[error("a supervisory unit is required for this field of activity")]
    SupervisoryUnitRequired,
    #[error("the application cannot be received after the decision")]
    ApplicationInFuture,
    #[error("the organisation is not active (deregistered or revoked)")]
    NotActive,
    #[error("the change names nothing new")]
    NothingToChange,
    #[error("the year {year} has not ended")]
    ReportYearNotEnded { year: i32 },
    #[error("the organisation was registered after {year}; no report is due for it")]
    ReportNotDue { year: i32 },
    #[error("the report for {year} is already filed")]
    ReportAlreadyFiled { year: i32 },
    #[error("the listing is no longer in force")]
    ListingNotActive,
    #[error("{0}")]
    NotCorrectable(&'static str),
    #[error("the organisation is not on the serious dishonesty list")]
    NotOnSeriousList,
    #[error("removal needs two years without a new breach (possible from {possible_from})")]
    NotTwoCleanYears { possible_from: time::Date },
    #[error("rating needs two full years since registration (possible from {possible_from})")]
    RatingTooNew { possible_from: time::Date },
    #[error("last year's annual report was missed or failed inspection")]
    RatingInspection,
    #[error("the organisation was penalised last year or this year")]
    RatingUnderPenalty,
}

impl Refusal {
    /// Returns the stable `ErrorInfo.reason` documented in the proto.
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::TooFewMembers => "SOCIALORG_TOO_FEW_MEMBERS",
            Refusal::FundsTooLow { .. } => "SOCIALORG_FUNDS_TOO_LOW",
            Refusal::NameNotAllowed { .. } => "SOCIALORG_NAME_NOT_ALLOWED",
            Refusal::NameTaken => "SOCIALORG_NAME_TAKEN",
            Refusal::SupervisoryUnitRequired => "SOCIALORG_SUPERVISORY_UNIT_REQUIRED",
            Refusal::ApplicationInFuture => "SOCIALORG_APPLICATION_IN_FUTURE",
            Refusal::NotActive => "SOCIALORG_NOT_ACTIVE",
            Refusal::NothingToChange => "SOCIALORG_NOTHING_TO_CHANGE",
            Refusal::ReportYearNotEnded { .. } => "SOCIALORG_REPORT_YEAR_NOT_ENDED",
            Refusal::ReportNotDue { .. } => "SOCIALORG_REPORT_NOT_DUE",
            Refusal::ReportAlreadyFiled { .. } => "SOCIALORG_REPORT_ALREADY_FILED",
            Refusal::ListingNotActive => "SOCIALORG_LISTING_NOT_ACTIVE",
            Refusal::NotCorrectable(_) => "SOCIALORG_NOT_CORRECTABLE",
            Refusal::NotOnSeriousList => "SOCIALORG_NOT_ON_SERIOUS_LIST",
            Refusal::NotTwoCleanYears { .. } => "SOCIALORG_NOT_TWO_CLEAN_YEARS",
            Refusal::RatingTooNew { .. } => "SOCIALORG_RATING_TOO_NEW",
            Refusal::RatingInspection => "SOCIALORG_RATING_INSPECTION",
            Refusal::RatingUnderPenalty => "SOCIALORG_RATING_UNDER_PENALTY",
        }
    }
}
