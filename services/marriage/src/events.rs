//! Domain events, written to the outbox in the transaction that makes the change. The event key
//! is a certificate number or application id, never personal data.

use sqlx::AnyConnection;

use contracts::civil::marriage::v1 as pb;

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
