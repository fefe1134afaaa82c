//! Business-rule refusals of the place-name service, each with its stable reason.

/// The record a refusal points at (e.g. the existing name a proposal duplicates).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRef {
    pub id: String,
    /// 地名代码.
    pub code: String,
    pub region: String,
}

/// A rule refused the request. The API maps it to FAILED_PRECONDITION with [`Refusal::reason`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{name} already exists within the scope of art. 9 ({scope}): record {} ({})", existing.code, existing.region)]
    Duplicate {
        name: String,
        scope: String,
        existing: RecordRef,
    },
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
    #[error("house number {0} is already given on this road")]
    NumberTaken(String),
    #[error("house number {number} belongs on the {belongs} side (odd left, even right)")]
    NumberWrongSide { number: i32, belongs: &'static str },
    #[error("house number {label} at {position_m} m would break the order ({neighbour})")]
    NumberOutOfOrder {
        label: String,
        position_m: i64,
        neighbour: String,
    },
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
            Refusal::NumberTaken(_) => "PLACENAME_NUMBER_TAKEN",
            Refusal::NumberWrongSide { .. } => "PLACENAME_NUMBER_WRONG_SIDE",
            Refusal::NumberOutOfOrder { .. } => "PLACENAME_NUMBER_OUT_OF_ORDER",
        }
    }
}
