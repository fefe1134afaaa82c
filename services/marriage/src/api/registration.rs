//! Marriage registration: decided on the spot, certificate issued, event written, both parties'
//! cached status dropped.

use auth::{Principal, Role};
use civil_id::IdNumber;
use contracts::civil::marriage::v1 as pb;
use kit::idempotency::once;
use kit::pii::Sealer;
use kit::{ServiceError, Violations};
use sqlx::AnyConnection;

use super::{MarriageApi, audit_entry, authorize_registrar_or_service, decode_party};
use crate::convert::{self, Mask};
use crate::domain::certificate::{CertificateKind, CertificateNumber};
use crate::domain::eligibility::{Applicant, Declaration, check_marriage};
use crate::domain::status::MarriageState;
use crate::events;
use crate::store::{self, MarriageRow, PartyRow};

/// A person at the counter, decoded.
#[derive(Clone)]
pub(super) struct Counterparty {
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
        }
    }
}

/// Locks both persons' rows in index order (no deadlock between two registrars) so that no
/// concurrent registration, divorce or death can change either status until commit.
pub(super) async fn lock_pair(
    conn: &mut AnyConnection,
    a: &PartyRow,
    b: &PartyRow,
) -> Result<(), sqlx::Error> {
    let (first, second) = if a.index <= b.index { (a, b) } else { (b, a) };
    store::lock_person(conn, &first.index, &first.sealed, &first.name).await?;
    store::lock_person(conn, &second.index, &second.sealed, &second.name).await
}

fn declaration(d: Option<&pb::MarriageDeclaration>) -> Declaration {
    d.map(|d| Declaration {
        no_spouse: d.no_spouse,
        not_prohibited_relatives: d.not_prohibited_relatives,
    })
    .unwrap_or_default()
}

/// Allocates the next number of `kind` for an office's county and year.
pub(super) async fn allocate_number(
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

impl MarriageApi {
    pub(super) async fn register_marriage_impl(
        &self,
        principal: &Principal,
        req: pb::RegisterMarriageRequest,
    ) -> Result<pb::Marriage, ServiceError> {
        let mut v = Violations::new();
        v.required(&req.office_id, "office_id");
        let a = decode_party(&mut v, req.party_a.as_ref(), "party_a");
        let b = decode_party(&mut v, req.party_b.as_ref(), "party_b");
        v.finish()?;
        let (Some((a_id, a_name, a_in)), Some((b_id, b_name, b_in))) = (a, b) else {
            return Err(ServiceError::invalid("party_a", "is required"));
        };
        let a = Counterparty {
            id: a_id,
            name: a_name,
            in_person: a_in,
        };
        let b = Counterparty {
            id: b_id,
            name: b_name,
            in_person: b_in,
        };
        let (decl_a, decl_b) = (
            declaration(req.declaration_a.as_ref()),
            declaration(req.declaration_b.as_ref()),
        );
        let office = self.office(&req.office_id).await?;
        principal.authorize(&[Role::Registrar], Some(&office.region_code))?;
        let today = kit::today_cst();
        let (sealer, registrar) = (self.sealer.clone(), principal.subject.clone());
        let entry = audit_entry(principal, "RegisterMarriage", "");
        let marriage = once(
            &self.db,
            "RegisterMarriage",
            &req.request_id,
            &req,
            move |conn| {
                Box::pin(async move {
                    let (row_a, row_b) = (a.party_row(&sealer), b.party_row(&sealer));
                    lock_pair(conn, &row_a, &row_b).await?;
                    let (history_a, _) = store::history(conn, &row_a.index).await?;
                    let (history_b, _) = store::history(conn, &row_b.index).await?;
                    check_marriage(
                        Applicant {
                            id: &a.id,
                            in_person: a.in_person,
                            declaration: decl_a,
                            history: &history_a,
                        },
                        Applicant {
                            id: &b.id,
                            in_person: b.in_person,
                            declaration: decl_b,
                            history: &history_b,
                        },
                        today,
                    )?;
                    let number = allocate_number(
                        conn,
                        CertificateKind::Marriage,
                        &office.region_code,
                        today.year(),
                    )
                    .await?;
                    let row = MarriageRow {
                        certificate_number: number.to_string(),
                        office_id: office.office_id.clone(),
                        registration_date: today,
                        registrar,
                        state: MarriageState::InEffect,
                        ended_on: None,
                        deceased_index: None,
                        a: row_a,
                        b: row_b,
                    };
                    store::insert_marriage(conn, &row, kit::now_ms()).await?;
                    let entry = auth::audit::AuditEntry {
                        object: row.certificate_number.clone(),
                        ..entry
                    };
                    auth::audit::append(conn, &[entry]).await?;
                    let response = convert::marriage(&sealer, &row, Vec::new());
                    events::marriage_registered(
                        conn,
                        &pb::MarriageRegistered {
                            certificate_number: row.certificate_number.clone(),
                            party_a: Some(events::party(&sealer, &row.a)),
                            party_b: Some(events::party(&sealer, &row.b)),
                            registration_date: response.registration_date,
                            office_id: row.office_id.clone(),
                        },
                    )
                    .await?;
                    Ok(response)
                })
            },
        )
        .await?;
        self.invalidate_parties(&marriage).await;
        Ok(marriage.masked_unless(principal.sees_full_identity_numbers()))
    }

    /// Drops the cached status of both parties of a marriage response.
    pub(super) async fn invalidate_parties(&self, marriage: &pb::Marriage) {
        let mut indexes = Vec::new();
        for party in [&marriage.party_a, &marriage.party_b] {
            let id = party
                .as_ref()
                .and_then(|p| p.person.as_ref())
                .and_then(|p| IdNumber::parse(&p.id_number).ok());
            if let Some(id) = id {
                indexes.push(self.sealer.index(&id));
            }
        }
        let refs: Vec<&str> = indexes.iter().map(String::as_str).collect();
        self.invalidate_status(&refs).await;
    }

    pub(super) async fn get_marriage_impl(
        &self,
        principal: &Principal,
        req: pb::GetMarriageRequest,
    ) -> Result<pb::Marriage, ServiceError> {
        let mut v = Violations::new();
        v.check(
            CertificateNumber::parse(&req.certificate_number).is_some(),
            "certificate_number",
            "is not a certificate number",
        );
        v.finish()?;
        // The connection goes back before `office()` takes one: SQLite has a single one.
        let marriage = {
            let mut conn = self.db.pool.acquire().await?;
            store::get_marriage(&mut conn, req.certificate_number.trim())
                .await?
                .ok_or_else(|| ServiceError::not_found("marriage"))?
        };
        let office = self.office(&marriage.office_id).await?;
        authorize_registrar_or_service(principal, &office.region_code)?;
        let mut conn = self.db.pool.acquire().await?;
        let remarks = store::remarks(&mut conn, &marriage.certificate_number).await?;
        self.audit_read(principal, "GetMarriage", &marriage.certificate_number, "")
            .await;
        Ok(convert::marriage(&self.sealer, &marriage, remarks)
            .masked_unless(principal.sees_full_identity_numbers()))
    }
}
