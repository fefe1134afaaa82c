//! FileGrievance: a grievance filed by the family on the portal or by a clerk at the counter.

use auth::Role;
use contracts::civil::assistance::v1 as pb;
use kit::Violations;
use kit::rpc::Text as _;
use tonic::{Request, Response, Status};

use super::AssistanceApi;
use super::shared::by_region;
use crate::grievances::{self, Filing, category_from_proto};

/// Who may file: the family (portal) and the clerks (counter).
const FILERS: &[Role] = &[Role::Citizen, Role::TownshipClerk, Role::CountyApprover];

impl TryFrom<pb::FileGrievanceRequest> for Filing {
    type Error = Violations;

    fn try_from(r: pb::FileGrievanceRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let category = category_from_proto(r.category);
        v.check(category.is_some(), "category", "is required");
        let region = v.region(&r.region, "region").map(|x| x.as_str().to_owned());
        let subject_ref = v.optional_text(&r.subject_ref, "subject_ref", kit::rpc::SHORT_MAX);
        let description = v.text(&r.description, "description", kit::rpc::LONG_MAX);
        let complainant_name = v.person_name(&r.complainant_name, "complainant_name");
        let known_on = r
            .known_on
            .as_ref()
            .and_then(|d| v.date(Some(d), "known_on"));
        match (category, region) {
            (Some(category), Some(region)) if v.is_empty() => Ok(Filing {
                category,
                region,
                subject_ref,
                description,
                complainant_name,
                known_on,
            }),
            _ => Err(v),
        }
    }
}

pub async fn handle(
    api: &AssistanceApi,
    request: Request<pb::FileGrievanceRequest>,
) -> Result<Response<pb::Grievance>, Status> {
    api.rpc
        .write(
            request,
            async |c, req| by_region(c, FILERS, &req.region),
            async |c, filing: Filing, ()| {
                let p = c.principal();
                let portal = p.has_role(Role::Citizen)
                    && !p.has_role(Role::TownshipClerk)
                    && !p.has_role(Role::CountyApprover);
                grievances::file(c, filing, portal).await
            },
        )
        .await
}
