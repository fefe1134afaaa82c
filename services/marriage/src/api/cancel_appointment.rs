//! CancelAppointment: frees a booking's seat. Cancelling a cancelled appointment returns it
//! unchanged and frees nothing twice.

use auth::Role;
use contracts::civil::marriage::v1 as pb;
use kit::rpc::Call;
use kit::{ServiceError, Violations};
use tonic::{Request, Response, Status};

use super::MarriageApi;
use super::book_appointment::authorize_booking;
use crate::convert;
use crate::gate::SlotKey;
use crate::store::{self, AppointmentRow};

pub struct Cancellation;

impl TryFrom<pb::CancelAppointmentRequest> for Cancellation {
    type Error = Violations;

    fn try_from(_: pb::CancelAppointmentRequest) -> Result<Self, Violations> {
        Ok(Cancellation)
    }
}

/// Loads the appointment for a caller who may cancel it: its citizen, or a registrar of the
/// office's region.
async fn authorized_appointment(
    c: &mut Call,
    api: &MarriageApi,
    id: &str,
) -> Result<AppointmentRow, ServiceError> {
    if id.trim().is_empty() {
        return Err(ServiceError::invalid("appointment_id", "is required"));
    }
    c.object(format!("appointments/{id}"));
    let existing = store::get_appointment(c.db(), id)
        .await?
        .ok_or_else(|| ServiceError::not_found(format!("appointment {id:?}")))?;
    let office = api.offices.get(c.db(), &existing.office_id).await?;
    authorize_booking(c.principal(), &office)?;
    let registrar_here =
        c.principal().has_role(Role::Registrar) && c.principal().covers_region(&office.region_code);
    if !registrar_here && existing.booked_by != c.principal().subject {
        return Err(ServiceError::PermissionDenied(
            "a citizen may cancel only their own appointments".into(),
        ));
    }
    Ok(existing)
}

pub async fn handle(
    api: &MarriageApi,
    request: Request<pb::CancelAppointmentRequest>,
) -> Result<Response<pb::Appointment>, Status> {
    let mut freed = None;
    let answer = api
        .rpc
        .write(
            request,
            async |c, req| authorized_appointment(c, api, &req.appointment_id).await,
            async |c, Cancellation, existing| {
                // Only the transition booked -> cancelled gives the seat back.
                let id = &existing.appointment_id;
                let now = c.now_ms();
                if store::cancel_appointment(c.db(), id, now).await? {
                    let (office_id, date, slot) =
                        (&existing.office_id, existing.date, &existing.slot);
                    store::release_seat(c.db(), office_id, date, slot).await?;
                    freed = Some(SlotKey {
                        office_id: office_id.clone(),
                        date,
                        slot: slot.clone(),
                    });
                }
                let row = store::get_appointment(c.db(), id)
                    .await?
                    .ok_or_else(|| ServiceError::not_found("appointment"))?;
                Ok(convert::appointment(&row))
            },
        )
        .await?;
    // Committed: the seat is back (a replayed or repeated cancellation freed nothing).
    if let Some(key) = &freed {
        api.bookings.seat_freed(key);
    }
    Ok(answer)
}
