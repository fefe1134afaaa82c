//! Offices, slot quotas and bookings. A seat is taken by a conditional UPDATE in the same
//! transaction as the appointment row and the idempotency key, so concurrent bookings never
//! exceed a quota and a retried request id never takes a second seat. Bookings go through the
//! peak-load desk in [`super::booking`] (admission gate, group commit); cancellations and quota
//! changes tell it when seats come back.

use auth::{Principal, Role};
use contracts::civil::marriage::v1 as pb;
use kit::idempotency::once;
use kit::{ServiceError, Violations};

use super::booking::Attempt;
use super::{MarriageApi, audit_entry};
use crate::convert;
use crate::domain::appointment::{self, MAX_QUOTA, SlotCode};
use crate::gate::SlotKey;
use crate::store::{self, AppointmentRow, OfficeRow};

fn valid_office_id(id: &str) -> bool {
    (3..=40).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn purpose_code(purpose: pb::AppointmentPurpose) -> Option<&'static str> {
    Some(match purpose {
        pb::AppointmentPurpose::Marriage => "marriage",
        pb::AppointmentPurpose::DivorceApplication => "divorce_application",
        pb::AppointmentPurpose::DivorceRegistration => "divorce_registration",
        pb::AppointmentPurpose::CertificateReissue => "certificate_reissue",
        pb::AppointmentPurpose::Unspecified => return None,
    })
}

fn purpose_from_code(code: &str) -> pb::AppointmentPurpose {
    match code {
        "marriage" => pb::AppointmentPurpose::Marriage,
        "divorce_application" => pb::AppointmentPurpose::DivorceApplication,
        "divorce_registration" => pb::AppointmentPurpose::DivorceRegistration,
        "certificate_reissue" => pb::AppointmentPurpose::CertificateReissue,
        _ => pb::AppointmentPurpose::Unspecified,
    }
}

pub(super) fn appointment(a: &AppointmentRow) -> pb::Appointment {
    pb::Appointment {
        name: format!("appointments/{}", a.appointment_id),
        appointment_id: a.appointment_id.clone(),
        office_id: a.office_id.clone(),
        date: Some(kit::error::to_proto_date(a.date)),
        slot: a.slot.clone(),
        purpose: purpose_from_code(&a.purpose).into(),
        state: if a.state == "booked" {
            pb::AppointmentState::Booked
        } else {
            pb::AppointmentState::Cancelled
        }
        .into(),
        booked_by: a.booked_by.clone(),
    }
}

fn schedule(office_id: &str, date: time::Date, rows: Vec<store::SlotRow>) -> pb::DaySchedule {
    pb::DaySchedule {
        office_id: office_id.to_owned(),
        date: Some(kit::error::to_proto_date(date)),
        slots: rows
            .into_iter()
            .map(|s| pb::TimeSlot {
                slot: s.slot,
                quota: i32::try_from(s.quota).unwrap_or(i32::MAX),
                booked: i32::try_from(s.booked).unwrap_or(i32::MAX),
                free: i32::try_from(appointment::free_seats(s.quota, s.booked)).unwrap_or(i32::MAX),
            })
            .collect(),
    }
}

/// Citizens book and cancel for themselves anywhere; registrars act for their region.
fn authorize_booking(principal: &Principal, office: &OfficeRow) -> Result<(), tonic::Status> {
    if principal.has_role(Role::Registrar) && principal.covers_region(&office.region_code) {
        return Ok(());
    }
    principal.authorize(&[Role::Citizen], None)
}

