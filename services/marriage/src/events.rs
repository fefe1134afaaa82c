//! Domain events, written to the outbox in the transaction that makes the change. The event key
//! is a certificate number or application id, never personal data.
//!
//! The outbox table and Redis Streams are not encrypted, so a person appears in an event only as
//! [`pb::EventParty`]: blind index, masked number and name, never the full identity number.
//! Consumers match the index against their own records and ask this service (audited, with
//! their own authorisation) when they need more.

use kit::pii::Sealer;
use sqlx::AnyConnection;

use contracts::civil::marriage::v1 as pb;

use crate::store::PartyRow;

/// A party as events name them: the stored blind index, the masked number, the name.
pub fn party(sealer: &Sealer, row: &PartyRow) -> pb::EventParty {
    pb::EventParty {
        id_index: row.index.clone(),
        masked_id_number: civil_id::mask_id_number(&crate::convert::open_id(sealer, &row.sealed)),
        name: row.name.clone(),
    }
}

/// A kind of event: its topic and the fully qualified protobuf name of its payload.
pub struct EventKind {
    pub topic: &'static str,
    pub event_type: &'static str,
}

pub const MARRIAGE_REGISTERED: EventKind = EventKind {
    topic: "marriage.marriage_registered",
    event_type: "civil.marriage.v1.MarriageRegistered",
};
pub const DIVORCE_REGISTERED: EventKind = EventKind {
    topic: "marriage.divorce_registered",
    event_type: "civil.marriage.v1.DivorceRegistered",
};
pub const DIVORCE_APPLICATION_WITHDRAWN: EventKind = EventKind {
    topic: "marriage.divorce_application_withdrawn",
    event_type: "civil.marriage.v1.DivorceApplicationWithdrawn",
};
pub const DIVORCE_APPLICATION_EXPIRED: EventKind = EventKind {
    topic: "marriage.divorce_application_expired",
    event_type: "civil.marriage.v1.DivorceApplicationExpired",
};

async fn append<M: prost::Message>(
    conn: &mut AnyConnection,
    kind: &EventKind,
    key: &str,
    event: &M,
) -> Result<(), sqlx::Error> {
    kit::outbox::append(conn, kind.topic, kind.event_type, key, event).await?;
    Ok(())
}

pub async fn marriage_registered(
    conn: &mut AnyConnection,
    e: &pb::MarriageRegistered,
) -> Result<(), sqlx::Error> {
    append(conn, &MARRIAGE_REGISTERED, &e.certificate_number, e).await
}

pub async fn divorce_registered(
    conn: &mut AnyConnection,
    e: &pb::DivorceRegistered,
) -> Result<(), sqlx::Error> {
    append(conn, &DIVORCE_REGISTERED, &e.divorce_certificate_number, e).await
}

pub async fn application_withdrawn(
    conn: &mut AnyConnection,
    e: &pb::DivorceApplicationWithdrawn,
) -> Result<(), sqlx::Error> {
    append(conn, &DIVORCE_APPLICATION_WITHDRAWN, &e.application_id, e).await
}

pub async fn application_expired(
    conn: &mut AnyConnection,
    e: &pb::DivorceApplicationExpired,
) -> Result<(), sqlx::Error> {
    append(conn, &DIVORCE_APPLICATION_EXPIRED, &e.application_id, e).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_party_carries_the_blind_index_and_a_masked_number_never_the_full_number() {
        let sealer = Sealer::new(&[9; 32]);
        let id = civil_id::IdNumber::parse("11010519491231002X").expect("valid");
        let (sealed, index) = sealer.protect(&id);
        let row = PartyRow {
            index: index.clone(),
            sealed,
            name: "张三".into(),
            sex: "female".into(),
            birth: time::macros::date!(1949 - 12 - 31),
            declaration: None,
        };
        let party = party(&sealer, &row);
        assert_eq!(party.id_index, sealer.index(&id));
        assert_eq!(party.name, "张三");
        assert!(party.masked_id_number.ends_with("002X"), "{party:?}");
        let encoded = prost::Message::encode_to_vec(&pb::MarriageRegistered {
            party_a: Some(party),
            ..Default::default()
        });
        let text = String::from_utf8_lossy(&encoded);
        assert!(!text.contains("19491231"), "{text}");
    }
}
