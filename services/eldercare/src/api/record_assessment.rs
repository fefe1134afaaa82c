//! RecordAssessment: ability level (GB/T 42195-2022) and the care subsidy it gives.

use contracts::civil::eldercare::v1 as pb;
use kit::error::to_proto_date;
use kit::{ServiceError, Violations};
use time::Date;
use tonic::{Request, Response, Status};

use super::{Svc, shared};
use crate::convert::elder_name;
use crate::domain::Refusal;
use crate::domain::assessment::{self, Assessed, Findings};
use crate::store::{self, AssessmentRow, ElderRow};

pub struct Assessment {
    assessed: Assessed,
    total_score: i32,
    on: Date,
}

impl TryFrom<pb::RecordAssessmentRequest> for Assessment {
    type Error = Violations;
    fn try_from(req: pb::RecordAssessmentRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        v.check(
            (0..=90).contains(&req.total_score),
            "total_score",
            "must be 0-90",
        );
        v.check(
            req.care_risk_events_30d >= 0,
            "care_risk_events_30d",
            "must not be negative",
        );
        let on = v.date(req.assessed_on.as_ref(), "assessed_on");
        let assessed = assessment::assess(Findings {
            total_score: req.total_score,
            coma: req.coma,
            dementia_or_psychiatric: req.dementia_or_psychiatric,
            care_risk_events_30d: req.care_risk_events_30d,
        });
        match (assessed, on) {
            (Some(assessed), Some(on)) if v.is_empty() => Ok(Assessment {
                assessed,
                total_score: req.total_score,
                on,
            }),
            _ => Err(v),
        }
    }
}

pub async fn handle(
    svc: &Svc,
    request: Request<pb::RecordAssessmentRequest>,
) -> Result<Response<pb::AbilityAssessment>, Status> {
    svc.rpc
        .write(
            request,
            async |c, req| shared::elder(c, &req.elder, shared::CARE_ROLES).await,
            async |c, a: Assessment, e: ElderRow| {
                if e.date_of_death.is_some() {
                    return Err(Refusal::ElderDeceased.into());
                }
                let row = AssessmentRow {
                    elder_id: e.id.clone(),
                    assessed_on: a.on,
                    total_score: a.total_score,
                    base_level: a.assessed.base_level,
                    level: a.assessed.level,
                    care_subsidy: svc.policy.for_month(a.on).care.monthly(a.assessed.level),
                };
                store::insert_assessment(c.db(), &row).await?;
                store::set_ability_level(c.db(), &e.id, row.level).await?;
                Ok::<_, ServiceError>(pb::AbilityAssessment {
                    elder: elder_name(&e.id),
                    level: i32::from(row.level),
                    base_level: i32::from(row.base_level),
                    care_subsidy_fen: row.care_subsidy.get(),
                    assessed_on: Some(to_proto_date(row.assessed_on)),
                })
            },
        )
        .await
}
