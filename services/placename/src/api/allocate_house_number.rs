//! AllocateHouseNumber: the next number in order on a side of a road, or a requested one
//! refused with its reason when taken, on the wrong side or out of order.
//! Role: PlaceNameOfficer within the road's region.

use contracts::civil::placename::v1 as pb;
use kit::rpc::Call;
use kit::{ServiceError, Violations};
use tonic::Request;

use super::shared::{OFFICER, place};
use super::{Answer, PlaceNameApi};
use crate::convert;
use crate::domain::Refusal;
use crate::domain::house_number::{self, Door, Side};
use crate::domain::name::{Category, NameStatus};
use crate::store::{self, HouseRow, PlaceRow};

pub struct Allocate {
    side: Side,
    position_m: i64,
    /// (number, sub-number) asked for, or the next in order.
    requested: Option<(i32, i32)>,
}

impl TryFrom<pb::AllocateHouseNumberRequest> for Allocate {
    type Error = Violations;

    fn try_from(r: pb::AllocateHouseNumberRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let side = convert::side_in(r.side);
        v.check(side.is_some(), "side", "must be LEFT or RIGHT");
        v.check(r.position_m >= 0, "position_m", "must not be negative");
        v.check(
            r.requested_number >= 0,
            "requested_number",
            "must not be negative",
        );
        let sub_ok =
            r.requested_sub_number >= 0 && (r.requested_sub_number == 0 || r.requested_number > 0);
        v.check(
            sub_ok,
            "requested_sub_number",
            "must not be negative, and needs requested_number",
        );
        match side {
            Some(side) if v.is_empty() => Ok(Allocate {
                side,
                position_m: r.position_m,
                requested: (r.requested_number > 0)
                    .then_some((r.requested_number, r.requested_sub_number)),
            }),
            _ => Err(v),
        }
    }
}

pub async fn handle(
    api: &PlaceNameApi,
    request: Request<pb::AllocateHouseNumberRequest>,
) -> Answer<pb::HouseNumber> {
    api.rpc
        .write(
            request,
            async |c: &mut Call, r: &pb::AllocateHouseNumberRequest| {
                c.object(format!("placeNames/{}", r.road_id));
                c.authorize(OFFICER, None)?;
                let road = place(c, &r.road_id, "road_id").await?;
                c.authorize(OFFICER, Some(&road.region))?;
                Ok(road)
            },
            async |c: &mut Call, a: Allocate, road: PlaceRow| allocate_effect(c, a, road).await,
        )
        .await
}

fn number_for(a: &Allocate, doors: &[(Side, Door)]) -> Result<(i32, i32), Refusal> {
    match a.requested {
        Some((number, sub)) => house_number::request(a.side, doors, a.position_m, number, sub),
        None => {
            let side: Vec<Door> = doors
                .iter()
                .filter(|(s, _)| *s == a.side)
                .map(|(_, d)| *d)
                .collect();
            house_number::allocate(a.side, &side, a.position_m)
        }
    }
}

/// Gives the door its number on the locked road.
async fn allocate_effect(
    c: &mut Call,
    a: Allocate,
    road: PlaceRow,
) -> Result<pb::HouseNumber, ServiceError> {
    if road.category != Category::Road {
        return Err(Refusal::NotARoad.into());
    }
    if road.status != NameStatus::InUse {
        return Err(Refusal::NotInUse.into());
    }
    store::lock_place(c.db(), &road.id).await?;
    let doors: Vec<(Side, Door)> = store::house_numbers_of(c.db(), &road.id)
        .await?
        .into_iter()
        .map(|h| (h.side, h.door))
        .collect();
    let (number, sub) = number_for(&a, &doors)?;
    let door = Door {
        number,
        sub,
        position_m: a.position_m,
    };
    let row = HouseRow {
        id: uuid::Uuid::now_v7().to_string(),
        road_id: road.id,
        side: a.side,
        door,
    };
    let now_ms = c.now_ms();
    if !store::insert_house_number(c.db(), &row, now_ms).await? {
        return Err(ServiceError::Aborted(
            "the number was taken concurrently; retry".into(),
        ));
    }
    c.object(format!("houseNumbers/{}", row.id));
    Ok(convert::house_out(&row))
}
