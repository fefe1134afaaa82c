//! RunDailyGrants: the advanced-age allowance granted without application; and the daily job
//! that runs it for today.

use std::time::Duration;

use auth::audit::AuditEntry;
use contracts::civil::eldercare::v1 as pb;
use kit::error::to_proto_date;
use kit::{ServiceError, Violations};
use sqlx::AnyConnection;
use time::Date;
use tonic::{Request, Response, Status};

use super::{Svc, shared};
use crate::convert::{bracket_out, elder_name};
use crate::domain::Refusal;
use crate::domain::allowance::{self, Grant, GrantDayProblem};
use crate::domain::policy::EldercarePolicy;
use crate::store::{self, ElderRow};

pub struct GrantDay(Date);

impl TryFrom<pb::RunDailyGrantsRequest> for GrantDay {
    type Error = Violations;
    fn try_from(req: pb::RunDailyGrantsRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        match v.date(req.date.as_ref(), "date") {
            Some(day) => Ok(GrantDay(day)),
            None => Err(v),
        }
    }
}

/// The grants due on `day`: how many granted and upgraded, and one event per elder.
pub struct Grants {
    pub granted: i32,
    pub upgraded: i32,
    pub events: Vec<pb::AllowanceGranted>,
}

/// Grants and upgrades the allowance for everyone who has reached a bracket on `day`.
pub async fn grants_on(
    conn: &mut AnyConnection,
    policy: &EldercarePolicy,
    day: Date,
    now_ms: i64,
) -> Result<Grants, ServiceError> {
    // Anyone born after 31 December of (year - 80) cannot be 80 yet.
    let born_by = Date::from_calendar_date(day.year() - 80, time::Month::December, 31)
        .map_err(|e| ServiceError::invalid("date", e.to_string()))?;
    let mut out = Grants {
        granted: 0,
        upgraded: 0,
        events: Vec::new(),
    };
    for e in store::living_born_by(conn, born_by).await? {
        let Some(grant) = allowance::grant_on(e.birth_date, day) else {
            continue;
        };
        if e.bracket.is_some_and(|b| b >= grant.bracket) {
            continue;
        }
        let count = if e.bracket.is_some() {
            &mut out.upgraded
        } else {
            &mut out.granted
        };
        *count = count.saturating_add(1);
        store::set_bracket(conn, &e.id, grant.bracket, grant.payable_from, now_ms).await?;
        out.events.push(granted_event(policy, &e, grant));
    }
    Ok(out)
}

fn granted_event(policy: &EldercarePolicy, e: &ElderRow, grant: Grant) -> pb::AllowanceGranted {
    let amount = policy
        .for_month(grant.payable_from)
        .allowance
        .monthly(grant.bracket);
    pb::AllowanceGranted {
        event_id: String::new(),
        elder: elder_name(&e.id),
        person_index: e.person_index.clone(),
        bracket: bracket_out(grant.bracket).into(),
        monthly_amount_fen: amount.get(),
        payable_from: Some(to_proto_date(grant.payable_from)),
    }
}

/// A grant day is today or a missed day in the catch-up window, from the policy start.
fn check_day(policy: &EldercarePolicy, day: Date, today: Date) -> Result<(), ServiceError> {
    match allowance::check_grant_day(day, today, policy.start(), policy.grants_catch_up_days) {
        Ok(()) => Ok(()),
        Err(GrantDayProblem::BeforePolicyStart) => Err(ServiceError::invalid(
            "date",
            format!(
                "is before the allowance policy start {}",
                store::date_text(policy.start())
            ),
        )),
        Err(GrantDayProblem::NotReached) => Err(Refusal::GrantDayNotReached.into()),
        Err(GrantDayProblem::PastCatchUp) => Err(Refusal::GrantDayPastCatchUp.into()),
    }
}

pub async fn handle(
    svc: &Svc,
    request: Request<pb::RunDailyGrantsRequest>,
) -> Result<Response<pb::RunDailyGrantsResponse>, Status> {
    svc.rpc
        .write(
            request,
            async |c, _| {
                c.object("allowances");
                c.authorize(shared::STAFF_OR_SERVICE, Some(&svc.county))
            },
            async |c, GrantDay(day), ()| {
                check_day(&svc.policy, day, c.today())?;
                let now = c.now_ms();
                let grants = grants_on(c.db(), &svc.policy, day, now).await?;
                c.purpose("granted without application");
                let topic = crate::events::ALLOWANCE_GRANTED;
                for event in &grants.events {
                    c.also_audit(event.elder.clone());
                    let key = event.elder.trim_start_matches("elders/").to_owned();
                    c.publish(topic.name(), &topic.event_type(), &key, event)
                        .await?;
                }
                Ok(pb::RunDailyGrantsResponse {
                    granted: grants.granted,
                    upgraded: grants.upgraded,
                })
            },
        )
        .await
}

/// Runs the grants for today every hour (safe to repeat), until the process stops.
pub async fn daily_job(svc: Svc) {
    loop {
        if let Err(e) = run_today(&svc).await {
            tracing::warn!(error = %e, "daily allowance grants failed; retrying later");
        }
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
}

async fn run_today(svc: &Svc) -> Result<(), ServiceError> {
    let ctx = svc.rpc.ctx();
    let system = auth::Principal {
        subject: format!("svc-{}", ctx.name),
        name: "daily allowance grants".into(),
        roles: vec![auth::Role::Service],
        region: svc.county.clone(),
        organisation: None,
        on_behalf_of: None,
        profile: None,
        id_number: None,
    };
    let clock = svc.rpc.clock();
    let mut tx = svc.rpc.db().begin().await?;
    let grants = grants_on(&mut tx, &svc.policy, clock.today(), clock.now_ms()).await?;
    let mut rows = Vec::new();
    for event in &grants.events {
        let key = event.elder.trim_start_matches("elders/");
        kit::outbox::append_to(&mut tx, &crate::events::ALLOWANCE_GRANTED, key, event).await?;
        rows.push(
            AuditEntry::new(&system, "eldercare.RunDailyGrants", &event.elder)
                .with_purpose("granted without application"),
        );
    }
    auth::audit::append(&mut tx, &rows).await?;
    tx.commit().await?;
    Ok(())
}
