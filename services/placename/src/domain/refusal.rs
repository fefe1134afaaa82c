//! Business-rule refusals of the place-name service, each with its stable reason.

/// A rule refused the request. The API maps it to FAILED_PRECONDITION with [`Refusal::reason`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{name} already exists within the scope of art. 9 ({scope})")]
    Duplicate { name: String, scope: String },
    #[error("the name contains the person's name {0:?} (art. 10)")]
    PersonName(String),
    #[error("the name contains the foreign name {0:?} (art. 10, 洋)")]
    ForeignName(String),
    #[error("the name contains rare characters {0:?} outside the standard character table")]
    RareCharacter(String),
    #[error("the name contains {0:?}, an exaggerated word (art. 10, 大)")]
    Exaggerated(String),
    #[error("only a place name in use may be renamed")]
    NotInUse,
    #[error("the application is at stage {stage}, not {expected}")]
    WrongStage {
        stage: &'static str,
        expected: &'static str,
    },
    #[error("the review does not address the warnings {0:?}")]
    WarningNotAddressed(Vec<String>),
    #[error("renaming a protected historic name needs a heritage assessment in the expert review")]
    HeritageReviewRequired,
    #[error("the expert review was unfavourable")]
    ReviewUnfavourable,
    #[error("filing and announcement cannot precede the approval")]
    BeforeApproval,
    #[error("house numbers are allocated on roads (category ROAD) only")]
    NotARoad,
    #[error("no house number keeps the order at position {position_m} m on this side")]
    NoNumberSlot { position_m: i64 },
}

impl Refusal {
    /// Returns the stable `ErrorInfo.reason` documented in the proto.
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::Duplicate { .. } => "PLACENAME_DUPLICATE",
            Refusal::PersonName(_) => "PLACENAME_PERSON_NAME",
            Refusal::ForeignName(_) => "PLACENAME_FOREIGN_NAME",
            Refusal::RareCharacter(_) => "PLACENAME_RARE_CHARACTER",
            Refusal::Exaggerated(_) => "PLACENAME_EXAGGERATED",
            Refusal::NotInUse => "PLACENAME_NOT_IN_USE",
            Refusal::WrongStage { .. } => "PLACENAME_WRONG_STAGE",
            Refusal::WarningNotAddressed(_) => "PLACENAME_WARNING_NOT_ADDRESSED",
            Refusal::HeritageReviewRequired => "PLACENAME_HERITAGE_REVIEW_REQUIRED",
            Refusal::ReviewUnfavourable => "PLACENAME_REVIEW_UNFAVOURABLE",
            Refusal::BeforeApproval => "PLACENAME_BEFORE_APPROVAL",
            Refusal::NotARoad => "PLACENAME_NOT_A_ROAD",
            Refusal::NoNumberSlot { .. } => "PLACENAME_NO_NUMBER_SLOT",
        }
    }
}
