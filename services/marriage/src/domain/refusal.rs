//! Why the registry refuses: one variant per rule, each with a stable reason code that calling
//! systems branch on. Messages never name a party or an identity number.

/// A business-rule refusal (FAILED_PRECONDITION, except [`Refusal::SlotFull`] which is
/// RESOURCE_EXHAUSTED).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("both parties must appear in person; no agent and no one-party application")]
    NotInPerson,
    #[error(
        "the parties are direct blood relatives or collateral relatives within three generations"
    )]
    ProhibitedRelatives,
    #[error("each party must declare marrying of their own free will (art. 1046)")]
    NoConsent,
    #[error("the marriage is not in this registry (not registered here, or no such number)")]
    NotInRegistry,
    #[error("both parties are the same person")]
    SamePerson,
    #[error("a marriage is concluded between a man and a woman")]
    SameSex,
    #[error("the {party} is under the legal age of {minimum} on the registration date")]
    Underage { party: &'static str, minimum: u32 },
    #[error("the {party} is currently married")]
    AlreadyMarried { party: &'static str },
    #[error(
        "the national marriage database records a marriage in force of the {party}, registered by an office in province {province}0000"
    )]
    AlreadyMarriedNationally {
        party: &'static str,
        province: String,
    },
    #[error(
        "a marriage with a Hong Kong, Macao or Taiwan resident, an overseas Chinese or a foreigner is registered only by the provincial civil affairs department or an office it designates (婚姻登记条例 2025 art. 2); this office is not designated"
    )]
    OfficeNotCompetent,
    #[error(
        "neither party is a mainland resident: the rules for such a registration are the ministry's, not a county office's"
    )]
    NonMainlandParties,
    #[error(
        "the national marriage database did not answer ({detail}); the online check (联网核对) is required: retry later, or a county approver may record an override"
    )]
    NationalCheckUnavailable { detail: String },
    #[error("the death of the {party} is recorded")]
    PartyDeceased { party: &'static str },
    #[error("the persons are not the parties of this marriage")]
    PartiesMismatch,
    #[error("the marriage is no longer in effect")]
    NotInEffect,
    #[error("a divorce by registration needs a written agreement")]
    AgreementMissing,
    #[error("both parties must be of full civil capacity")]
    CivilCapacity,
    #[error("a divorce application for this marriage is already open")]
    DivorcePending,
    #[error(
        "the cooling-off period ended on {deadline}; the application can no longer be withdrawn"
    )]
    WithdrawalPeriodOver { deadline: time::Date },
    #[error("the divorce application is already closed")]
    ApplicationClosed,
    #[error("the cooling-off period runs until {deadline}")]
    CoolingOffNotElapsed { deadline: time::Date },
    #[error("no joint appearance by {deadline}: the application is deemed withdrawn")]
    ApplicationExpired { deadline: time::Date },
    #[error("the certificate is issued by the office that accepted the application")]
    WrongOffice,
    #[error("a slot's quota may not drop below the {booked} seats already booked")]
    QuotaBelowBooked { booked: i64 },
    #[error("the office offers no such slot on that day")]
    SlotNotOffered,
    #[error("the slot's day has passed")]
    SlotInPast,
    #[error("no seat left in the slot")]
    SlotFull,
    #[error("no certificate serial left for this office and year")]
    SerialsExhausted,
}

impl Refusal {
    /// Returns the stable `ErrorInfo.reason`, documented on the RPCs in marriage.proto.
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::NotInPerson => "MARRIAGE_NOT_IN_PERSON",
            Refusal::ProhibitedRelatives => "MARRIAGE_PROHIBITED_RELATIVES",
            Refusal::NoConsent => "MARRIAGE_NO_CONSENT",
            Refusal::NotInRegistry => "MARRIAGE_NOT_IN_REGISTRY",
            Refusal::SamePerson => "MARRIAGE_SAME_PERSON",
            Refusal::SameSex => "MARRIAGE_SAME_SEX",
            Refusal::Underage { .. } => "MARRIAGE_UNDERAGE",
            Refusal::AlreadyMarried { .. } | Refusal::AlreadyMarriedNationally { .. } => {
                "MARRIAGE_ALREADY_MARRIED"
            }
            Refusal::OfficeNotCompetent => "MARRIAGE_OFFICE_NOT_COMPETENT",
            Refusal::NonMainlandParties => "MARRIAGE_NON_MAINLAND_PARTIES",
            Refusal::NationalCheckUnavailable { .. } => "MARRIAGE_NATIONAL_CHECK_UNAVAILABLE",
            Refusal::PartyDeceased { .. } => "MARRIAGE_PARTY_DECEASED",
            Refusal::PartiesMismatch => "MARRIAGE_PARTIES_MISMATCH",
            Refusal::NotInEffect => "MARRIAGE_NOT_IN_EFFECT",
            Refusal::AgreementMissing => "MARRIAGE_DIVORCE_AGREEMENT_MISSING",
            Refusal::CivilCapacity => "MARRIAGE_CIVIL_CAPACITY",
            Refusal::DivorcePending => "MARRIAGE_DIVORCE_PENDING",
            Refusal::WithdrawalPeriodOver { .. } => "MARRIAGE_WITHDRAWAL_PERIOD_OVER",
            Refusal::ApplicationClosed => "MARRIAGE_DIVORCE_APPLICATION_CLOSED",
            Refusal::CoolingOffNotElapsed { .. } => "MARRIAGE_COOLING_OFF_NOT_ELAPSED",
            Refusal::ApplicationExpired { .. } => "MARRIAGE_DIVORCE_APPLICATION_EXPIRED",
            Refusal::WrongOffice => "MARRIAGE_WRONG_OFFICE",
            Refusal::QuotaBelowBooked { .. } => "MARRIAGE_QUOTA_BELOW_BOOKED",
            Refusal::SlotNotOffered => "MARRIAGE_SLOT_NOT_OFFERED",
            Refusal::SlotInPast => "MARRIAGE_SLOT_IN_PAST",
            Refusal::SlotFull => "MARRIAGE_SLOT_FULL",
            Refusal::SerialsExhausted => "MARRIAGE_SERIALS_EXHAUSTED",
        }
    }
}
