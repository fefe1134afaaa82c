//! PublishPlanVersion: new cases take the version from now on; running cases keep theirs.

use tonic::{Request, Response, Status};

use auth::Role;
use contracts::civil::onematter::v1 as pb;
use kit::{ServiceError, Violations};

use super::OneMatterApi;
use super::list_plan_versions::versions;

pub struct Publish {
    kind: &'static str,
    version: u32,
}

impl TryFrom<pb::PublishPlanVersionRequest> for Publish {
    type Error = Violations;
    fn try_from(req: pb::PublishPlanVersionRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let kind = crate::convert::kind_name(req.kind());
        if kind.is_none() {
            v.add("kind", "must name a matter");
        }
        let version = u32::try_from(req.version).ok().filter(|n| *n >= 1);
        if version.is_none() {
            v.add("version", "must be 1 or more");
        }
        match (kind, version) {
            (Some(kind), Some(version)) if v.is_empty() => Ok(Publish { kind, version }),
            _ => Err(v),
        }
    }
}

pub(super) async fn handle(
    api: &OneMatterApi,
    request: Request<pb::PublishPlanVersionRequest>,
) -> Result<Response<pb::ListPlanVersionsResponse>, Status> {
    let executor = api.executor.clone();
    api.rpc
        .write(
            request,
            async |c, _| {
                // A plan applies to the whole county: only an operator of the county publishes.
                let county = c.principal().region.clone();
                if county.len() != 6 {
                    return Err(ServiceError::Status(Status::permission_denied(
                        "publishing a plan needs the whole county in scope",
                    )));
                }
                c.authorize(&[Role::Operator], Some(&county))
            },
            async |c, p: Publish, ()| {
                let actor = c.principal().subject.clone();
                c.object(format!("plans/{}/versions/{}", p.kind, p.version));
                executor.publish(c.db(), p.kind, p.version, &actor).await?;
                versions(c.db(), executor.registry(), p.kind).await
            },
        )
        .await
}
