//! BookCremation: a day and furnace slot, within the county's furnace quota.

use contracts::civil::funeral::v1 as pb;
use kit::Violations;
use kit::clock::date_text;
use kit::error::to_proto_date;
use kit::rpc::Rpc;
use time::Date;
use tonic::{Request, Response, Status};

use super::shared::{CASE_ROLES, authorized_case, case_name};
use crate::domain::case::Step;
use crate::domain::cremation::FurnaceSchedule;
use crate::domain::{Refusal, cremation};
use crate::store;

pub struct Booking {
    day: Date,
    slot: i32,
}

impl TryFrom<pb::BookCremationRequest> for Booking {
    type Error = Violations;

    fn try_from(req: pb::BookCremationRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        match v.date(req.day.as_ref(), "day") {
            Some(day) => Ok(Self {
                day,
                slot: req.slot,
            }),
            None => Err(v),
        }
    }
}

pub async fn handle(
    rpc: &Rpc,
    schedule: FurnaceSchedule,
    request: Request<pb::BookCremationRequest>,
) -> Result<Response<pb::CremationBooking>, Status> {
    rpc.write(
        request,
        async |c, req: &pb::BookCremationRequest| {
            authorized_case(c, &req.death_case, "death_case", CASE_ROLES).await
        },
        async |c, b: Booking, case| {
            cremation::check_booking(schedule, b.day, b.slot, c.today())?;
            let next = case.state.apply(Step::BookCremation)?;
            let day = date_text(b.day);
            if !store::take_furnace(c.db(), &day, b.slot, schedule.furnaces).await? {
                return Err(Refusal::SlotFull.into());
            }
            store::insert_booking(c.db(), &case.id, &day, b.slot).await?;
            let now = c.now_ms();
            store::transition(c.db(), &case.id, case.state, next, now).await?;
            Ok(pb::CremationBooking {
                death_case: case_name(&case.id),
                day: Some(to_proto_date(b.day)),
                slot: b.slot,
            })
        },
    )
    .await
}
