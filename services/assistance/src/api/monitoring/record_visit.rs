//! RecordVisit: the home visit on an assigned warning, by two distinct staff who both signed.

use contracts::civil::assistance::v1 as pb;
use kit::Violations;
use kit::rpc::{LONG_MAX, NAME_MAX, Text as _};
use tonic::{Request, Response, Status};

use super::MonitoringApi;
use super::shared::{saved, warning_in_scope};
use crate::domain::monitoring::warning::{self, Staff, Visit};

pub struct VisitIn {
    date: time::Date,
    staff: Vec<Staff>,
    finding: String,
}

impl TryFrom<pb::RecordVisitRequest> for VisitIn {
    type Error = Violations;

    fn try_from(r: pb::RecordVisitRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let date = v.date(r.visit_date.as_ref(), "visit_date");
        let staff: Vec<Staff> = r
            .staff
            .iter()
            .enumerate()
            .map(|(i, s)| Staff {
                subject: v.text(
                    &s.staff_subject,
                    &format!("staff[{i}].staff_subject"),
                    NAME_MAX,
                ),
                name: v.text(&s.staff_name, &format!("staff[{i}].staff_name"), NAME_MAX),
            })
            .collect();
        v.check(
            warning::two_distinct_staff(&staff),
            "staff",
            "two distinct staff make the visit",
        );
        v.check(
            r.staff.iter().all(|s| s.signed),
            "staff",
            "both staff sign the record",
        );
        let finding = v.text(&r.finding, "finding", LONG_MAX);
        match date {
            Some(date) if v.is_empty() => Ok(VisitIn {
                date,
                staff,
                finding,
            }),
            _ => Err(v),
        }
    }
}

pub async fn handle(
    api: &MonitoringApi,
    request: Request<pb::RecordVisitRequest>,
) -> Result<Response<pb::Warning>, Status> {
    api.rpc
        .write(
            request,
            async |c, req| warning_in_scope(c, &req.warning_id).await,
            async |c, visit: VisitIn, mut row| {
                let visit = Visit {
                    date: visit.date,
                    staff: visit.staff,
                    finding: visit.finding,
                    recorded_by: c.principal().subject.clone(),
                };
                warning::record_visit(&mut row.warning, visit, c.today())?;
                saved(c, &row).await
            },
        )
        .await
}