impl MarriageApi {
    pub(super) async fn create_office_impl(
        &self,
        principal: &Principal,
        req: pb::CreateOfficeRequest,
    ) -> Result<pb::Office, ServiceError> {
        let mut v = Violations::new();
        v.check(
            valid_office_id(&req.office_id),
            "office_id",
            "must be 3-40 lower-case letters, digits or '-'",
        );
        v.required(&req.display_name, "display_name");
        if let Some(region) = v.region(&req.region_code, "region_code") {
            v.check(
                matches!(region.as_str().len(), 6 | 9),
                "region_code",
                "must be a county (6) or township (9) code",
            );
        }
        v.finish()?;
        principal.authorize(&[Role::Registrar], Some(&req.region_code))?;
        let row = OfficeRow {
            office_id: req.office_id.clone(),
            display_name: req.display_name.trim().to_owned(),
            region_code: req.region_code.clone(),
        };
        let entry = audit_entry(principal, "CreateOffice", &row.office_id);
        once(
            &self.db,
            "CreateOffice",
            &req.request_id,
            &req,
            move |conn| {
                Box::pin(async move {
                    if !store::insert_office(conn, &row, kit::now_ms()).await? {
                        return Err(ServiceError::AlreadyExists(format!(
                            "office {:?}",
                            row.office_id
                        )));
                    }
                    auth::audit::append(conn, &[entry]).await?;
                    Ok(convert::office(&row))
                })
            },
        )
        .await
    }

    pub(super) async fn set_slot_quotas_impl(
        &self,
        principal: &Principal,
        req: pb::SetSlotQuotasRequest,
    ) -> Result<pb::DaySchedule, ServiceError> {
        let mut v = Violations::new();
        v.required(&req.office_id, "office_id");
        let date = v.date(req.date.as_ref(), "date");
        v.check(
            !req.slots.is_empty(),
            "slots",
            "at least one slot is required",
        );
        let mut slots = Vec::new();
        for (i, s) in req.slots.iter().enumerate() {
            match SlotCode::parse(&s.slot) {
                Some(code) if slots.iter().any(|(c, _)| c == &code) => {
                    v.add(&format!("slots[{i}].slot"), "is repeated")
                }
                Some(code) => slots.push((code, i64::from(s.quota))),
                None => v.add(
                    &format!("slots[{i}].slot"),
                    "must be \"HH:MM-HH:MM\" with the start before the end",
                ),
            }
            v.check(
                (0..=MAX_QUOTA).contains(&i64::from(s.quota)),
                &format!("slots[{i}].quota"),
                "must be 0-10000",
            );
        }
        v.finish()?;
        let Some(date) = date else {
            return Err(ServiceError::invalid("date", "is required"));
        };
        // Slot rows are locked in key order, as booking groups lock them (no deadlock).
        slots.sort();
        let office = self.office(&req.office_id).await?;
        principal.authorize(&[Role::Registrar], Some(&office.region_code))?;
        let entry = audit_entry(
            principal,
            "SetSlotQuotas",
            &format!("{}/{date}", office.office_id),
        );
        let changed: Vec<SlotKey> = slots
            .iter()
            .map(|(slot, _)| SlotKey {
                office_id: office.office_id.clone(),
                date,
                slot: slot.as_str().to_owned(),
            })
            .collect();
        let schedule = once(
            &self.db,
            "SetSlotQuotas",
            &req.request_id,
            &req,
            move |conn| {
                Box::pin(async move {
                    for (slot, quota) in &slots {
                        if let Err(booked) = store::set_slot_quota(
                            conn,
                            &office.office_id,
                            date,
                            slot.as_str(),
                            *quota,
                        )
                        .await?
                        {
                            appointment::check_quota_change(*quota, booked)?;
                        }
                    }
                    auth::audit::append(conn, &[entry]).await?;
                    let rows = store::slots_of_day(conn, &office.office_id, date).await?;
                    Ok(schedule(&office.office_id, date, rows))
                })
            },
        )
        .await?;
        for key in &changed {
            self.bookings.quota_changed(key);
        }
        Ok(schedule)
    }

    pub(super) async fn list_free_slots_impl(
        &self,
        req: pb::ListFreeSlotsRequest,
    ) -> Result<pb::DaySchedule, ServiceError> {
        let mut v = Violations::new();
        v.required(&req.office_id, "office_id");
        let date = v.date(req.date.as_ref(), "date");
        v.finish()?;
        let Some(date) = date else {
            return Err(ServiceError::invalid("date", "is required"));
        };
        let office = self.office(&req.office_id).await?;
        let mut conn = self.db.pool.acquire().await?;
        let rows = store::slots_of_day(&mut conn, &office.office_id, date).await?;
        Ok(schedule(&office.office_id, date, rows))
    }

