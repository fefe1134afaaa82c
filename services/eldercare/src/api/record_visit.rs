//! RecordVisit: a welfare visit, on the month's schedule or outside it (recorded, not counted
//! toward the rate).

use contracts::civil::eldercare::v1 as pb;
use kit::Violations;
use kit::error::to_proto_date;
use kit::rpc::{NAME_MAX, Text as _};
use time::Date;
use tonic::{Request, Response, Status};

use super::{Svc, shared};
use crate::convert::{self, elder_name};
use crate::domain::visit;
use crate::store::visits::{self, VisitRecord};
use crate::store::{ElderRow, month_text};

pub struct VisitMade {
    on: Date,
    visitor: String,
    notes: String,
}

impl TryFrom<pb::RecordVisitRequest> for VisitMade {
    type Error = Violations;
    fn try_from(req: pb::RecordVisitRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let on = v.date(req.visited_on.as_ref(), "visited_on");
        let visitor = v.text(&req.visitor, "visitor", NAME_MAX);
        let notes = convert::notes_in(&mut v, &req.notes, "notes");
        match on {
            Some(on) if v.is_empty() => Ok(VisitMade { on, visitor, notes }),
            _ => Err(v),
        }
    }
}

pub async fn handle(
    svc: &Svc,
    request: Request<pb::RecordVisitRequest>,
) -> Result<Response<pb::Visit>, Status> {
    svc.rpc
        .write(
            request,
            async |c, req| shared::elder(c, &req.elder, shared::STAFF).await,
            async |c, m: VisitMade, e: ElderRow| {
                let record = VisitRecord {
                    month: &month_text(m.on),
                    elder_id: &e.id,
                    township: visit::township_of(&e.region),
                    visited_on: m.on,
                    visitor: &m.visitor,
                    notes: &m.notes,
                };
                let scheduled = visits::record_visit(c.db(), &record).await?;
                Ok(pb::Visit {
                    elder: elder_name(&e.id),
                    visited_on: Some(to_proto_date(m.on)),
                    visitor: m.visitor,
                    scheduled,
                })
            },
        )
        .await
}
