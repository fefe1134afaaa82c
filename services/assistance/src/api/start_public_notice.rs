//! StartPublicNotice (公示): 7 days with the posting day as day 1; the text is composed here
//! (no minors); for 特困 the confirmation deadline runs from the notice's end.

use contracts::civil::assistance::v1 as pb;
use kit::Violations;
use time::Date;
use tonic::{Request, Response, Status};

use super::shared::CLERK;
use super::shared::application_in_scope;
use super::shared::saved;
use super::{AssistanceApi, refuse};
use crate::domain::application::{Step, confirmation_deadline, notice_end};
use crate::domain::benefit::BenefitKind;
use crate::procedure::{not_in_future, step};
use crate::records::{NoticeRecord, fmt_date, parse_date};

/// The day the notice was posted.
pub struct Posting(Date);

impl TryFrom<pb::StartPublicNoticeRequest> for Posting {
    type Error = Violations;

    fn try_from(r: pb::StartPublicNoticeRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        match v.date(r.start_date.as_ref(), "start_date") {
            Some(start) if v.is_empty() => Ok(Posting(start)),
            _ => Err(v),
        }
    }
}

pub async fn handle(
    api: &AssistanceApi,
    request: Request<pb::StartPublicNoticeRequest>,
) -> Result<Response<pb::Application>, Status> {
    let policy = api.inner.policy.clone();
    api.rpc
        .write(
            request,
            async |c, req| application_in_scope(c, CLERK, &req.application_id).await,
            async |c, Posting(start), mut rec| {
                step(&mut rec, Step::StartNotice)?;
                not_in_future(start, c.today())?;
                let last_visit = rec.visits.iter().filter_map(|v| parse_date(&v.date)).max();
                if last_visit.is_some_and(|visit| start < visit) {
                    return Err(refuse(
                        "ASSISTANCE_NOTICE_BEFORE_INVESTIGATION",
                        "the notice starts before the last home visit",
                    ));
                }
                let objections = rec.notice.take().map(|n| n.objections).unwrap_or_default();
                let end = notice_end(start);
                let text = crate::notice::compose(&rec, policy.in_force_on(start), start, end);
                rec.notice = Some(NoticeRecord {
                    start: fmt_date(start),
                    end: fmt_date(end),
                    objections,
                    text,
                });
                if rec.kind == BenefitKind::ExtremePoverty {
                    let calendar = c.rpc().calendar();
                    rec.confirmation_deadline =
                        Some(fmt_date(confirmation_deadline(calendar, end)));
                }
                saved(c, &rec).await
            },
        )
        .await
}
