//! GetVisitReport: the month's visit rate per township and the overdue visits.

use contracts::civil::eldercare::v1 as pb;
use kit::Violations;
use time::Date;
use tonic::{Request, Response, Status};

use super::{Svc, shared};
use crate::convert;
use crate::store::{month_text, visits};

pub struct ReportOf {
    month: Date,
    /// The day the report is read; today when not given.
    as_of: Option<Date>,
}

impl TryFrom<pb::GetVisitReportRequest> for ReportOf {
    type Error = Violations;
    fn try_from(req: pb::GetVisitReportRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let month = convert::month_in(&mut v, req.year, req.month, "month");
        let as_of = req
            .as_of
            .is_some()
            .then(|| v.date(req.as_of.as_ref(), "as_of"));
        match (month, as_of) {
            (Some(month), None) => Ok(ReportOf { month, as_of: None }),
            (Some(month), Some(Some(day))) => Ok(ReportOf {
                month,
                as_of: Some(day),
            }),
            _ => Err(v),
        }
    }
}

pub async fn handle(
    svc: &Svc,
    request: Request<pb::GetVisitReportRequest>,
) -> Result<Response<pb::VisitReport>, Status> {
    svc.rpc
        .read(
            request,
            async |c, req| shared::region_filter(c, &req.region, shared::STAFF, &svc.county),
            async |c, r: ReportOf, region: String| {
                c.object(format!("visits/{}/{region}", month_text(r.month)));
                let rows = visits::visits(c.db(), &month_text(r.month), &region).await?;
                let as_of = r.as_of.unwrap_or_else(|| c.today());
                Ok(convert::visit_report_out(r.month, &rows, as_of))
            },
        )
        .await
}
