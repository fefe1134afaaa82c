//! GetNamingApplication. Any authenticated caller (applications hold no personal data).

use contracts::civil::placename::v1 as pb;
use kit::rpc::Call;
use kit::{ServiceError, Violations};
use tonic::Request;

use super::{Answer, PlaceNameApi, limits};
use crate::{convert, store};

pub struct Get {
    id: String,
}

impl TryFrom<pb::GetNamingApplicationRequest> for Get {
    type Error = Violations;

    fn try_from(r: pb::GetNamingApplicationRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        limits::id(&mut v, &r.application_id, "application_id");
        if !v.is_empty() {
            return Err(v);
        }
        Ok(Get {
            id: r.application_id,
        })
    }
}

pub async fn handle(
    api: &PlaceNameApi,
    request: Request<pb::GetNamingApplicationRequest>,
) -> Answer<pb::NamingApplication> {
    api.rpc
        .read(
            request,
            async |c: &mut Call, _: &pb::GetNamingApplicationRequest| {
                c.quiet();
                Ok(())
            },
            async |c: &mut Call, get: Get, ()| {
                let app = store::application_by_id(c.db(), &get.id)
                    .await?
                    .ok_or_else(|| {
                        ServiceError::not_found(format!("namingApplications/{}", get.id))
                    })?;
                Ok(convert::application_out(&app))
            },
        )
        .await
}
