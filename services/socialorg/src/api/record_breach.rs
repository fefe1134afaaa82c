//! RecordBreach: a breach the bureau decided (warning, fine, revocation, ...) lists the
//! organisation on the list the rules name.

use contracts::civil::socialorg::v1 as pb;
use kit::rpc::{LONG_MAX, Rpc, Text as _};
use kit::{ServiceError, Violations};
use time::Date;
use tonic::{Request, Response, Status};

use super::listings::emit;
use super::shared::{authority, authorized_org, locked_active};
use crate::convert;
use crate::domain::credit_list::{self, Listing, Trigger};
use crate::store::{self, OrgStatus};

pub struct Breach {
    trigger: Trigger,
    decided_on: Date,
    evidence: String,
    fine_fen: i64,
}

impl TryFrom<pb::RecordBreachRequest> for Breach {
    type Error = Violations;

    fn try_from(req: pb::RecordBreachRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let trigger = convert::trigger_in(req.trigger).filter(|t| t.is_recorded_breach());
        let rule =
            "must be a breach the bureau decides (not a missed report or the two-year escalation)";
        v.check(trigger.is_some(), "trigger", rule);
        let decided_on = v.date(req.decided_on.as_ref(), "decided_on");
        let evidence = v.text(&req.evidence, "evidence", LONG_MAX);
        v.check(req.fine_fen >= 0, "fine_fen", "must not be negative");
        if trigger == Some(Trigger::Fine) {
            v.check(req.fine_fen > 0, "fine_fen", "is required for a fine");
        }
        let (Some(trigger), Some(decided_on), true) = (trigger, decided_on, v.is_empty()) else {
            return Err(v);
        };
        let fine_fen = if trigger == Trigger::Fine {
            req.fine_fen
        } else {
            0
        };
        Ok(Self {
            trigger,
            decided_on,
            evidence,
            fine_fen,
        })
    }
}

pub async fn handle(
    rpc: &Rpc,
    request: Request<pb::RecordBreachRequest>,
) -> Result<Response<pb::Listing>, Status> {
    let authority = authority(rpc);
    rpc.write(
        request,
        async |c, req| authorized_org(c, &req.organisation_id, false).await,
        async |c, b: Breach, org| {
            let mut o = locked_active(c.db(), &org.id).await?;
            let listing = Listing {
                id: uuid::Uuid::now_v7().to_string(),
                list: credit_list::list_for(b.trigger, b.fine_fen),
                trigger: b.trigger,
                listed_on: b.decided_on,
                report_year: None,
                corrected_on: None,
                removal_due: None,
                removed_on: None,
                removal_reason: None,
            };
            store::insert_listing(c.db(), &o.id, &listing, b.fine_fen, &b.evidence, &authority)
                .await?;
            if b.trigger == Trigger::Revocation {
                o.status = OrgStatus::Revoked;
                o.ended_on = Some(b.decided_on);
                let now = c.now_ms();
                store::update_org(c.db(), &o, now).await?;
            }
            let row = store::listing_by_id(c.db(), &listing.id)
                .await?
                .ok_or_else(|| ServiceError::not_found("listing"))?;
            emit(c.db(), &row, true).await?;
            Ok(convert::listing_out(&row))
        },
    )
    .await
}
