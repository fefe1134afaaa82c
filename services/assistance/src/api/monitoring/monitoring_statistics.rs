//! MonitoringStatistics: per township, for the warnings raised in a month.

use contracts::civil::assistance::v1 as pb;
use kit::{ServiceError, Violations};
use tonic::{Request, Response, Status};

use super::MonitoringApi;
use super::shared::{STAFF, asked_region};
use crate::domain::month::Month;

fn query(
    c: &kit::rpc::Call,
    req: &pb::MonitoringStatisticsRequest,
) -> Result<(String, Month), ServiceError> {
    c.authorize(STAFF, None)?;
    let mut v = Violations::new();
    let region = asked_region(c, &req.region, &mut v);
    let month = Month::parse(&req.month);
    v.check(month.is_some(), "month", "must be YYYY-MM");
    v.finish()?;
    let (Some(region), Some(month)) = (region, month) else {
        return Err(ServiceError::invalid("region", "must be a region code"));
    };
    c.authorize(STAFF, Some(&region))?;
    Ok((region, month))
}

pub async fn handle(
    api: &MonitoringApi,
    request: Request<pb::MonitoringStatisticsRequest>,
) -> Result<Response<pb::MonitoringStatisticsResponse>, Status> {
    api.rpc
        .read(
            request,
            async |c, req| query(c, req),
            async |c, _: pb::MonitoringStatisticsRequest, (region, month)| {
                c.quiet();
                let today = c.today();
                let townships = crate::monitoring::views::statistics(
                    c.db(),
                    &region,
                    &month.to_string(),
                    today,
                )
                .await?;
                Ok(pb::MonitoringStatisticsResponse { townships })
            },
        )
        .await
}
