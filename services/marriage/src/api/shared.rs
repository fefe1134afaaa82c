//! What several RPCs share: the registrar's office check, parties at the counter, certificate
//! numbers, the status cache, and refusals at the desk.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use auth::{Principal, Role};
use civil_id::IdNumber;
use contracts::civil::common::v1::PersonRef;
use contracts::civil::marriage::v1 as pb;
use kit::pii::Sealer;
use kit::rpc::{Call, Text as _};
use kit::{ServiceError, Violations};
use sqlx::AnyConnection;
use tonic::{Code, Response, Status};

use super::MarriageApi;
use crate::convert;
use crate::domain::certificate::{CertificateKind, CertificateNumber};
use crate::domain::cooling_off::ApplicationState;
use crate::store::{self, OfficeRow, PartyRow, RefusalRow};

/// Registrars act within their office's region.
pub const REGISTRAR: &[Role] = &[Role::Registrar];

/// A personal name as on the identity card: the longest 居民身份证 names (transliterated
/// minority names with the middle dot) stay well under it (docs/rules/marriage.md).
pub const PERSON_NAME: usize = 64;
/// A non-mainland identity document's number (passport, 通行证, 居住证).
pub const DOCUMENT_NUMBER: usize = 40;
/// An office's display name; a court's name or a case number.
pub const SHORT_TEXT: usize = 100;
/// Why a caller reads a status (recorded in the audit trail).
pub const PURPOSE: usize = 200;
/// The summary of a written divorce agreement (the agreement itself stays on paper).
pub const AGREEMENT_SUMMARY: usize = 2_000;

/// Offices never change once created (no RPC changes or removes one), so each is read from the
/// store once per process; an unknown id is asked again.
#[derive(Clone, Default)]
pub struct Offices(Arc<RwLock<HashMap<String, OfficeRow>>>);

impl Offices {
    /// The office, or NOT_FOUND. Reads on the call's own connection (SQLite has one).
    pub async fn get(
        &self,
        conn: &mut AnyConnection,
        office_id: &str,
    ) -> Result<OfficeRow, ServiceError> {
        let known = self
            .0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(office_id)
            .cloned();
        if let Some(office) = known {
            return Ok(office);
        }
        let office = store::get_office(conn, office_id)
            .await?
            .ok_or_else(|| ServiceError::not_found(format!("office {office_id:?}")))?;
        self.0
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(office.office_id.clone(), office.clone());
        Ok(office)
    }
}

/// Loads the office a registrar acts at and checks it lies in the caller's region: the
/// authorize step of the desk RPCs, before the body is decoded.
pub async fn registrar_office(
    c: &mut Call,
    api: &MarriageApi,
    office_id: &str,
) -> Result<OfficeRow, ServiceError> {
    if office_id.trim().is_empty() {
        return Err(ServiceError::invalid("office_id", "is required"));
    }
    let office = api.offices.get(c.db(), office_id).await?;
    c.authorize(REGISTRAR, Some(&office.region_code))?;
    Ok(office)
}

/// A person at the counter, decoded.
#[derive(Clone)]
pub struct Counterparty {
    pub id: IdNumber,
    pub name: String,
    pub in_person: bool,
}

impl Counterparty {
    pub fn party_row(&self, sealer: &Sealer) -> PartyRow {
        let (sealed, index) = sealer.protect(&self.id);
        PartyRow {
            index,
            sealed,
            name: self.name.clone(),
            sex: convert::sex_code(self.id.sex()).into(),
            birth: self.id.birth_date(),
            declaration: None,
        }
    }
}

/// Parses a party (identity number, name, presence), recording violations under `field`.
pub fn party_in(
    v: &mut Violations,
    party: Option<&pb::Party>,
    field: &str,
) -> Option<Counterparty> {
    let Some(party) = party else {
        v.add(field, "is required");
        return None;
    };
    let (id, name) = person_in(v, party.person.as_ref(), &format!("{field}.person"))?;
    Some(Counterparty {
        id,
        name,
        in_person: party.in_person,
    })
}

/// Parses a person reference (identity number and a bounded name).
pub fn person_in(
    v: &mut Violations,
    person: Option<&PersonRef>,
    field: &str,
) -> Option<(IdNumber, String)> {
    let Some(person) = person else {
        v.add(field, "is required");
        return None;
    };
    let name = v.text(&person.name, &format!("{field}.name"), PERSON_NAME);
    let id = v.id_number(&person.id_number, &format!("{field}.id_number"))?;
    (!name.is_empty()).then_some((id, name))
}

