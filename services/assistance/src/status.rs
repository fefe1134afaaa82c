//! A person's recipient status for other bureaus, from the cache or the store.

use std::sync::atomic::Ordering;
use std::time::Duration;

use contracts::civil::assistance::v1 as pb;
use kit::ServiceError;
use kit::rpc::Call;
use prost::Message;

use crate::api::{Inner, status_key};
use crate::convert::{benefit_state_to_proto, kind_to_proto, visible_state};
use crate::domain::month::Month;
use crate::procedure::index_of;
use crate::records::BenefitState;
use crate::store;

/// How long a shared (Redis) copy of a recipient status lives; changes invalidate it at once.
const STATUS_TTL: Duration = Duration::from_secs(300);

/// The person's status as stored (all regions), from the cache or the store.
pub(crate) async fn status_of(
    c: &mut Call,
    inner: &Inner,
    index: &str,
) -> Result<pb::RecipientStatus, ServiceError> {
    let key = status_key(index);
    let cache = c.rpc().cache().clone();
    if let Some(bytes) = cache.get(&key).await
        && let Ok(status) = pb::RecipientStatus::decode(bytes.as_slice())
    {
        return Ok(status);
    }
    let generation = inner.invalidations.load(Ordering::SeqCst);
    let status = stored_status(c, index).await?;
    // A change committed while we read may already have invalidated the key: caching what we
    // read then would serve the old status until the TTL ends.
    if inner.invalidations.load(Ordering::SeqCst) == generation {
        cache.set(&key, status.encode_to_vec(), STATUS_TTL).await;
        // An invalidation that slipped in between the check and the set wins.
        if inner.invalidations.load(Ordering::SeqCst) != generation {
            cache.invalidate(&key).await;
        }
    }
    Ok(status)
}

async fn stored_status(c: &mut Call, index: &str) -> Result<pb::RecipientStatus, ServiceError> {
    let month = Month::of(c.today());
    let sealer = c.sealer().clone();
    let mut status = pb::RecipientStatus::default();
    // Benefits first, the death record second: a TerminateForDeath committing in between then
    // shows as the death (with what the person received), never as "nothing at all".
    let benefits = store::benefits_of_person(c.db(), &sealer, index).await?;
    // A person whose death is recorded receives nothing any more; `at_death` keeps what they
    // received, for decisions taken after the death (the funeral fee waiver).
    if let Some(stored) = store::death_response(c.db(), index).await? {
        status.at_death = crate::death::decode_death(&stored)?.effects;
        return Ok(status);
    }
    for rec in benefits {
        let state = visible_state(&rec, month);
        if state == BenefitState::Terminated {
            continue;
        }
        let still_member = rec.terms.current().household.members.iter().any(|m| {
            m.counts_in(month) && index_of(&sealer, &m.id_number).as_deref() == Some(index)
        });
        if !still_member {
            continue;
        }
        status.active_benefits.push(pb::RecipientBenefit {
            benefit_id: rec.id.clone(),
            kind: kind_to_proto(rec.kind()),
            state: benefit_state_to_proto(state),
            since_month: rec.terms.paid_from.to_string(),
            approved_on: crate::records::parse_date(&rec.approved_on)
                .map(kit::error::to_proto_date),
            household_region: rec.region().to_owned(),
        });
    }
    Ok(status)
}
