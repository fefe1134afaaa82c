//! 免申即享: a death registered in funeral starts the after-death case without the family
//! applying, or joins the case the family already started.
//!
//! Deduplicated twice: by event id (the inbox: a redelivered event does nothing) and by the
//! deceased's blind index (the unique `dedupe_key`: a second death registration event for the
//! same person, or a family application racing the event, never makes a second case).

use std::sync::Arc;

use prost::Message;
use serde_json::json;
use tracing::Instrument;

use contracts::civil::funeral::v1::DeathRegistered;
use contracts::civil::onematter::v1::AfterDeathMatter;
use kit::ServiceContext;
use kit::outbox::Event;

use crate::executor::Executor;
use crate::executor::store::{self, NewCase};
use crate::workflows::after_death;

pub const TOPIC_DEATH_REGISTERED: &str = "funeral.death_registered";
const CONSUMER: &str = "onematter.after_death";

/// The dedupe key of a person's after-death case.
pub fn after_death_key(person_index: &str) -> String {
    format!("{}:{person_index}", after_death::KIND)
}

/// Subscribes the executor's store to funeral's death registrations.
pub fn subscribe(ctx: &ServiceContext, executor: Arc<Executor>) {
    let handler: kit::bus::Handler = Arc::new(move |event: Event| {
        let executor = executor.clone();
        Box::pin(async move { on_death_registered(&executor, &event).await.map(|_| ()) })
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
        let id = uuid::Uuid::now_v7().to_string();
        let matter = AfterDeathMatter {
            death_case: msg.death_case.clone(),
            ..Default::default()
        };
        let new = NewCase {
            id: id.clone(),
            kind: after_death::KIND,
            dedupe_key: key.clone(),
            region: msg.region.clone(),
            applicant: String::new(),
            declarant_sealed: String::new(),
            declarant_index: String::new(),
            declarant_relationship: String::new(),
            subject_sealed: String::new(),
            subject_index: msg.person_index.clone(),
            input_sealed: executor.seal_input(&matter.encode_to_vec()),
            facts: facts.clone(),
            origin: TOPIC_DEATH_REGISTERED.into(),
            traceparent: event.traceparent.clone(),
        };
        let handled = if executor.create_case(&mut tx, &new).await? {
            tracing::info!(case_id = %id, "after-death case started without application");
            Handled::Started(id)
        } else {
            let existing = store::find_by_dedupe_key(&mut tx, &key)
                .await?
                .ok_or_else(|| anyhow::anyhow!("case vanished"))?;
            store::merge_facts(&mut tx, &existing, &facts).await?;
            store::append_event(
                &mut tx,
                &existing,
                "death_registered",
                "",
                &format!("funeral registered the death: {}", msg.death_case),
                kit::now_ms(),
            )
            .await?;
            Handled::Joined(existing)
        };
        tx.commit().await?;
        Ok(handled)
    }
    .instrument(span)
    .await
}
