//! Signals the suite raises itself, from assistance's own events: a benefit terminated (by
//! death, which funeral's death registration reaches through TerminateForDeath, or for another
//! reason). Each is taken in once per benefit (source `suite`, record `benefit_terminated:<id>`).

use std::sync::Arc;

use contracts::civil::assistance::v1 as pb;
use kit::events::Topic;
use kit::store::Db;

use super::intake::{Intake, Signal, ingest};
use crate::domain::monitoring::SignalKind;
use crate::domain::monitoring::rules::MonitoringPolicy;
use crate::store;

pub(crate) const BENEFIT_TERMINATED: Topic<pb::BenefitTerminated> =
    Topic::new("assistance.benefit_terminated");

/// Subscribes the monitoring consumer to assistance's terminations.
pub(crate) fn subscribe(ctx: &kit::ServiceContext, db: Db, policy: Arc<MonitoringPolicy>) {
    let ctx2 = ctx.clone();
    ctx.bus.subscribe_to(
        &BENEFIT_TERMINATED,
        "assistance-monitoring",
        move |_, msg: pb::BenefitTerminated| {
            let (ctx, db, policy) = (ctx2.clone(), db.clone(), policy.clone());
            async move { on_benefit_terminated(&ctx, &db, &policy, &msg).await }
        },
        ctx.shutdown.clone(),
    );
}

/// A terminated benefit becomes a signal on its household: `death` when the recipient died,
/// `benefit_terminated` otherwise, unless the household is in another live benefit that
/// superseded this one.
pub(crate) async fn on_benefit_terminated(
    ctx: &kit::ServiceContext,
    db: &Db,
    policy: &MonitoringPolicy,
    msg: &pb::BenefitTerminated,
) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    let benefit = store::load_benefit(&mut tx, &ctx.sealer, &msg.benefit_id).await?;
    let members = store::member_indexes(&mut tx, &benefit.id).await?;
    let Some(person) = members.first() else {
        return Ok(());
    };
    // Superseded (a 低保边缘 household now in 低保 or 特困): still covered, nothing to watch.
    if msg.reason != pb::TerminationReason::Death as i32
        && crate::store::household_of(&mut tx, person)
            .await?
            .is_some_and(|h| h.id != benefit.id)
    {
        return Ok(());
    }
    let died = msg.reason == pb::TerminationReason::Death as i32;
    let today = ctx.clock.today();
    let signal = Signal {
        source: "suite".into(),
        record: format!("benefit_terminated:{}", benefit.id),
        kind: if died {
            SignalKind::Death
        } else {
            SignalKind::BenefitTerminated
        },
        person: person.clone(),
        region: benefit.region().to_owned(),
        occurred_on: today,
        amount_fen: 0,
        detail: format!("benefit ended from {}", msg.effective_month),
    };
    let intake = Intake {
        sealer: &ctx.sealer,
        calendar: &ctx.calendar,
        policy,
        today,
        now_ms: ctx.clock.now_ms(),
    };
    ingest(&mut tx, &intake, &signal).await?;
    tx.commit().await?;
    Ok(())
}
