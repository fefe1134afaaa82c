//! RecordDeath: a person's death; a marriage in effect ends and the survivor is widowed.
//! Recording a death already recorded answers the first record (a redelivered event, another
//! request id).

use auth::Role;
use civil_id::IdNumber;
use contracts::civil::common::v1::PersonRef;
use contracts::civil::marriage::v1 as pb;
use kit::error::to_proto_date;
use kit::rpc::Call;
use kit::{ServiceError, Violations};
use time::Date;
use tonic::{Request, Response, Status};

use super::MarriageApi;
use super::shared::{invalidate_status, moot_open_application, person_in};
use crate::convert::{self, Mask};
use crate::domain::court::death_ends_marriage;
use crate::domain::status::MarriageState;
use crate::store::{self, MarriageRow, PartyRow, PersonRow};

pub struct Death {
    id: IdNumber,
    name: String,
    died_on: Date,
}

impl TryFrom<pb::RecordDeathRequest> for Death {
    type Error = Violations;

    fn try_from(req: pb::RecordDeathRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let person = person_in(&mut v, req.person.as_ref(), "person");
        let died_on = v.date(req.date_of_death.as_ref(), "date_of_death");
        if let (Some((id, _)), Some(d)) = (&person, died_on) {
            let rule = "is before the birth date in the identity number";
            v.check(d >= id.birth_date(), "date_of_death", rule);
        }
        match (person, died_on) {
            (Some((id, name)), Some(died_on)) if v.is_empty() => Ok(Death { id, name, died_on }),
            _ => Err(v),
        }
    }
}

pub async fn handle(
    api: &MarriageApi,
    request: Request<pb::RecordDeathRequest>,
) -> Result<Response<pb::DeathRecord>, Status> {
    let mut touched = Vec::new();
    let answer = api
        .rpc
        .write(
            request,
            async |c, _req| c.authorize(&[Role::Service, Role::Registrar], None),
            async |c, death: Death, ()| record(c, death, &mut touched).await,
        )
        .await?;
    invalidate_status(api, &touched).await;
    Ok(answer)
}

async fn record(
    c: &mut Call,
    d: Death,
    touched: &mut Vec<String>,
) -> Result<pb::DeathRecord, ServiceError> {
    if d.died_on > c.today() {
        return Err(ServiceError::invalid("date_of_death", "is in the future"));
    }
    let sealer = c.sealer().clone();
    let (sealed, index) = sealer.protect(&d.id);
    c.object(index.clone());
    c.person(index.clone());
    touched.push(index.clone());
    store::lock_person(c.db(), &index, &sealed, &d.name).await?;
    let me = PersonRef {
        id_number: d.id.as_str().to_owned(),
        name: d.name.clone(),
    };
    let known = store::get_person(c.db(), &index).await?;
    // Recorded already (another request id, a redelivered event): answer the same.
    if let Some(first) = known.as_ref().and_then(|p| p.died_on) {
        return recorded(c, me, first, known, &index).await;
    }
    let ended = ended_by(c, &index, d.died_on).await?;
    let mut record = pb::DeathRecord {
        person: Some(me),
        date_of_death: Some(to_proto_date(d.died_on)),
        ..Default::default()
    };
    if let Some(m) = &ended {
        let spouse = widow(c, m, &index, d.died_on).await?;
        touched.push(spouse.index.clone());
        record.widowed_spouse = Some(convert::person(&sealer, &spouse));
        record.marriage_certificate_number = m.certificate_number.clone();
    }
    let cert = ended.as_ref().map(|m| m.certificate_number.as_str());
    store::record_person_death(c.db(), &index, d.died_on, cert).await?;
    Ok(record.masked_unless(c.principal().sees_full_identity_numbers()))
}

/// The marriage in effect the death of the person with `index` ends, if any.
async fn ended_by(
    c: &mut Call,
    index: &str,
    died_on: Date,
) -> Result<Option<MarriageRow>, ServiceError> {
    let marriages = store::marriages_of(c.db(), index).await?;
    Ok(marriages
        .into_iter()
        .find(|m| death_ends_marriage(m.state, m.registration_date, died_on)))
}

/// Ends the marriage by the death of the spouse with `index`; returns the survivor.
async fn widow(
    c: &mut Call,
    m: &MarriageRow,
    index: &str,
    died_on: Date,
) -> Result<PartyRow, ServiceError> {
    let spouse = m
        .sides(index)
        .map(|(_, other)| other.clone())
        .ok_or_else(|| {
            ServiceError::Internal(anyhow::anyhow!("marriage found by index lacks that party"))
        })?;
    store::lock_person(c.db(), &spouse.index, &spouse.sealed, &spouse.name).await?;
    let cert = &m.certificate_number;
    let (from, to) = (MarriageState::InEffect, MarriageState::EndedByDeath);
    store::end_marriage(c.db(), cert, from, to, died_on, Some(index)).await?;
    let remark = format!("{died_on} 配偶死亡 death of a spouse recorded");
    store::add_remark(c.db(), cert, &remark).await?;
    let today = c.today();
    moot_open_application(c.db(), cert, today).await?;
    Ok(spouse)
}

/// The first record of a death recorded before.
async fn recorded(
    c: &mut Call,
    me: PersonRef,
    died_on: Date,
    known: Option<PersonRow>,
    index: &str,
) -> Result<pb::DeathRecord, ServiceError> {
    let marriage = match known.and_then(|p| p.death_marriage) {
        Some(cert) => store::get_marriage(c.db(), &cert).await?,
        None => None,
    };
    let spouse = marriage
        .as_ref()
        .and_then(|m| m.sides(index))
        .map(|(_, other)| convert::person(c.sealer(), other));
    let record = pb::DeathRecord {
        person: Some(me),
        date_of_death: Some(to_proto_date(died_on)),
        widowed_spouse: spouse,
        marriage_certificate_number: marriage.map(|m| m.certificate_number).unwrap_or_default(),
    };
    Ok(record.masked_unless(c.principal().sees_full_identity_numbers()))
}
