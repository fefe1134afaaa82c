//! ParseAddress: an address text into its parts. Any authenticated caller.

use contracts::civil::placename::v1 as pb;
use kit::rpc::Call;
use kit::{ServiceError, Violations};
use tonic::Request;

use super::{Answer, PlaceNameApi, limits};
use crate::convert;
use crate::domain::address;
use crate::domain::name::{Category, NameStatus};

pub struct Parse {
    text: String,
}

impl TryFrom<pb::ParseAddressRequest> for Parse {
    type Error = Violations;

    fn try_from(r: pb::ParseAddressRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        limits::required_text(&mut v, &r.text, "text", limits::MAX_LINE, false);
        if !v.is_empty() {
            return Err(v);
        }
        Ok(Parse { text: r.text })
    }
}

pub async fn handle(
    api: &PlaceNameApi,
    request: Request<pb::ParseAddressRequest>,
) -> Answer<pb::StandardAddress> {
    api.rpc
        .read(
            request,
            async |c: &mut Call, _: &pb::ParseAddressRequest| {
                c.quiet();
                Ok(())
            },
            async |_: &mut Call, parse: Parse, ()| {
                let index = api.places.read_index();
                let known_road = |r: &str| {
                    index
                        .with_name(r)
                        .any(|e| e.category == Category::Road && e.status == NameStatus::InUse)
                };
                let parsed = address::parse(&parse.text, known_road)
                    .map_err(|e| ServiceError::invalid("text", e.to_string()))?;
                Ok(convert::address_out(&parsed))
            },
        )
        .await
}
