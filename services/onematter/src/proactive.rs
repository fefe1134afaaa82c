//! 免申即享: a death registered in funeral starts the after-death case without the family
//! applying, or joins the case the family already started; a marriage registered in marriage
//! starts the marriage-birth-household case (RULES.md, one-matter workflows).
//!
//! Deduplicated twice: by event id (the inbox: a redelivered event does nothing) and by the
//! deceased's blind index (the unique `dedupe_key`: a second death registration event for the
//! same person, or a family application racing the event, never makes a second case).

use futures::FutureExt as _;
use std::sync::Arc;

use prost::Message;
use serde_json::json;
use tracing::Instrument;

use contracts::civil::funeral::v1::{CremationCompleted, DeathRegistered};
use contracts::civil::marriage::v1::MarriageRegistered;
use contracts::civil::onematter::v1::{AfterDeathMatter, MarriageBirthHouseholdMatter};
use kit::ServiceContext;
use kit::outbox::Event;

use crate::executor::Executor;
use crate::executor::store::{self, NewCase};
use crate::workflows::{after_death, marriage_birth_household};

pub const TOPIC_DEATH_REGISTERED: &str = "funeral.death_registered";
pub const TOPIC_CREMATION_COMPLETED: &str = "funeral.cremation_completed";
const CONSUMER: &str = "onematter.after_death";
pub const TOPIC_MARRIAGE_REGISTERED: &str = "marriage.marriage_registered";
const MARRIAGE_CONSUMER: &str = "onematter.marriage_birth_household";

/// The dedupe key of a person's after-death case.
pub fn after_death_key(person_index: &str) -> String {
    format!("{}:{person_index}", after_death::KIND)
}

/// Subscribes the executor's store to funeral's death registrations and, unless the county
/// turned it off (`CIVIL_ONEMATTER_PROACTIVE_MARRIAGE=off`), to marriage's registrations.
pub fn subscribe(ctx: &ServiceContext, executor: Arc<Executor>) {
    let marriage_on = ctx
        .config
        .service_setting("onematter", "proactive_marriage");
    if marriage_on != Some("off") {
        subscribe_marriages(ctx, executor.clone());
    }
    subscribe_cremations(ctx, executor.clone());
    subscribe_deaths(ctx, executor);
}

fn subscribe_cremations(ctx: &ServiceContext, executor: Arc<Executor>) {
    let handler: kit::bus::Handler = Arc::new(move |event: Event| {
        let executor = executor.clone();
        async move { on_cremation_completed(&executor, &event).await.map(|_| ()) }.boxed()
    });
    ctx.bus.subscribe(
        TOPIC_CREMATION_COMPLETED,
        "onematter",
        handler,
        ctx.shutdown.clone(),
    );
}

/// A cremation certificate was issued: the after-death case of that person stops waiting for
/// it (its funeral step rechecks now; household deregistration follows). Waking is idempotent,
/// so a redelivered event needs no inbox entry.
pub async fn on_cremation_completed(executor: &Executor, event: &Event) -> anyhow::Result<bool> {
    let msg: CremationCompleted = event.decode()?;
    if msg.person_index.is_empty() {
        return Ok(false);
    }
    let key = after_death_key(&msg.person_index);
    let mut conn = executor.db().pool.acquire().await?;
    let Some(case_id) = store::find_by_dedupe_key(&mut conn, &key).await? else {
        return Ok(false);
    };
    drop(conn);
    match executor.wake(&case_id, after_death::DISPOSAL).await? {
        store::Wake::Woken => {
            tracing::info!(case_id = %case_id, "cremation completed: funeral step rechecks now");
            executor.signals().notify(&case_id);
            Ok(true)
        }
        // It may have read the case before the cremation: the bus redelivers after a back-off.
        store::Wake::Running => anyhow::bail!("the funeral step is running; look again"),
        store::Wake::Nothing => Ok(false),
    }
}

fn subscribe_marriages(ctx: &ServiceContext, executor: Arc<Executor>) {
    let county = ctx.config.county.clone();
    let marriages = executor.clone();
    let handler: kit::bus::Handler = Arc::new(move |event: Event| {
        let (executor, county) = (marriages.clone(), county.clone());
        async move {
            on_marriage_registered(&executor, &county, &event)
                .await
                .map(|_| ())
        }
        .boxed()
    });
    ctx.bus.subscribe(
        TOPIC_MARRIAGE_REGISTERED,
        "onematter",
        handler,
        ctx.shutdown.clone(),
    );
}

fn subscribe_deaths(ctx: &ServiceContext, executor: Arc<Executor>) {
    let handler: kit::bus::Handler = Arc::new(move |event: Event| {
        let executor = executor.clone();
        async move { on_death_registered(&executor, &event).await.map(|_| ()) }.boxed()
    });
    ctx.bus.subscribe(
        TOPIC_DEATH_REGISTERED,
        "onematter",
        handler,
        ctx.shutdown.clone(),
    );
}

/// What handling an event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    Started(String),
    Joined(String),
    Duplicate,
    Ignored,
}

