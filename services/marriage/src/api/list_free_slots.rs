//! ListFreeSlots: an office's slots on one day with their free seats (any authenticated
//! caller; public, so the read is not audited).

use contracts::civil::marriage::v1 as pb;
use kit::Violations;
use time::Date;
use tonic::{Request, Response, Status};

use super::MarriageApi;
use crate::convert;
use crate::store;

pub struct Day {
    office_id: String,
    date: Date,
}

impl TryFrom<pb::ListFreeSlotsRequest> for Day {
    type Error = Violations;

    fn try_from(req: pb::ListFreeSlotsRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        v.required(&req.office_id, "office_id");
        match v.date(req.date.as_ref(), "date") {
            Some(date) if v.is_empty() => Ok(Day {
                office_id: req.office_id,
                date,
            }),
            _ => Err(v),
        }
    }
}

pub async fn handle(
    api: &MarriageApi,
    request: Request<pb::ListFreeSlotsRequest>,
) -> Result<Response<pb::DaySchedule>, Status> {
    api.rpc
        .read(
            request,
            async |c, _req| {
                c.quiet();
                Ok(())
            },
            async |c, day: Day, ()| {
                let office = api.offices.get(c.db(), &day.office_id).await?;
                let rows = store::slots_of_day(c.db(), &office.office_id, day.date).await?;
                Ok(convert::schedule(&office.office_id, day.date, rows))
            },
        )
        .await
}
