//! GetPlaceName: the whole record. Any authenticated caller; place names hold no personal data.

use contracts::civil::placename::v1 as pb;
use kit::Violations;
use kit::rpc::Call;
use tonic::Request;

use super::{Answer, PlaceNameApi, limits, shared};
use crate::convert;

pub struct Get {
    id: String,
}

impl TryFrom<pb::GetPlaceNameRequest> for Get {
    type Error = Violations;

    fn try_from(r: pb::GetPlaceNameRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        limits::id(&mut v, &r.place_name_id, "place_name_id");
        if !v.is_empty() {
            return Err(v);
        }
        Ok(Get {
            id: r.place_name_id,
        })
    }
}

pub async fn handle(
    api: &PlaceNameApi,
    request: Request<pb::GetPlaceNameRequest>,
) -> Answer<pb::PlaceName> {
    api.rpc
        .read(
            request,
            async |c: &mut Call, _: &pb::GetPlaceNameRequest| {
                c.quiet();
                Ok(())
            },
            async |c: &mut Call, get: Get, ()| {
                let place = shared::place(c, &get.id, "place_name_id").await?;
                Ok(convert::place_out(&place))
            },
        )
        .await
}
