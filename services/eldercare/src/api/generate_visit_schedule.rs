//! GenerateVisitSchedule: one visit a month for every living elder with special difficulties.

use contracts::civil::eldercare::v1 as pb;
use kit::Violations;
use time::Date;
use tonic::{Request, Response, Status};

use super::{Svc, shared};
use crate::convert;
use crate::domain::visit;
use crate::store::{self, month_text, visits};

pub struct Schedule(Date);

impl TryFrom<pb::GenerateVisitScheduleRequest> for Schedule {
    type Error = Violations;
    fn try_from(req: pb::GenerateVisitScheduleRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        match convert::month_in(&mut v, req.year, req.month, "month") {
            Some(month) => Ok(Schedule(month)),
            None => Err(v),
        }
    }
}

pub async fn handle(
    svc: &Svc,
    request: Request<pb::GenerateVisitScheduleRequest>,
) -> Result<Response<pb::VisitReport>, Status> {
    svc.rpc
        .write(
            request,
            async |c, req| shared::region_filter(c, &req.region, shared::STAFF, &svc.county),
            async |c, Schedule(month), region: String| {
                let key = month_text(month);
                c.object(format!("visits/{key}/{region}"));
                for e in store::elders_in_region(c.db(), &region).await? {
                    let deceased = e.date_of_death.is_some_and(|d| d < month);
                    if visit::needs_visit(&e.situations, deceased) {
                        visits::schedule_visit(c.db(), &key, &e.id, visit::township_of(&e.region))
                            .await?;
                    }
                }
                let rows = visits::visits(c.db(), &key, &region).await?;
                Ok(convert::visit_report_out(month, &rows, month))
            },
        )
        .await
}
