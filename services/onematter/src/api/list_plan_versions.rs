//! ListPlanVersions: the versions of a matter's plan, which are published and which one new
//! cases take.

use tonic::{Request, Response, Status};

use auth::Role;
use contracts::civil::onematter::v1 as pb;
use kit::{ServiceError, Violations};
use sqlx::AnyConnection;

use super::OneMatterApi;
use crate::convert::kind_name;
use crate::executor::store;

/// The workflow kind of a request's matter.
pub(super) fn kind_of(kind: pb::MatterKind) -> Result<&'static str, Violations> {
    let mut v = Violations::new();
    let name = kind_name(kind);
    if name.is_none() {
        v.add("kind", "must name a matter");
    }
    super::decoded(v, name.unwrap_or_default())
}

pub struct Kind(&'static str);

impl TryFrom<pb::ListPlanVersionsRequest> for Kind {
    type Error = Violations;
    fn try_from(req: pb::ListPlanVersionsRequest) -> Result<Self, Violations> {
        kind_of(req.kind()).map(Kind)
    }
}

pub(super) async fn handle(
    api: &OneMatterApi,
    request: Request<pb::ListPlanVersionsRequest>,
) -> Result<Response<pb::ListPlanVersionsResponse>, Status> {
    let executor = api.executor.clone();
    api.rpc
        .read(
            request,
            async |c, _| c.authorize(&[Role::Operator], None),
            async |c, Kind(kind), ()| {
                c.object(format!("plans/{kind}"));
                versions(c.db(), executor.registry(), kind).await
            },
        )
        .await
}

/// Every version of `kind`'s plan this build runs, with its publication.
pub(super) async fn versions(
    conn: &mut AnyConnection,
    registry: &crate::executor::Registry,
    kind: &'static str,
) -> Result<pb::ListPlanVersionsResponse, ServiceError> {
    let plans = registry.versions(kind);
    let known: Vec<u32> = plans.iter().map(|p| p.version).collect();
    let current = store::current_version(conn, kind, &known).await?;
    let published = store::published_versions(conn, kind).await?;
    let versions = plans
        .iter()
        .map(|p| {
            let row = published.iter().find(|r| r.version == i64::from(p.version));
            pb::PlanVersion {
                version: i32::try_from(p.version).unwrap_or(i32::MAX),
                steps: p.steps.iter().map(|s| s.name.to_owned()).collect(),
                published_at_ms: row.map(|r| r.published_at_ms).unwrap_or(0),
                published_by: row.map(|r| r.published_by.clone()).unwrap_or_default(),
                current: p.version == current,
            }
        })
        .collect();
    Ok(pb::ListPlanVersionsResponse {
        kind: crate::convert::kind_of(kind) as i32,
        versions,
    })
}
