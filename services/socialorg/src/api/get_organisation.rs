//! GetOrganisation: any authenticated caller; the legal representative's number is masked
//! unless the caller's role sees it in full.

use contracts::civil::socialorg::v1 as pb;
use kit::ServiceError;
use kit::rpc::Rpc;
use tonic::{Request, Response, Status};

use super::shared::{org_name, org_out};
use crate::store;

pub async fn handle(
    rpc: &Rpc,
    request: Request<pb::GetOrganisationRequest>,
) -> Result<Response<pb::Organisation>, Status> {
    rpc.read(
        request,
        async |c, req| {
            let id = req.organisation_id.trim();
            if id.is_empty() {
                return Err(ServiceError::invalid("organisation_id", "is required"));
            }
            c.object(org_name(id));
            c.purpose("read personal data");
            store::org_by_id(c.db(), id)
                .await?
                .ok_or_else(|| ServiceError::not_found(org_name(id)))
        },
        async |c, _: pb::GetOrganisationRequest, org| org_out(c, &org).await,
    )
    .await
}
