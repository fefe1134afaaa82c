//! GetHouseholdChain: a household's 救助链, found by its id or a member's identity number.

use contracts::civil::assistance::v1 as pb;
use kit::ServiceError;
use kit::rpc::Call;
use tonic::{Request, Response, Status};

use super::MonitoringApi;
use super::shared::STAFF;
use crate::monitoring::views::household_chain;
use crate::store::monitoring::{self as mon, HouseholdRow};

async fn household_in_scope(
    c: &mut Call,
    req: &pb::GetHouseholdChainRequest,
) -> Result<HouseholdRow, ServiceError> {
    c.authorize(STAFF, None)?;
    let h = match (req.household_id.as_str(), req.id_number.as_str()) {
        ("", "") => {
            return Err(ServiceError::invalid(
                "household_id",
                "give the household id or a member's identity number",
            ));
        }
        ("", number) => {
            let id = civil_id::IdNumber::parse(number)
                .map_err(|e| ServiceError::invalid("id_number", e.to_string()))?;
            let index = c.sealer().index(&id);
            mon::household_of_person(c.db(), &index)
                .await?
                .ok_or_else(|| ServiceError::not_found("monitored household of this person"))?
        }
        (id, _) => mon::household(c.db(), id).await?,
    };
    c.authorize(STAFF, Some(&h.region))?;
    c.object(h.id.clone());
    Ok(h)
}

pub async fn handle(
    api: &MonitoringApi,
    request: Request<pb::GetHouseholdChainRequest>,
) -> Result<Response<pb::HouseholdChain>, Status> {
    api.rpc
        .read(
            request,
            async |c, req| household_in_scope(c, req).await,
            async |c, _: pb::GetHouseholdChainRequest, h| {
                let (sealer, today) = (c.sealer().clone(), c.today());
                household_chain(c.db(), &sealer, &h, today).await
            },
        )
        .await
}
