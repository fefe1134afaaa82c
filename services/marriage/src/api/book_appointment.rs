//! BookAppointment: one seat in a slot, through the peak-day desk ([`super::booking`]:
//! admission gate, group commit). A booking is its own idempotency record, keyed by the
//! caller and the request id on the appointment row, so this RPC does not go through
//! `kit::rpc::Rpc::write` (whose one transaction per call the desk's group commit replaces);
//! the order is the same: caller, authorize, decode, effect.

use auth::{Principal, Role};
use contracts::civil::marriage::v1 as pb;
use kit::{ServiceError, Violations, to_status};
use time::Date;
use tonic::{Request, Response, Status};

use super::MarriageApi;
use super::booking::Attempt;
use crate::convert;
use crate::domain::appointment::{self, SlotCode};
use crate::store::{AppointmentRow, OfficeRow};

/// The audit action of a booking.
pub const ACTION: &str = "marriage.BookAppointment";

pub struct Booking {
    date: Date,
    slot: SlotCode,
    purpose: &'static str,
}

impl TryFrom<&pb::BookAppointmentRequest> for Booking {
    type Error = Violations;

    fn try_from(req: &pb::BookAppointmentRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let date = v.date(req.date.as_ref(), "date");
        let slot = SlotCode::parse(&req.slot);
        let rule = "must be \"HH:MM-HH:MM\" with the start before the end";
        v.check(slot.is_some(), "slot", rule);
        let purpose = convert::purpose_in(req.purpose());
        v.check(purpose.is_some(), "purpose", "is required");
        match (date, slot, purpose) {
            (Some(date), Some(slot), Some(purpose)) if v.is_empty() => Ok(Booking {
                date,
                slot,
                purpose,
            }),
            _ => Err(v),
        }
    }
}

/// Citizens book and cancel for themselves anywhere; registrars act for their region.
pub fn authorize_booking(principal: &Principal, office: &OfficeRow) -> Result<(), ServiceError> {
    if principal.has_role(Role::Registrar) && principal.covers_region(&office.region_code) {
        return Ok(());
    }
    principal
        .authorize(&[Role::Citizen], None)
        .map_err(ServiceError::Status)
}

pub async fn handle(
    api: &MarriageApi,
    request: Request<pb::BookAppointmentRequest>,
) -> Result<Response<pb::Appointment>, Status> {
    let principal = auth::principal(&request)?.clone();
    let req = request.into_inner();
    book(api, &principal, req)
        .await
        .map(Response::new)
        .map_err(to_status)
}

async fn book(
    api: &MarriageApi,
    principal: &Principal,
    req: pb::BookAppointmentRequest,
) -> Result<pb::Appointment, ServiceError> {
    if req.office_id.trim().is_empty() {
        return Err(ServiceError::invalid("office_id", "is required"));
    }
    let office = {
        let mut conn = api.rpc.db().pool.acquire().await?;
        api.offices.get(&mut conn, &req.office_id).await?
    };
    authorize_booking(principal, &office)?;
    let booking = Booking::try_from(&req).map_err(|v| match v.finish() {
        Err(e) => e,
        Ok(()) => ServiceError::invalid("", "the request is not valid"),
    })?;
    appointment::check_bookable(booking.date, api.rpc.clock().today())?;
    let row = AppointmentRow {
        appointment_id: uuid::Uuid::now_v7().to_string(),
        office_id: office.office_id.clone(),
        date: booking.date,
        slot: booking.slot.as_str().to_owned(),
        purpose: booking.purpose.to_owned(),
        state: "booked".into(),
        booked_by: principal.subject.clone(),
    };
    let entry = auth::audit::AuditEntry::new(principal, ACTION, &row.appointment_id)
        .with_trace_id(kit::telemetry::current_trace_id());
    api.bookings
        .book(Attempt {
            request: req,
            row,
            entry,
            now_ms: api.rpc.clock().now_ms(),
        })
        .await
}