/// Starts or joins the after-death case of the person the event names.
pub async fn on_death_registered(executor: &Executor, event: &Event) -> anyhow::Result<Handled> {
    let span = tracing::info_span!("onematter.death_registered", event_id = %event.id);
    kit::telemetry::set_parent_from_traceparent(&span, &event.traceparent);
    async move {
        let msg: DeathRegistered = event.decode()?;
        if msg.person_index.is_empty() || msg.death_case.is_empty() {
            tracing::warn!("death registration event without person index or case; ignored");
            return Ok(Handled::Ignored);
        }
        let mut tx = executor.db().begin().await?;
        if !kit::outbox::first_delivery(&mut tx, CONSUMER, &event.id).await? {
            tx.rollback().await?;
            return Ok(Handled::Duplicate);
        }
        let key = after_death_key(&msg.person_index);
        let facts = json!({ "death_case": msg.death_case });
        let new = new_case(executor, &msg, &key, &facts, &event.traceparent);
        let id = new.id.clone();
        let handled = if executor.create_case(&mut tx, &new).await? {
            tracing::info!(case_id = %id, "after-death case started without application");
            Handled::Started(id)
        } else {
            Handled::Joined(join(&mut tx, &key, &facts, &msg.death_case).await?)
        };
        tx.commit().await?;
        if let Handled::Started(id) | Handled::Joined(id) = &handled {
            executor.signals().notify(id);
        }
        Ok(handled)
    }
    .instrument(span)
    .await
}

/// The case a death registration starts: no applicant yet (the family is verified when it
/// applies, crate::family), the death case known from the event.
fn new_case(
    executor: &Executor,
    msg: &DeathRegistered,
    key: &str,
    facts: &serde_json::Value,
    traceparent: &str,
) -> NewCase {
    let matter = AfterDeathMatter {
        death_case: msg.death_case.clone(),
        ..Default::default()
    };
    NewCase {
        id: uuid::Uuid::now_v7().to_string(),
        kind: after_death::KIND,
        dedupe_key: key.to_owned(),
        region: msg.region.clone(),
        applicant: String::new(),
        applicant_evidence: crate::family::Evidence::None.as_str(),
        declarant_sealed: String::new(),
        declarant_index: String::new(),
        declarant_relationship: String::new(),
        subject_sealed: String::new(),
        subject_index: msg.person_index.clone(),
        input_sealed: executor.seal_input(&matter.encode_to_vec()),
        facts: facts.clone(),
        origin: TOPIC_DEATH_REGISTERED.into(),
        traceparent: traceparent.to_owned(),
    }
}

/// The person has a case already (the family applied first): it learns the death case.
async fn join(
    conn: &mut sqlx::AnyConnection,
    key: &str,
    facts: &serde_json::Value,
    death_case: &str,
) -> anyhow::Result<String> {
    let existing = store::find_by_dedupe_key(conn, key)
        .await?
        .ok_or_else(|| anyhow::anyhow!("case vanished"))?;
    store::merge_facts(conn, &existing, facts).await?;
    let message = format!("funeral registered the death: {death_case}");
    store::append_event(
        conn,
        &existing,
        "death_registered",
        "",
        &message,
        kit::now_ms(),
    )
    .await?;
    Ok(existing)
}

/// Starts the marriage-birth-household case of a registered marriage (once per certificate:
/// a couple that applied first keeps its case). The event names the spouses masked only: the
/// case's first step reads them from the marriage record. Birth-service registration is the
/// couple's choice, so a case started without application does not register them.
pub async fn on_marriage_registered(
    executor: &Executor,
    county: &str,
    event: &Event,
) -> anyhow::Result<Handled> {
    let msg: MarriageRegistered = event.decode()?;
    if msg.certificate_number.is_empty() {
        tracing::warn!("marriage registration event without certificate; ignored");
        return Ok(Handled::Ignored);
    }
    let mut tx = executor.db().begin().await?;
    if !kit::outbox::first_delivery(&mut tx, MARRIAGE_CONSUMER, &event.id).await? {
        tx.rollback().await?;
        return Ok(Handled::Duplicate);
    }
    let matter = MarriageBirthHouseholdMatter {
        marriage_certificate_number: msg.certificate_number.clone(),
        ..Default::default()
    };
    let kind = marriage_birth_household::KIND;
    let new = NewCase {
        id: uuid::Uuid::now_v7().to_string(),
        kind,
        dedupe_key: format!("{kind}:{}", msg.certificate_number),
        region: county.to_owned(),
        applicant: String::new(),
        applicant_evidence: crate::family::Evidence::None.as_str(),
        declarant_sealed: String::new(),
        declarant_index: String::new(),
        declarant_relationship: String::new(),
        subject_sealed: String::new(),
        subject_index: String::new(),
        input_sealed: executor.seal_input(&matter.encode_to_vec()),
        facts: json!({ "marriage": msg.certificate_number }),
        origin: TOPIC_MARRIAGE_REGISTERED.into(),
        traceparent: event.traceparent.clone(),
    };
    let handled = if executor.create_case(&mut tx, &new).await? {
        Handled::Started(new.id.clone())
    } else {
        Handled::Duplicate
    };
    tx.commit().await?;
    if let Handled::Started(id) = &handled {
        executor.signals().notify(id);
    }
    Ok(handled)
}