    pub(super) async fn book_appointment_impl(
        &self,
        principal: &Principal,
        req: pb::BookAppointmentRequest,
    ) -> Result<pb::Appointment, ServiceError> {
        let mut v = Violations::new();
        v.required(&req.office_id, "office_id");
        let date = v.date(req.date.as_ref(), "date");
        let slot = SlotCode::parse(&req.slot);
        v.check(
            slot.is_some(),
            "slot",
            "must be \"HH:MM-HH:MM\" with the start before the end",
        );
        let purpose = purpose_code(req.purpose());
        v.check(purpose.is_some(), "purpose", "is required");
        v.finish()?;
        let (Some(date), Some(slot), Some(purpose)) = (date, slot, purpose) else {
            return Err(ServiceError::invalid("slot", "is required"));
        };
        let office = self.office(&req.office_id).await?;
        authorize_booking(principal, &office)?;
        appointment::check_bookable(date, kit::today_cst())?;
        let row = AppointmentRow {
            appointment_id: uuid::Uuid::now_v7().to_string(),
            office_id: office.office_id.clone(),
            date,
            slot: slot.as_str().to_owned(),
            purpose: purpose.to_owned(),
            state: "booked".into(),
            booked_by: principal.subject.clone(),
        };
        let entry = audit_entry(principal, "BookAppointment", &row.appointment_id);
        self.bookings
            .book(Attempt {
                request: req,
                row,
                entry,
            })
            .await
    }

    pub(super) async fn cancel_appointment_impl(
        &self,
        principal: &Principal,
        req: pb::CancelAppointmentRequest,
    ) -> Result<pb::Appointment, ServiceError> {
        let mut v = Violations::new();
        v.required(&req.appointment_id, "appointment_id");
        v.finish()?;
        let existing = {
            let mut conn = self.db.pool.acquire().await?;
            store::get_appointment(&mut conn, &req.appointment_id).await?
        }
        .ok_or_else(|| ServiceError::not_found(format!("appointment {:?}", req.appointment_id)))?;
        let office = self.office(&existing.office_id).await?;
        authorize_booking(principal, &office)?;
        let registrar_here =
            principal.has_role(Role::Registrar) && principal.covers_region(&office.region_code);
        if !registrar_here && existing.booked_by != principal.subject {
            return Err(ServiceError::PermissionDenied(
                "a citizen may cancel only their own appointments".into(),
            ));
        }
        let entry = audit_entry(principal, "CancelAppointment", &existing.appointment_id);
        let key = SlotKey {
            office_id: existing.office_id.clone(),
            date: existing.date,
            slot: existing.slot.clone(),
        };
        let freed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let freed_here = freed.clone();
        let cancelled = once(
            &self.db,
            "CancelAppointment",
            &req.request_id,
            &req,
            move |conn| {
                Box::pin(async move {
                    // Only the transition booked -> cancelled gives the seat back, so a repeated
                    // cancellation (another request id) frees nothing twice.
                    if store::cancel_appointment(conn, &existing.appointment_id, kit::now_ms())
                        .await?
                    {
                        store::release_seat(
                            conn,
                            &existing.office_id,
                            existing.date,
                            &existing.slot,
                        )
                        .await?;
                        auth::audit::append(conn, &[entry]).await?;
                        freed_here.store(true, std::sync::atomic::Ordering::Release);
                    }
                    let row = store::get_appointment(conn, &existing.appointment_id)
                        .await?
                        .ok_or_else(|| ServiceError::not_found("appointment"))?;
                    Ok(appointment(&row))
                })
            },
        )
        .await?;
        // Committed: the seat is back (a replayed or repeated cancellation freed nothing).
        if freed.load(std::sync::atomic::Ordering::Acquire) {
            self.bookings.seat_freed(&key);
        }
        Ok(cancelled)
    }
}
