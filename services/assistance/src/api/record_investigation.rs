//! RecordInvestigation (入户调查): at least two staff, all signed, and the household's signature
//! (审核确认办法 art. 15); a flagged application (近亲属备案) is investigated by the county
//! without the related staff (art. 30).

use contracts::civil::assistance::v1 as pb;
use kit::Violations;
use kit::rpc::Text as _;
use time::Date;
use tonic::{Request, Response, Status};

use super::shared::CLERK;
use super::shared::application_in_scope;
use super::shared::saved;
use super::{AssistanceApi, refuse};
use crate::domain::application::{Investigator, Step, VisitError, check_visit};
use crate::procedure::{not_in_future, step};
use crate::records::{Visit, fmt_date};

/// Most staff one visit may list.
const MAX_STAFF: usize = 20;

/// A valid visit record.
pub struct VisitRecord {
    date: Date,
    staff: Vec<(Investigator, String)>,
    household_signed: bool,
    findings: String,
}

impl TryFrom<pb::RecordInvestigationRequest> for VisitRecord {
    type Error = Violations;

    fn try_from(r: pb::RecordInvestigationRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let date = v.date(r.visit_date.as_ref(), "visit_date");
        if r.staff.len() > MAX_STAFF {
            v.add("staff", format!("must list at most {MAX_STAFF} staff"));
        }
        let mut staff = Vec::with_capacity(r.staff.len().min(MAX_STAFF));
        for (i, s) in r.staff.iter().enumerate().take(MAX_STAFF) {
            let field = format!("staff[{i}]");
            let subject = v.text(
                &s.staff_subject,
                &format!("{field}.staff_subject"),
                kit::rpc::SHORT_MAX,
            );
            let name = v.optional_text(
                &s.staff_name,
                &format!("{field}.staff_name"),
                kit::rpc::NAME_MAX,
            );
            staff.push((
                Investigator {
                    subject,
                    signed: s.signed,
                },
                name,
            ));
        }
        let findings = v.optional_text(&r.findings, "findings", kit::rpc::LONG_MAX);
        match date {
            Some(date) if v.is_empty() => Ok(VisitRecord {
                date,
                staff,
                household_signed: r.household_signed,
                findings,
            }),
            _ => Err(v),
        }
    }
}

fn visit_refusal(e: VisitError) -> kit::ServiceError {
    let reason = match e {
        VisitError::TwoStaffRequired => "ASSISTANCE_TWO_STAFF_REQUIRED",
        VisitError::SignatureMissing => "ASSISTANCE_SIGNATURE_MISSING",
        VisitError::CountyInvestigates => "ASSISTANCE_COUNTY_INVESTIGATES",
        VisitError::ConflictOfInterest => "ASSISTANCE_CONFLICT_OF_INTEREST",
    };
    refuse(reason, e.to_string())
}

pub async fn handle(
    api: &AssistanceApi,
    request: Request<pb::RecordInvestigationRequest>,
) -> Result<Response<pb::Application>, Status> {
    api.rpc
        .write(
            request,
            async |c, req| application_in_scope(c, CLERK, &req.application_id).await,
            async |c, visit: VisitRecord, mut rec| {
                step(&mut rec, Step::Investigate)?;
                not_in_future(visit.date, c.today())?;
                let (staff, names): (Vec<Investigator>, Vec<String>) =
                    visit.staff.into_iter().unzip();
                let county = c.principal().region.len() == 6;
                check_visit(&staff, visit.household_signed, &rec.related_staff, county)
                    .map_err(visit_refusal)?;
                rec.visits.push(Visit {
                    date: fmt_date(visit.date),
                    staff: staff.into_iter().map(|s| s.subject).collect(),
                    staff_names: names,
                    findings: visit.findings,
                    recorded_by: c.principal().subject.clone(),
                });
                saved(c, &rec).await
            },
        )
        .await
}
