//! ComposeAddress: region + road + number + building + unit + room from standard names
//! (art. 21). Any authenticated caller.

use contracts::civil::placename::v1 as pb;
use kit::rpc::Call;
use kit::{ServiceError, Violations};
use tonic::Request;

use super::{Answer, PlaceNameApi, limits};
use crate::domain::address::Address;
use crate::{convert, regions, store};

pub struct Compose {
    house_number_id: String,
    building: String,
    unit: String,
    room: String,
}

impl TryFrom<pb::ComposeAddressRequest> for Compose {
    type Error = Violations;

    fn try_from(r: pb::ComposeAddressRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        limits::id(&mut v, &r.house_number_id, "house_number_id");
        for (value, field) in [
            (&r.building, "building"),
            (&r.unit, "unit"),
            (&r.room, "room"),
        ] {
            v.check(
                value.chars().all(|c| c.is_ascii_alphanumeric()) && value.len() <= 10,
                field,
                "must be up to 10 letters or digits",
            );
        }
        if !v.is_empty() {
            return Err(v);
        }
        Ok(Compose {
            house_number_id: r.house_number_id,
            building: r.building,
            unit: r.unit,
            room: r.room,
        })
    }
}

pub async fn handle(
    api: &PlaceNameApi,
    request: Request<pb::ComposeAddressRequest>,
) -> Answer<pb::StandardAddress> {
    api.rpc
        .read(
            request,
            async |c: &mut Call, _: &pb::ComposeAddressRequest| {
                c.quiet();
                Ok(())
            },
            async |c: &mut Call, parts: Compose, ()| {
                let id = &parts.house_number_id;
                let house = store::house_number_by_id(c.db(), id)
                    .await?
                    .ok_or_else(|| ServiceError::not_found(format!("houseNumbers/{id}")))?;
                let road = store::place_by_id(c.db(), &house.road_id)
                    .await?
                    .ok_or_else(|| ServiceError::not_found("road"))?;
                let address = Address {
                    region: regions::national().address_prefix(&road.region),
                    road: road.name,
                    number: house.door.number,
                    sub_number: house.door.sub,
                    building: parts.building,
                    unit: parts.unit,
                    room: parts.room,
                };
                Ok(convert::address_out(&address))
            },
        )
        .await
}
