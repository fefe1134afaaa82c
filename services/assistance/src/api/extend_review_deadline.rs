//! ExtendReviewDeadline: a county approver extends an application's review deadline with a
//! written reason (审核确认办法 art. 12: at most 45 working days after acceptance in all).

use contracts::civil::assistance::v1 as pb;
use kit::rpc::Text as _;
use kit::{ServiceError, Violations};
use time::Date;
use tonic::{Request, Response, Status};

use super::shared::APPROVER;
use super::shared::saved;
use super::{AssistanceApi, refuse};
use crate::domain::application::extend_deadline;
use crate::records::{ApplicationRecord, ExtensionRecord, fmt_date, parse_date};
use crate::store;

/// A valid extension: working days to add and why.
pub struct Extension {
    extra_working_days: u32,
    reason: String,
}

impl TryFrom<pb::ExtendReviewDeadlineRequest> for Extension {
    type Error = Violations;

    fn try_from(r: pb::ExtendReviewDeadlineRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let reason = v.text(&r.reason, "reason", kit::rpc::LONG_MAX);
        let extra = u32::try_from(r.extra_working_days)
            .ok()
            .filter(|d| (1..=45).contains(d));
        v.check(extra.is_some(), "extra_working_days", "must be 1-45");
        match extra {
            Some(extra_working_days) if v.is_empty() => Ok(Extension {
                extra_working_days,
                reason,
            }),
            _ => Err(v),
        }
    }
}

pub async fn handle(
    api: &AssistanceApi,
    request: Request<pb::ExtendReviewDeadlineRequest>,
) -> Result<Response<pb::Application>, Status> {
    api.rpc
        .write(
            request,
            async |c, req| {
                let sealer = c.sealer().clone();
                let rec = store::load_application(c.db(), &sealer, &req.application_id).await?;
                c.authorize(APPROVER, Some(&rec.household.region))?;
                c.object(format!("application/{}", rec.id));
                Ok(rec)
            },
            async |c, ext: Extension, mut rec| {
                let (accepted, deadline) = open_deadline(&rec)?;
                let calendar = c.rpc().calendar();
                let extended =
                    extend_deadline(calendar, accepted, deadline, ext.extra_working_days)
                        .map_err(|e| refuse("ASSISTANCE_EXTENSION_TOO_LONG", e.to_string()))?;
                rec.extensions.push(ExtensionRecord {
                    previous_deadline: fmt_date(deadline),
                    new_deadline: fmt_date(extended),
                    reason: ext.reason,
                    approved_by: c.principal().subject.clone(),
                    recorded_on: fmt_date(c.today()),
                });
                rec.deadline = Some(fmt_date(extended));
                saved(c, &rec).await
            },
        )
        .await
}

/// The acceptance date and running deadline of an accepted, undecided application.
fn open_deadline(rec: &ApplicationRecord) -> Result<(Date, Date), ServiceError> {
    let accepted = rec.accepted_on.as_deref().and_then(parse_date);
    let deadline = rec.deadline.as_deref().and_then(parse_date);
    match (accepted, deadline, rec.state.is_open()) {
        (Some(accepted), Some(deadline), true) => Ok((accepted, deadline)),
        _ => Err(refuse(
            "ASSISTANCE_OUT_OF_ORDER",
            "only an accepted, undecided application has a deadline to extend",
        )),
    }
}
