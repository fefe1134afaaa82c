//! SubmitAnnualReport: the annual report (年度报告) and its inspection conclusion; filing
//! corrects a missed-report listing.

use contracts::civil::socialorg::v1 as pb;
use kit::Violations;
use kit::rpc::Rpc;
use time::Date;
use tonic::{Request, Response, Status};

use super::shared::{authorized_org, locked_active};
use crate::convert;
use crate::domain::annual_report::{self, FoundationFigures, InspectionResult};
use crate::domain::credit_list;
use crate::store;

pub struct Report {
    year: i32,
    submitted_on: Date,
    result: InspectionResult,
    figures: FoundationFigures,
}

impl TryFrom<pb::SubmitAnnualReportRequest> for Report {
    type Error = Violations;

    fn try_from(req: pb::SubmitAnnualReportRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let submitted_on = v.date(req.submitted_on.as_ref(), "submitted_on");
        let result = convert::result_in(req.result);
        v.check(result.is_some(), "result", "is required");
        v.check(
            (1990..=9999).contains(&req.year),
            "year",
            "must be a calendar year",
        );
        for (value, field) in [
            (req.previous_income_fen, "previous_income_fen"),
            (req.previous_fund_balance_fen, "previous_fund_balance_fen"),
            (req.charitable_spending_fen, "charitable_spending_fen"),
        ] {
            v.check(value >= 0, field, "must not be negative");
        }
        let (Some(submitted_on), Some(result), true) = (submitted_on, result, v.is_empty()) else {
            return Err(v);
        };
        let figures = FoundationFigures {
            previous_income_fen: req.previous_income_fen,
            previous_fund_balance_fen: req.previous_fund_balance_fen,
            charitable_spending_fen: req.charitable_spending_fen,
        };
        Ok(Self {
            year: req.year,
            submitted_on,
            result,
            figures,
        })
    }
}

pub async fn handle(
    rpc: &Rpc,
    request: Request<pb::SubmitAnnualReportRequest>,
) -> Result<Response<pb::AnnualReport>, Status> {
    rpc.write(
        request,
        async |c, req| authorized_org(c, &req.organisation_id, false).await,
        async |c, r: Report, org| {
            let o = locked_active(c.db(), &org.id).await?;
            let filed = store::reported_years(c.db(), &o.id)
                .await?
                .contains(&r.year);
            annual_report::check_report(r.year, r.submitted_on, o.registered_on, filed)?;
            let cal = c.rpc().ctx().calendar.clone();
            let due_on = annual_report::report_deadline(&cal, r.year);
            let (result, met) =
                annual_report::conclusion(o.kind, o.public_fundraising, r.result, r.figures);
            let report = store::ReportRow {
                organisation_id: o.id.clone(),
                year: r.year,
                submitted_on: r.submitted_on,
                due_on,
                late: r.submitted_on > due_on,
                result,
                spending_ratio_met: met,
            };
            store::insert_report(c.db(), &report).await?;
            let listings = store::listings(c.db(), &o.id).await?;
            for (listing, removal_due) in
                credit_list::report_filed(&cal, &listings, r.year, r.submitted_on)
            {
                store::record_correction(c.db(), &listing.id, r.submitted_on, removal_due).await?;
            }
            Ok(convert::report_out(&report))
        },
    )
    .await
}