/// The blind index of the identity number of a party in a raw request, if it parses (the
/// parties a refusal names, the statuses a change invalidates).
pub fn raw_index(sealer: &Sealer, party: Option<&pb::Party>) -> String {
    party
        .and_then(|p| p.person.as_ref())
        .and_then(|p| IdNumber::parse(&p.id_number).ok())
        .map(|id| sealer.index(&id))
        .unwrap_or_default()
}

/// Locks both persons' rows in index order (no deadlock between two registrars) so that no
/// concurrent registration, divorce or death can change either status until commit.
pub async fn lock_pair(
    conn: &mut AnyConnection,
    a: &PartyRow,
    b: &PartyRow,
) -> Result<(), sqlx::Error> {
    let (first, second) = if a.index <= b.index { (a, b) } else { (b, a) };
    store::lock_person(conn, &first.index, &first.sealed, &first.name).await?;
    store::lock_person(conn, &second.index, &second.sealed, &second.name).await
}

/// Allocates the next number of `kind` for an office's county and year.
pub async fn allocate_number(
    conn: &mut AnyConnection,
    kind: CertificateKind,
    region_code: &str,
    year: i32,
) -> Result<CertificateNumber, ServiceError> {
    let division: String = region_code.chars().take(6).collect();
    let serial = store::next_serial(conn, kind.prefix(), &division, year).await?;
    Ok(CertificateNumber::new(
        kind,
        &division,
        year,
        u32::try_from(serial).unwrap_or(u32::MAX),
    )?)
}

/// Closes an open divorce application whose marriage ended otherwise (death, court).
pub async fn moot_open_application(
    conn: &mut AnyConnection,
    certificate: &str,
    today: time::Date,
) -> Result<(), sqlx::Error> {
    if let Some(open) = store::open_application_for(conn, certificate).await? {
        store::close_application(
            conn,
            &open.application_id,
            ApplicationState::Moot,
            today,
            None,
        )
        .await?;
    }
    Ok(())
}

pub fn status_cache_key(index: &str) -> String {
    format!("marriage:status:{index}")
}

/// Drops the cached marital status of the persons with these blind indexes (after commit).
pub async fn invalidate_status(api: &MarriageApi, indexes: &[String]) {
    for index in indexes.iter().filter(|i| !i.is_empty()) {
        api.rpc.cache().invalidate(&status_cache_key(index)).await;
    }
}

/// What was asked at the desk, for the refusal record.
pub struct DeskCase {
    pub rpc: &'static str,
    pub request_id: String,
    pub office_id: String,
    /// Blind indexes of the parties; the second is empty when one party acted alone.
    pub parties: (String, String),
}

/// Records a refusal (FAILED_PRECONDITION with a reason) decided at the desk, in its own
/// transaction: the refused effect rolled back. A refusal that cannot be recorded is not
/// answered as decided: the caller gets the storage error and retries.
pub async fn record_refusal<T>(
    api: &MarriageApi,
    principal: &Principal,
    case: DeskCase,
    result: Result<Response<T>, Status>,
) -> Result<Response<T>, Status> {
    let Err(status) = &result else {
        return result;
    };
    let reason = kit::error::reason_of(status);
    let (Code::FailedPrecondition, Some(reason)) = (status.code(), reason) else {
        return result;
    };
    if case.office_id.is_empty() || reason == kit::idempotency::REQUEST_ID_REUSED {
        return result;
    }
    let row = RefusalRow {
        refusal_id: uuid::Uuid::now_v7().to_string(),
        office_id: case.office_id,
        rpc: case.rpc.to_owned(),
        request_id: case.request_id,
        reason,
        message: status.message().to_owned(),
        party_a_index: case.parties.0,
        party_b_index: case.parties.1,
        registrar: principal.subject.clone(),
        refused_on: api.rpc.clock().today(),
    };
    let stored = async {
        let mut tx = api.rpc.db().begin().await?;
        store::insert_refusal(&mut tx, &row, api.rpc.clock().now_ms()).await?;
        tx.commit().await?;
        Ok::<_, ServiceError>(())
    }
    .await;
    match stored {
        Ok(()) => result,
        Err(e) => Err(kit::to_status(e)),
    }
}
