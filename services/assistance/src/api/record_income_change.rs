//! RecordIncomeChange: the township clerk records a member's changed income; the benefit is
//! recomputed, enters its phase-out (渐退) after income from work, or lapses.

use contracts::civil::assistance::v1 as pb;
use kit::Violations;
use tonic::{Request, Response, Status};

use super::AssistanceApi;
use super::shared::{CLERK, forget_now};
use crate::benefits::{IncomeChange, benefit_in_scope, income_change, save_change};
use crate::convert::{benefit_to_proto, parse_incomes};
use crate::domain::month::Month;

impl TryFrom<pb::RecordIncomeChangeRequest> for IncomeChange {
    type Error = Violations;

    fn try_from(r: pb::RecordIncomeChangeRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let member = v.id_number(&r.member_id_number, "member_id_number");
        let incomes = parse_incomes(&mut v, &r.incomes, "incomes");
        match member {
            Some(member) if v.is_empty() => Ok(IncomeChange {
                member,
                incomes,
                from_employment: r.from_employment,
            }),
            _ => Err(v),
        }
    }
}

pub async fn handle(
    api: &AssistanceApi,
    request: Request<pb::RecordIncomeChangeRequest>,
) -> Result<Response<pb::Benefit>, Status> {
    let policy = api.inner.policy.clone();
    let result = api
        .rpc
        .write(
            request,
            async |c, req| benefit_in_scope(c, CLERK, &req.benefit_id).await,
            async |c, change: IncomeChange, mut rec| {
                let (today, subject) = (c.today(), c.principal().subject.clone());
                let (from, reason) = income_change(&mut rec, &policy, change, &subject, today)?;
                save_change(c, &rec, from, reason).await?;
                let full = c.principal().sees_full_identity_numbers();
                Ok(benefit_to_proto(&rec, full, Month::of(today)))
            },
        )
        .await;
    forget_now(api, result, |b| &b.id).await
}
