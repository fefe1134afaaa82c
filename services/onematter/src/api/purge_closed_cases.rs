//! PurgeClosedCases: retention. The personal data of cases closed longer than the retention
//! period is removed; the skeleton stays for statistics. Each purged case is audited.

use tonic::{Request, Response, Status};

use auth::Role;
use contracts::civil::onematter::v1 as pb;
use kit::Violations;

use super::OneMatterApi;
use crate::executor::store;

/// Cases purged per call (the scheduler calls again until none is left).
const PER_CALL: i64 = 500;

/// Nothing to decode: the period is the county's setting, never the caller's.
pub struct Purge;

impl TryFrom<pb::PurgeClosedCasesRequest> for Purge {
    type Error = Violations;
    fn try_from(_: pb::PurgeClosedCasesRequest) -> Result<Self, Violations> {
        Ok(Purge)
    }
}

pub(super) async fn handle(
    api: &OneMatterApi,
    request: Request<pb::PurgeClosedCasesRequest>,
) -> Result<Response<pb::PurgeClosedCasesResponse>, Status> {
    let retention_ms = api.retention_days.saturating_mul(24 * 3600 * 1000);
    api.rpc
        .write(
            request,
            async |c, _| c.authorize(&[Role::SysAdmin, Role::Service], None),
            async |c, Purge, ()| {
                let now = c.now_ms();
                let closed_before_ms = now.saturating_sub(retention_ms);
                let due = store::expired_cases(c.db(), closed_before_ms, PER_CALL).await?;
                let mut cases = Vec::with_capacity(due.len());
                for id in due {
                    if store::purge_case(c.db(), &id, now).await? {
                        c.also_audit(format!("cases/{id}"));
                        cases.push(format!("cases/{id}"));
                    }
                }
                c.object(format!("{} cases purged", cases.len()));
                c.purpose("retention");
                metrics::counter!("civil_onematter_cases_purged_total")
                    .increment(cases.len() as u64);
                Ok(pb::PurgeClosedCasesResponse {
                    purged_count: i32::try_from(cases.len()).unwrap_or(i32::MAX),
                    cases,
                    closed_before_ms,
                })
            },
        )
        .await
}
