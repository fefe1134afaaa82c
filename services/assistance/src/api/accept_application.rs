//! AcceptApplication (受理): starts the review deadline (county policy, working days); for 特困
//! also the 15-working-day investigation deadline (特困人员认定办法 art. 11).

use contracts::civil::assistance::v1 as pb;
use tonic::{Request, Response, Status};

use super::AssistanceApi;
use super::shared::CLERK;
use super::shared::application_in_scope;
use super::shared::saved;
use crate::domain::application::{Step, investigation_deadline, review_deadline};
use crate::domain::benefit::BenefitKind;
use crate::procedure::step;
use crate::records::fmt_date;

pub async fn handle(
    api: &AssistanceApi,
    request: Request<pb::AcceptApplicationRequest>,
) -> Result<Response<pb::Application>, Status> {
    let policy = api.inner.policy.clone();
    api.rpc
        .write(
            request,
            async |c, req| application_in_scope(c, CLERK, &req.application_id).await,
            async |c, _: pb::AcceptApplicationRequest, mut rec| {
                step(&mut rec, Step::Accept)?;
                let today = c.today();
                let days = policy.in_force_on(today).review_deadline_working_days;
                let calendar = c.rpc().calendar();
                rec.accepted_on = Some(fmt_date(today));
                rec.deadline = Some(fmt_date(review_deadline(calendar, today, days)));
                if rec.kind == BenefitKind::ExtremePoverty {
                    rec.investigation_deadline =
                        Some(fmt_date(investigation_deadline(calendar, today)));
                }
                saved(c, &rec).await
            },
        )
        .await
}
