//! SetSlotQuotas: the appointment quota of an office's time slots on one day. A quota never
//! drops below the seats already booked.

use contracts::civil::marriage::v1 as pb;
use kit::Violations;
use time::Date;
use tonic::{Request, Response, Status};

use super::MarriageApi;
use super::shared::registrar_office;
use crate::convert;
use crate::domain::appointment::{self, MAX_QUOTA, SlotCode};
use crate::gate::SlotKey;
use crate::store;

/// The day and its slots with their quotas, in key order (slot rows are locked in that order,
/// as booking groups lock them: no deadlock).
pub struct Quotas {
    date: Date,
    slots: Vec<(SlotCode, i64)>,
}

impl TryFrom<pb::SetSlotQuotasRequest> for Quotas {
    type Error = Violations;

    fn try_from(req: pb::SetSlotQuotasRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let date = v.date(req.date.as_ref(), "date");
        v.check(
            !req.slots.is_empty(),
            "slots",
            "at least one slot is required",
        );
        let mut slots = Vec::new();
        for (i, s) in req.slots.iter().enumerate() {
            let field = format!("slots[{i}].slot");
            match SlotCode::parse(&s.slot) {
                Some(code) if slots.iter().any(|(c, _)| c == &code) => v.add(&field, "is repeated"),
                Some(code) => slots.push((code, i64::from(s.quota))),
                None => v.add(
                    &field,
                    "must be \"HH:MM-HH:MM\" with the start before the end",
                ),
            }
            let ok = (0..=MAX_QUOTA).contains(&i64::from(s.quota));
            v.check(ok, &format!("slots[{i}].quota"), "must be 0-10000");
        }
        match date {
            Some(date) if v.is_empty() => {
                slots.sort();
                Ok(Quotas { date, slots })
            }
            _ => Err(v),
        }
    }
}

pub async fn handle(
    api: &MarriageApi,
    request: Request<pb::SetSlotQuotasRequest>,
) -> Result<Response<pb::DaySchedule>, Status> {
    let mut changed = Vec::new();
    let answer = api
        .rpc
        .write(
            request,
            async |c, req| registrar_office(c, api, &req.office_id).await,
            async |c, quotas: Quotas, office| {
                let (id, date) = (&office.office_id, quotas.date);
                c.object(format!("offices/{id}/days/{date}"));
                for (slot, quota) in &quotas.slots {
                    if let Err(booked) =
                        store::set_slot_quota(c.db(), id, date, slot.as_str(), *quota).await?
                    {
                        appointment::check_quota_change(*quota, booked)?;
                    }
                    let (office_id, slot) = (id.clone(), slot.as_str().to_owned());
                    changed.push(SlotKey {
                        office_id,
                        date,
                        slot,
                    });
                }
                let rows = store::slots_of_day(c.db(), id, date).await?;
                Ok(convert::schedule(id, date, rows))
            },
        )
        .await?;
    // Committed: the gates of the changed slots reload.
    for key in &changed {
        api.bookings.quota_changed(key);
    }
    Ok(answer)
}
