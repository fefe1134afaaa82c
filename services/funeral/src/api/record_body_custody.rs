//! RecordBodyCustody: a body transport or storage period (殡仪馆接运 / 遗体存放).

use contracts::civil::funeral::v1 as pb;
use kit::Violations;
use kit::clock::date_text;
use kit::rpc::{Rpc, Text as _};
use tonic::{Request, Response, Status};

use super::shared::{HOME, authorized_case, case_out};
use crate::domain::case::Step;
use crate::domain::text;
use crate::store::{self, CustodyRow};

pub struct Custody(CustodyRow);

impl TryFrom<pb::RecordBodyCustodyRequest> for Custody {
    type Error = Violations;

    fn try_from(req: pb::RecordBodyCustodyRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let event = req.event.unwrap_or_default();
        let kind = pb::CustodyKind::try_from(event.kind)
            .ok()
            .filter(|k| *k != pb::CustodyKind::Unspecified);
        v.check(kind.is_some(), "event.kind", "must be transport or storage");
        let location = v.text(&event.location, "event.location", text::PLACE_MAX);
        let date = v.date(event.date.as_ref(), "event.date");
        match (kind, date) {
            (Some(kind), Some(date)) if v.is_empty() => Ok(Custody(CustodyRow {
                kind: kind.as_str_name().to_owned(),
                location,
                date: date_text(date),
            })),
            _ => Err(v),
        }
    }
}

pub async fn handle(
    rpc: &Rpc,
    request: Request<pb::RecordBodyCustodyRequest>,
) -> Result<Response<pb::DeathCase>, Status> {
    rpc.write(
        request,
        async |c, req: &pb::RecordBodyCustodyRequest| {
            authorized_case(c, &req.death_case, "death_case", HOME).await
        },
        async |c, custody: Custody, case| {
            case.state.apply(Step::Custody)?;
            let now = c.now_ms();
            store::insert_custody(c.db(), &case.id, &custody.0, now).await?;
            case_out(c, &case).await
        },
    )
    .await
}
