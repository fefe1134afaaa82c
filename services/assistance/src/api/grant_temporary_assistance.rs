//! GrantTemporaryAssistance (临时救助): 急难型 by the township or the county at once, 支出型 by
//! the county; a one-off amount within the policy's bounds.

use auth::Role;
use contracts::civil::assistance::v1 as pb;
use kit::Violations;
use kit::rpc::Text as _;
use tonic::{Request, Response, Status};

use super::AssistanceApi;
use super::shared::{APPROVER, by_region, forget_now};
use crate::benefits::{TemporaryGrant, grant_temporary};
use crate::convert::{benefit_to_proto, fen, parse_household};
use crate::domain::month::Month;

impl TryFrom<pb::GrantTemporaryAssistanceRequest> for TemporaryGrant {
    type Error = Violations;

    fn try_from(r: pb::GrantTemporaryAssistanceRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let household = parse_household(&mut v, r.household.as_ref(), "household");
        let circumstances = v.text(&r.circumstances, "circumstances", kit::rpc::LONG_MAX);
        let amount = fen(&mut v, r.amount_fen, "amount_fen");
        let out_of_pocket = if r.out_of_pocket_fen == 0 {
            None
        } else {
            v.check(
                !r.emergency,
                "out_of_pocket_fen",
                "only for expenditure-type assistance",
            );
            v.check(
                r.amount_fen == 0,
                "amount_fen",
                "must be 0 when the amount is computed from out_of_pocket_fen",
            );
            fen(&mut v, r.out_of_pocket_fen, "out_of_pocket_fen")
        };
        match (household, amount) {
            (Some(household), Some(amount)) if v.is_empty() => Ok(TemporaryGrant {
                household,
                circumstances,
                amount,
                out_of_pocket,
                emergency: r.emergency,
            }),
            _ => Err(v),
        }
    }
}

pub async fn handle(
    api: &AssistanceApi,
    request: Request<pb::GrantTemporaryAssistanceRequest>,
) -> Result<Response<pb::Benefit>, Status> {
    let policy = api.inner.policy.clone();
    let result = api
        .rpc
        .write(
            request,
            async |c, req| {
                // An emergency may be helped where it happened, regardless of household
                // register: the caller's scope must cover the region given.
                let roles: &[Role] = if req.emergency {
                    &[Role::TownshipClerk, Role::CountyApprover]
                } else {
                    APPROVER
                };
                let region = req.household.as_ref().map_or("", |h| h.region.as_str());
                by_region(c, roles, region)
            },
            async |c, grant: TemporaryGrant, ()| {
                let rec = grant_temporary(c, &policy, grant).await?;
                let full = c.principal().sees_full_identity_numbers();
                Ok(benefit_to_proto(&rec, full, Month::of(c.today())))
            },
        )
        .await;
    forget_now(api, result, |b| &b.id).await
}
