//! GetRecipientStatus: whether a person receives assistance (other bureaus, the funeral home's
//! fee waiver); region-scoped for staff, the death outcome once a death is recorded.

use auth::Role;
use contracts::civil::assistance::v1 as pb;
use contracts::civil::common::v1::PersonRef;
use kit::Violations;
use kit::rpc::Text as _;
use tonic::{Request, Response, Status};

use super::AssistanceApi;
use crate::status::status_of;

const STATUS_READERS: &[Role] = &[
    Role::Service,
    Role::TownshipClerk,
    Role::CountyApprover,
    Role::FuneralHome,
];

/// Whom the caller asks about, and why.
pub struct Query {
    id: civil_id::IdNumber,
    purpose: String,
}

impl TryFrom<pb::GetRecipientStatusRequest> for Query {
    type Error = Violations;

    fn try_from(r: pb::GetRecipientStatusRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let id = v.id_number(&r.id_number, "id_number");
        let purpose = v.optional_text(&r.purpose, "purpose", kit::rpc::SHORT_MAX);
        match id {
            Some(id) if v.is_empty() => Ok(Query { id, purpose }),
            _ => Err(v),
        }
    }
}

pub async fn handle(
    api: &AssistanceApi,
    request: Request<pb::GetRecipientStatusRequest>,
) -> Result<Response<pb::RecipientStatus>, Status> {
    api.rpc
        .read(
            request,
            async |c, _| c.authorize(STATUS_READERS, None),
            async |c, q: Query, ()| {
                let index = c.sealer().index(&q.id);
                c.object(index.clone());
                c.person(index.clone());
                c.purpose(q.purpose);
                let mut status = status_of(c, &api.inner, &index).await?;
                let p = c.principal();
                if !p.has_role(Role::Service) {
                    // Out of scope: nothing, not even the death outcome (an effect stored
                    // before the region was recorded has none and is not shown).
                    let covers = |r: &str| !r.is_empty() && p.covers_region(r);
                    status
                        .active_benefits
                        .retain(|b| p.covers_region(&b.household_region));
                    status.at_death.retain(|e| covers(&e.household_region));
                }
                let shown = if p.sees_full_identity_numbers() {
                    q.id.as_str().to_owned()
                } else {
                    q.id.masked()
                };
                status.person = Some(PersonRef {
                    id_number: shown,
                    name: String::new(),
                });
                Ok(status)
            },
        )
        .await
}
