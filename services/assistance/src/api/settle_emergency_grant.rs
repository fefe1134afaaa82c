//! SettleEmergencyGrant (先行救助): the county completes the paperwork of an emergency grant
//! paid first, or orders it recovered with the reason.

use contracts::civil::assistance::v1 as pb;
use kit::Violations;
use kit::rpc::Text as _;
use tonic::{Request, Response, Status};

use super::shared::{APPROVER, forget_now};
use super::{AssistanceApi, refuse};
use crate::benefits::{benefit_in_scope, save_change};
use crate::convert::benefit_to_proto;
use crate::domain::month::Month;
use crate::domain::temporary::{SettleRefusal, settle};

/// Completed, or recovered with the reason.
pub struct Settlement {
    completed: bool,
    note: String,
}

impl TryFrom<pb::SettleEmergencyGrantRequest> for Settlement {
    type Error = Violations;

    fn try_from(r: pb::SettleEmergencyGrantRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let note = if r.completed {
            v.optional_text(&r.note, "note", kit::rpc::LONG_MAX)
        } else {
            v.text(&r.note, "note", kit::rpc::LONG_MAX)
        };
        if v.is_empty() {
            Ok(Settlement {
                completed: r.completed,
                note,
            })
        } else {
            Err(v)
        }
    }
}

fn refused(e: SettleRefusal) -> kit::ServiceError {
    let reason = match e {
        SettleRefusal::NotEmergency => "ASSISTANCE_NOT_EMERGENCY",
        SettleRefusal::Settled => "ASSISTANCE_PAPERWORK_SETTLED",
    };
    refuse(reason, e.to_string())
}

pub async fn handle(
    api: &AssistanceApi,
    request: Request<pb::SettleEmergencyGrantRequest>,
) -> Result<Response<pb::Benefit>, Status> {
    let result = api
        .rpc
        .write(
            request,
            async |c, req| benefit_in_scope(c, APPROVER, &req.benefit_id).await,
            async |c, s: Settlement, mut rec| {
                let paperwork = settle(rec.paperwork, s.completed).map_err(refused)?;
                rec.paperwork = Some(paperwork);
                let (today, subject) = (c.today(), c.principal().subject.clone());
                let why = if s.completed {
                    "paperwork completed".to_owned()
                } else {
                    format!("to be recovered: {}", s.note)
                };
                let month = Month::of(today);
                rec.record_history(month, &why, &subject, today);
                save_change(c, &rec, month, &why).await?;
                let full = c.principal().sees_full_identity_numbers();
                Ok(benefit_to_proto(&rec, full, month))
            },
        )
        .await;
    forget_now(api, result, |b| &b.id).await
}
