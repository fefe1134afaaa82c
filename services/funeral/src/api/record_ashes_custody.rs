//! RecordAshesCustody: who holds the ashes, where, from which day (骨灰去向), before their
//! final place.

use contracts::civil::funeral::v1 as pb;
use kit::Violations;
use kit::rpc::{Rpc, Text as _};
use time::Date;
use tonic::{Request, Response, Status};

use super::shared::{HOME, add_ashes, authorized_case, case_out, last_ashes_since};
use crate::domain::case::Step;
use crate::domain::{ashes, text};

pub struct Handover {
    kind: pb::AshesHolderKind,
    holder: String,
    place: String,
    since: Date,
}

impl TryFrom<pb::RecordAshesCustodyRequest> for Handover {
    type Error = Violations;

    fn try_from(req: pb::RecordAshesCustodyRequest) -> Result<Self, Violations> {
        use pb::AshesHolderKind as K;
        let mut v = Violations::new();
        let kind = K::try_from(req.holder_kind)
            .ok()
            .filter(|k| matches!(k, K::FuneralHome | K::Family | K::Columbarium));
        v.check(
            kind.is_some(),
            "holder_kind",
            "must be funeral home, family or columbarium (final places have their own RPCs)",
        );
        let holder = v.text(&req.holder, "holder", text::NAME_MAX);
        let place = v.text(&req.place, "place", text::PLACE_MAX);
        let since = v.date(req.since.as_ref(), "since");
        match (kind, since) {
            (Some(kind), Some(since)) if v.is_empty() => Ok(Self {
                kind,
                holder,
                place,
                since,
            }),
            _ => Err(v),
        }
    }
}

pub async fn handle(
    rpc: &Rpc,
    request: Request<pb::RecordAshesCustodyRequest>,
) -> Result<Response<pb::DeathCase>, Status> {
    rpc.write(
        request,
        async |c, req: &pb::RecordAshesCustodyRequest| {
            authorized_case(c, &req.death_case, "death_case", HOME).await
        },
        async |c, h: Handover, case| {
            case.state.apply(Step::AshesCustody)?;
            ashes::check_next(last_ashes_since(c.db(), &case.id).await?, h.since)?;
            add_ashes(c, &case.id, h.kind, &h.holder, &h.place, h.since).await?;
            case_out(c, &case).await
        },
    )
    .await
}
