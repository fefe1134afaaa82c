//! GradeInstitution: the grade (GB/T 37276) the section scores reach.

use contracts::civil::eldercare::v1 as pb;
use kit::Violations;
use kit::rpc::{SHORT_MAX, Text as _};
use tonic::{Request, Response, Status};

use super::{Svc, shared};
use crate::convert;
use crate::domain::institution::{self, ScoreProblem, Section};
use crate::store::institutions::{self as store, InstitutionRow};

pub struct Grading(Vec<Section>);

impl TryFrom<pb::GradeInstitutionRequest> for Grading {
    type Error = Violations;
    fn try_from(req: pb::GradeInstitutionRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let sections: Vec<Section> = req
            .sections
            .iter()
            .enumerate()
            .map(|(i, s)| Section {
                name: v.optional_text(&s.section, &format!("sections[{i}].section"), SHORT_MAX),
                score: s.score,
                max_score: s.max_score,
            })
            .collect();
        match institution::grade(&sections) {
            Err(ScoreProblem::ScaleTotal(total)) => {
                v.add("sections", format!("maxima add up to {total}, not 1000"))
            }
            Err(ScoreProblem::SectionScore(i)) => v.add(
                &format!("sections[{i}].score"),
                "must be between 0 and max_score",
            ),
            Ok(_) => {}
        }
        if v.is_empty() {
            Ok(Grading(sections))
        } else {
            Err(v)
        }
    }
}

pub async fn handle(
    svc: &Svc,
    request: Request<pb::GradeInstitutionRequest>,
) -> Result<Response<pb::Institution>, Status> {
    svc.rpc
        .write(
            request,
            async |c, req| shared::institution(c, &req.institution, shared::STAFF).await,
            async |c, Grading(sections), inst: InstitutionRow| {
                let grade = match institution::grade(&sections) {
                    Ok(outcome) => outcome?,
                    Err(_) => return Err(kit::ServiceError::invalid("sections", "are malformed")),
                };
                store::set_grade(c.db(), &inst.id, grade).await?;
                Ok(convert::institution_out(
                    &shared::institution_now(c, &inst.id).await?,
                ))
            },
        )
        .await
}
