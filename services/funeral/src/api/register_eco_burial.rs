//! RegisterEcoBurial: 节地生态安葬 of the ashes, with the county reward; the ashes reach their
//! final place.

use contracts::civil::funeral::v1 as pb;
use kit::ServiceError;
use kit::Violations;
use kit::clock::date_text;
use kit::error::to_proto_date;
use kit::rpc::{Call, Rpc, Text as _};
use time::Date;
use tonic::{Request, Response, Status};

use super::shared::{HOME, add_ashes, authorized_case, case_name, last_ashes_since};
use crate::convert;
use crate::domain::case::Step;
use crate::domain::eco_burial::{EcoBurialKind, EcoRewardPolicy};
use crate::domain::{ashes, text};
use crate::store::{self, CaseRow};

pub struct Eco {
    kind: EcoBurialKind,
    place: String,
    date: Date,
}

impl TryFrom<pb::RegisterEcoBurialRequest> for Eco {
    type Error = Violations;

    fn try_from(req: pb::RegisterEcoBurialRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let kind = convert::eco_kind_in(req.kind);
        v.check(kind.is_some(), "kind", "must be an eco-burial kind");
        let place = v.text(&req.place, "place", text::PLACE_MAX);
        let date = v.date(req.date.as_ref(), "date");
        match (kind, date) {
            (Some(kind), Some(date)) if v.is_empty() => Ok(Self { kind, place, date }),
            _ => Err(v),
        }
    }
}

pub async fn handle(
    rpc: &Rpc,
    rewards: &EcoRewardPolicy,
    request: Request<pb::RegisterEcoBurialRequest>,
) -> Result<Response<pb::EcoBurial>, Status> {
    rpc.write(
        request,
        async |c, req: &pb::RegisterEcoBurialRequest| {
            authorized_case(c, &req.death_case, "death_case", HOME).await
        },
        async |c, e: Eco, case| {
            let reward_fen = rewards.reward_fen(e.kind);
            place_ashes(c, &case, e, reward_fen).await
        },
    )
    .await
}

async fn place_ashes(
    c: &mut Call,
    case: &CaseRow,
    e: Eco,
    reward_fen: i64,
) -> Result<pb::EcoBurial, ServiceError> {
    let next = case.state.apply(Step::PlaceAshes)?;
    let kind = e.kind.as_str();
    let day = date_text(e.date);
    store::insert_eco_burial(c.db(), &case.id, kind, &e.place, &day, reward_fen).await?;
    let now = c.now_ms();
    store::transition(c.db(), &case.id, case.state, next, now).await?;
    store::set_final_place(c.db(), &case.id, &format!("eco:{kind}:{}", e.place)).await?;
    let since = ashes::placed_since(last_ashes_since(c.db(), &case.id).await?, e.date);
    add_ashes(
        c,
        &case.id,
        pb::AshesHolderKind::EcoBurial,
        kind,
        &e.place,
        since,
    )
    .await?;
    Ok(pb::EcoBurial {
        death_case: case_name(&case.id),
        kind: convert::eco_kind_out(e.kind).into(),
        place: e.place,
        date: Some(to_proto_date(e.date)),
        reward_fen,
    })
}
