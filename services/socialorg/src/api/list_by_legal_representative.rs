//! ListByLegalRepresentative: the active organisations a person represents (the after-death
//! matter asks it). Officers see those of their region; services of the suite all.

use auth::Role;
use contracts::civil::socialorg::v1 as pb;
use kit::Violations;
use kit::rpc::Rpc;
use tonic::{Request, Response, Status};

use super::shared::org_out;
use crate::store;

pub struct Person(civil_id::IdNumber);

impl TryFrom<pb::ListByLegalRepresentativeRequest> for Person {
    type Error = Violations;

    fn try_from(req: pb::ListByLegalRepresentativeRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        match v.id_number(&req.id_number, "id_number") {
            Some(id) => Ok(Person(id)),
            None => Err(v),
        }
    }
}

pub async fn handle(
    rpc: &Rpc,
    request: Request<pb::ListByLegalRepresentativeRequest>,
) -> Result<Response<pb::ListByLegalRepresentativeResponse>, Status> {
    rpc.read(
        request,
        async |c, _| c.authorize(&[Role::SocialOrgOfficer, Role::Service], None),
        async |c, Person(id), ()| {
            let index = c.sealer().index(&id);
            c.object(format!("people/{index}"));
            c.purpose("read personal data");
            let everywhere = c.principal().has_role(Role::Service);
            let mut organisations = Vec::new();
            for o in store::active_orgs_by_rep(c.db(), &index).await? {
                if everywhere || c.principal().covers_region(&o.region) {
                    organisations.push(org_out(c, &o).await?);
                }
            }
            Ok(pb::ListByLegalRepresentativeResponse { organisations })
        },
    )
    .await
}
