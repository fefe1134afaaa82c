//! ListHouseNumbers: a road's house numbers in order. Any authenticated caller.

use contracts::civil::placename::v1 as pb;
use kit::Violations;
use kit::rpc::Call;
use tonic::Request;

use super::{Answer, PlaceNameApi, limits, shared};
use crate::{convert, store};

pub struct List {
    road_id: String,
}

impl TryFrom<pb::ListHouseNumbersRequest> for List {
    type Error = Violations;

    fn try_from(r: pb::ListHouseNumbersRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        limits::id(&mut v, &r.road_id, "road_id");
        if !v.is_empty() {
            return Err(v);
        }
        Ok(List { road_id: r.road_id })
    }
}

pub async fn handle(
    api: &PlaceNameApi,
    request: Request<pb::ListHouseNumbersRequest>,
) -> Answer<pb::ListHouseNumbersResponse> {
    api.rpc
        .read(
            request,
            async |c: &mut Call, _: &pb::ListHouseNumbersRequest| {
                c.quiet();
                Ok(())
            },
            async |c: &mut Call, list: List, ()| {
                let road = shared::place(c, &list.road_id, "road_id").await?;
                let rows = store::house_numbers_of(c.db(), &road.id).await?;
                Ok(pb::ListHouseNumbersResponse {
                    house_numbers: rows.iter().map(convert::house_out).collect(),
                })
            },
        )
        .await
}
