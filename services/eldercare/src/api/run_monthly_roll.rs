//! RunMonthlyRoll: one roll per month, at the amounts of the version in force for that month.

use contracts::civil::eldercare::v1 as pb;
use kit::{ServiceError, Violations};
use money::Fen;
use time::Date;
use tonic::{Request, Response, Status};

use super::{Svc, shared};
use crate::convert;
use crate::domain::policy::EldercarePolicy;
use crate::domain::{Refusal, allowance, month_start};
use crate::store::{self, month_text, rolls};

pub struct RollMonth(Date);

impl TryFrom<pb::RunMonthlyRollRequest> for RollMonth {
    type Error = Violations;
    fn try_from(req: pb::RunMonthlyRollRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        match convert::month_in(&mut v, req.year, req.month, "month") {
            Some(m) => Ok(RollMonth(m)),
            None => Err(v),
        }
    }
}

/// The month's lines: each allowance holder's amount for the month, under that month's amounts.
async fn lines(
    c: &mut kit::rpc::Call,
    policy: &EldercarePolicy,
    month: Date,
) -> Result<Vec<(String, Fen)>, ServiceError> {
    let amounts = policy.for_month(month).allowance;
    Ok(store::allowance_holders(c.db())
        .await?
        .into_iter()
        .map(|e| {
            let amount =
                allowance::amount_for_month(e.birth_date, e.date_of_death, month, &amounts);
            (e.id, amount)
        })
        .filter(|(_, amount)| *amount > Fen::ZERO)
        .collect())
}

pub async fn handle(
    svc: &Svc,
    request: Request<pb::RunMonthlyRollRequest>,
) -> Result<Response<pb::AllowanceRoll>, Status> {
    svc.rpc
        .write(
            request,
            async |c, req| {
                c.object(format!("rolls/{}-{}", req.year, req.month));
                c.authorize(shared::STAFF_OR_SERVICE, Some(&svc.county))
            },
            async |c, RollMonth(month), ()| {
                if month > month_start(c.today()) {
                    return Err(Refusal::RollMonthOpen.into());
                }
                let key = month_text(month);
                c.object(format!("rolls/{key}"));
                if rolls::roll(c.db(), &key).await?.is_none() {
                    let lines = lines(c, &svc.policy, month).await?;
                    let now = c.now_ms();
                    rolls::insert_roll(c.db(), &key, &lines, now).await?;
                }
                let roll = rolls::roll(c.db(), &key)
                    .await?
                    .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("roll vanished")))?;
                Ok(pb::AllowanceRoll {
                    year: month.year(),
                    month: i32::from(u8::from(month.month())),
                    recipients: i32::try_from(roll.recipients).unwrap_or(i32::MAX),
                    total_fen: roll.total_fen,
                })
            },
        )
        .await
}
