//! Refusals of funeral rules, each with its stable reason (documented in funeral.proto).

/// A business rule refuses the request (FAILED_PRECONDITION with `reason()`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the burial place lies in a cremation zone and no burial-custom exemption applies")]
    CremationZone,
    #[error("the body was already cremated or buried")]
    BodyDisposed,
    #[error("every furnace of this slot is booked")]
    SlotFull,
    #[error("slot {0} is not one of the county's daily cremation slots")]
    SlotUnknown(i32),
    #[error("a cremation cannot be booked for a past day")]
    BookingInPast,
    #[error("the case already has a cremation booking")]
    AlreadyBooked,
    #[error("the case has no cremation booking")]
    NotBooked,
    #[error("the case has no ashes yet")]
    NotCremated,
    #[error("the ashes already reached their final place")]
    AshesPlaced,
    #[error(
        "graves are not allowed on farmland, in parks or scenic areas, near reservoirs or along trunk roads"
    )]
    SiteForbidden,
    #[error("plots are leased only for deceased persons")]
    PlotForLiving,
    #[error("the plot area {area_dm2} dm2 exceeds the limit of {limit_dm2} dm2")]
    PlotTooLarge { area_dm2: i32, limit_dm2: i32 },
    #[error("the plot is leased or reserved")]
    PlotTaken,
    #[error("the plot is reserved for another person and reservations are not transferable")]
    PlotResale,
    #[error("the deceased's plot already has a spouse reservation")]
    ReservationExists,
    #[error("the neighbouring plot holds no deceased person")]
    PlotNotLeased,
    #[error("the spouse has a death case: lease the plot instead of reserving it")]
    SpouseDeceased,
    #[error(
        "the ashes trail already has an entry from {last}: a new holder cannot start before it"
    )]
    AshesTrailOrder { last: String },
    #[error("the county does not allow plot lease transfers")]
    TransferNotAllowed,
    #[error("the county allows one deceased per plot (no family plots)")]
    ClanPlotNotAllowed,
    #[error("the plot already holds the county's maximum of {max} deceased persons")]
    ClanPlotFull { max: u32 },
}

impl Refusal {
    /// Returns the stable `ErrorInfo.reason`.
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::CremationZone => "FUNERAL_CREMATION_ZONE",
            Refusal::BodyDisposed => "FUNERAL_BODY_DISPOSED",
            Refusal::SlotFull => "FUNERAL_SLOT_FULL",
            Refusal::SlotUnknown(_) => "FUNERAL_SLOT_UNKNOWN",
            Refusal::BookingInPast => "FUNERAL_BOOKING_IN_PAST",
            Refusal::AlreadyBooked => "FUNERAL_ALREADY_BOOKED",
            Refusal::NotBooked => "FUNERAL_NOT_BOOKED",
            Refusal::NotCremated => "FUNERAL_NOT_CREMATED",
            Refusal::AshesPlaced => "FUNERAL_ASHES_PLACED",
            Refusal::SiteForbidden => "FUNERAL_SITE_FORBIDDEN",
            Refusal::PlotForLiving => "FUNERAL_PLOT_FOR_LIVING",
            Refusal::PlotTooLarge { .. } => "FUNERAL_PLOT_TOO_LARGE",
            Refusal::PlotTaken => "FUNERAL_PLOT_TAKEN",
            Refusal::PlotResale => "FUNERAL_PLOT_RESALE",
            Refusal::ReservationExists => "FUNERAL_RESERVATION_EXISTS",
            Refusal::PlotNotLeased => "FUNERAL_PLOT_NOT_LEASED",
            Refusal::SpouseDeceased => "FUNERAL_SPOUSE_DECEASED",
            Refusal::AshesTrailOrder { .. } => "FUNERAL_ASHES_TRAIL_ORDER",
            Refusal::TransferNotAllowed => "FUNERAL_TRANSFER_NOT_ALLOWED",
            Refusal::ClanPlotNotAllowed => "FUNERAL_CLAN_PLOT_NOT_ALLOWED",
            Refusal::ClanPlotFull { .. } => "FUNERAL_CLAN_PLOT_FULL",
        }
    }
}
