//! TerminateBenefit: the county ends a benefit (moved away, conditions lapsed, death) from the
//! month after the event, recording who decided and why.

use contracts::civil::assistance::v1 as pb;
use kit::Violations;
use kit::rpc::Text as _;
use tonic::{Request, Response, Status};

use super::AssistanceApi;
use super::shared::{APPROVER, forget_now};
use crate::benefits::{Termination, benefit_in_scope, save_change, terminate};
use crate::convert::{benefit_to_proto, termination_reason_from_proto};
use crate::domain::month::Month;

impl TryFrom<pb::TerminateBenefitRequest> for Termination {
    type Error = Violations;

    fn try_from(r: pb::TerminateBenefitRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let reason = termination_reason_from_proto(r.reason);
        v.check(reason.is_some(), "reason", "is required");
        let event = v.date(r.event_date.as_ref(), "event_date");
        let note = v.optional_text(&r.note, "note", kit::rpc::LONG_MAX);
        match (reason, event) {
            (Some(reason), Some(event)) if v.is_empty() => Ok(Termination {
                reason,
                event,
                note,
            }),
            _ => Err(v),
        }
    }
}

pub async fn handle(
    api: &AssistanceApi,
    request: Request<pb::TerminateBenefitRequest>,
) -> Result<Response<pb::Benefit>, Status> {
    let result = api
        .rpc
        .write(
            request,
            async |c, req| benefit_in_scope(c, APPROVER, &req.benefit_id).await,
            async |c, termination: Termination, mut rec| {
                let (today, subject) = (c.today(), c.principal().subject.clone());
                let from = terminate(&mut rec, termination, &subject, today)?;
                save_change(c, &rec, from, "terminated").await?;
                let full = c.principal().sees_full_identity_numbers();
                Ok(benefit_to_proto(&rec, full, Month::of(today)))
            },
        )
        .await;
    forget_now(api, result, |b| &b.id).await
}
