//! GetBenefit: a benefit with its history, for clerks and approvers within their region scope.

use auth::Role;
use contracts::civil::assistance::v1 as pb;
use tonic::{Request, Response, Status};

use super::AssistanceApi;
use crate::convert::benefit_to_proto;
use crate::domain::month::Month;
use crate::store;

const READERS: &[Role] = &[Role::TownshipClerk, Role::CountyApprover];

pub async fn handle(
    api: &AssistanceApi,
    request: Request<pb::GetBenefitRequest>,
) -> Result<Response<pb::Benefit>, Status> {
    api.rpc
        .read(
            request,
            async |c, req| {
                let sealer = c.sealer().clone();
                let rec = store::load_benefit(c.db(), &sealer, &req.benefit_id).await?;
                c.authorize(READERS, Some(rec.region()))?;
                c.object(rec.id.clone());
                Ok(rec)
            },
            async |c, _: pb::GetBenefitRequest, rec| {
                let full = c.principal().sees_full_identity_numbers();
                Ok(benefit_to_proto(&rec, full, Month::of(c.today())))
            },
        )
        .await
}
