//! The archive seen from outside: certificate re-issue, court decisions and deaths recorded
//! into it, and marital status read by other bureaus.

use std::time::Duration;

use auth::{Principal, Role};
use contracts::civil::common::v1::PersonRef;
use contracts::civil::marriage::v1 as pb;
use kit::error::to_proto_date;
use kit::idempotency::once;
use kit::{ServiceError, Violations};
use prost::Message;

use super::registration::lock_pair;
use super::{MarriageApi, audit_entry, decode_party, decode_person, status_cache_key};
use crate::convert::{self, Mask};
use crate::domain::Refusal;
use crate::domain::certificate::CertificateNumber;
use crate::domain::cooling_off::ApplicationState;
use crate::domain::court::{CourtDecisionKind, apply_court_decision, death_ends_marriage};
use crate::domain::reissue::{LostCertificate, ReissueDecision, decide_reissue, record_entries};
use crate::domain::status::{MaritalState, MarriageState};
use crate::store::{self, ReissueRow};

/// How long a status stays in the shared cache; every change of the person invalidates it.
const STATUS_TTL: Duration = Duration::from_secs(60);

fn marital_state(state: MaritalState) -> pb::MaritalState {
    match state {
        MaritalState::Unmarried => pb::MaritalState::Unmarried,
        MaritalState::Married => pb::MaritalState::Married,
        MaritalState::Divorced => pb::MaritalState::Divorced,
        MaritalState::Widowed => pb::MaritalState::Widowed,
    }
}

/// Closes an open divorce application whose marriage ended otherwise (death, court).
async fn moot_open_application(
    conn: &mut sqlx::AnyConnection,
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

impl MarriageApi {
    pub(super) async fn reissue_certificate_impl(
        &self,
        principal: &Principal,
        req: pb::ReissueCertificateRequest,
    ) -> Result<pb::CertificateReissue, ServiceError> {
        let mut v = Violations::new();
        v.required(&req.office_id, "office_id");
        let number = CertificateNumber::parse(&req.certificate_number);
        v.check(
            number.is_some(),
            "certificate_number",
            "is not a certificate number",
        );
        let party = decode_party(&mut v, req.party.as_ref(), "party");
        v.finish()?;
        let (Some(number), Some((id, name, in_person))) = (number, party) else {
            return Err(ServiceError::invalid("party", "is required"));
        };
        let office = self.office(&req.office_id).await?;
        principal.authorize(&[Role::Registrar], Some(&office.region_code))?;
        let today = kit::today_cst();
        let sealer = self.sealer.clone();
        let entry = audit_entry(principal, "ReissueCertificate", &number.to_string());
        once(
            &self.db,
            "ReissueCertificate",
            &req.request_id,
            &req,
            move |conn| {
                Box::pin(async move {
                    let original = store::original_of_reissued(conn, &number.to_string())
                        .await?
                        .unwrap_or(number.to_string());
                    let (marriage, ended_on) = if number.kind.is_marriage() {
                        (store::get_marriage(conn, &original).await?, None)
                    } else {
                        match store::application_by_divorce_certificate(conn, &original).await? {
                            Some(app) => (
                                store::get_marriage(conn, &app.marriage_certificate).await?,
                                app.closed_on,
                            ),
                            None => (None, None),
                        }
                    };
                    let marriage =
                        marriage.ok_or_else(|| ServiceError::not_found("certificate"))?;
                    if !in_person {
                        return Err(Refusal::NotInPerson.into());
                    }
                    let index = sealer.index(&id);
                    if marriage.sides(&index).is_none() {
                        return Err(Refusal::PartiesMismatch.into());
                    }
                    let (history, _) = store::history(conn, &index).await?;
                    let lost = LostCertificate {
                        kind: number.kind,
                        marriage_state: marriage.state,
                        ended_on,
                    };
                    let mut row = ReissueRow {
                        reissue_id: uuid::Uuid::now_v7().to_string(),
                        original_certificate: original,
                        new_certificate: None,
                        outcome: "reissued",
                        party_index: index,
                        office_id: office.office_id.clone(),
                        issued_on: today,
                    };
                    let mut response = pb::CertificateReissue {
                        marriage: Some(convert::marriage(
                            &sealer,
                            &marriage,
                            store::remarks(conn, &marriage.certificate_number).await?,
                        )),
                        ..Default::default()
                    };
                    match decide_reissue(lost, &history) {
                        ReissueDecision::Reissue(kind) => {
                            let new_number = super::registration::allocate_number(
                                conn,
                                kind,
                                &office.region_code,
                                today.year(),
                            )
                            .await?;
                            row.new_certificate = Some(new_number.to_string());
                            response.outcome = pb::CertificateReissueOutcome::Reissued.into();
                            response.reissued_certificate_number = new_number.to_string();
                        }
                        ReissueDecision::RecordCertificate { because } => {
                            row.outcome = "record_certificate";
                            response.outcome =
                                pb::CertificateReissueOutcome::RecordCertificateIssued.into();
                            response.declined_because = because.into();
                            response.record_certificate = Some(pb::MarriageRecordCertificate {
                                record_certificate_id: row.reissue_id.clone(),
                                person: Some(PersonRef {
                                    id_number: id.as_str().to_owned(),
                                    name,
                                }),
                                entries: record_entries(&history),
                                issued_on: Some(to_proto_date(today)),
                            });
                        }
                    }
                    store::insert_reissue(conn, &row, kit::now_ms()).await?;
                    auth::audit::append(conn, &[entry]).await?;
                    Ok(response)
                })
            },
        )
        .await
        .map(|r| r.masked_unless(principal.sees_full_identity_numbers()))
    }

    pub(super) async fn record_court_decision_impl(
        &self,
        principal: &Principal,
        req: pb::RecordCourtDecisionRequest,
    ) -> Result<pb::Marriage, ServiceError> {
        let today = kit::today_cst();
        let mut v = Violations::new();
        let number = CertificateNumber::parse(&req.marriage_certificate_number)
            .filter(|n| n.kind.is_marriage());
        v.check(
            number.is_some(),
            "marriage_certificate_number",
            "is not a marriage certificate number",
        );
        let kind = match req.kind() {
            pb::CourtDecisionKind::Annulment => Some(CourtDecisionKind::Annulment),
            pb::CourtDecisionKind::JudicialDivorce => Some(CourtDecisionKind::JudicialDivorce),
            pb::CourtDecisionKind::Unspecified => None,
        };
        v.check(kind.is_some(), "kind", "is required");
        v.required(&req.court, "court");
        v.required(&req.case_number, "case_number");
        let effective = v.date(req.effective_date.as_ref(), "effective_date");
        v.check(
            effective.is_none_or(|d| d <= today),
            "effective_date",
            "is in the future",
        );
        v.finish()?;
        let (Some(number), Some(kind), Some(effective)) = (number, kind, effective) else {
            return Err(ServiceError::invalid("kind", "is required"));
        };
        let certificate = number.to_string();
        let existing = {
            let mut conn = self.db.pool.acquire().await?;
            store::get_marriage(&mut conn, &certificate).await?
        }
        .ok_or_else(|| ServiceError::not_found("marriage"))?;
        if effective < existing.registration_date {
            return Err(ServiceError::invalid(
                "effective_date",
                "is before the marriage was registered",
            ));
        }
        let office = self.office(&existing.office_id).await?;
        principal.authorize(&[Role::Registrar], Some(&office.region_code))?;
        let sealer = self.sealer.clone();
        let entry = audit_entry(principal, "RecordCourtDecision", &certificate);
        let remark = format!(
            "{effective} {} court {} case {}",
            match kind {
                CourtDecisionKind::Annulment => "婚姻无效/撤销 annulled by",
                CourtDecisionKind::JudicialDivorce => "诉讼离婚 divorced by",
            },
            req.court.trim(),
            req.case_number.trim()
        );
        let marriage = once(
            &self.db,
            "RecordCourtDecision",
            &req.request_id,
            &req,
            move |conn| {
                Box::pin(async move {
                    lock_pair(conn, &existing.a, &existing.b).await?;
                    let m = store::get_marriage(conn, &certificate)
                        .await?
                        .ok_or_else(|| ServiceError::not_found("marriage"))?;
                    let to = apply_court_decision(m.state, kind)?;
                    if !store::end_marriage(
                        conn,
                        &certificate,
                        m.state,
                        to,
                        effective,
                        m.deceased_index.as_deref(),
                    )
                    .await?
                    {
                        return Err(Refusal::NotInEffect.into());
                    }
                    store::add_remark(conn, &certificate, &remark).await?;
                    moot_open_application(conn, &certificate, today).await?;
                    auth::audit::append(conn, &[entry]).await?;
                    let m = store::get_marriage(conn, &certificate)
                        .await?
                        .ok_or_else(|| ServiceError::not_found("marriage"))?;
                    Ok(convert::marriage(
                        &sealer,
                        &m,
                        store::remarks(conn, &certificate).await?,
                    ))
                })
            },
        )
        .await?;
        self.invalidate_parties(&marriage).await;
        Ok(marriage.masked_unless(principal.sees_full_identity_numbers()))
    }

    pub(super) async fn record_death_impl(
        &self,
        principal: &Principal,
        req: pb::RecordDeathRequest,
    ) -> Result<pb::DeathRecord, ServiceError> {
        let today = kit::today_cst();
        let mut v = Violations::new();
        let person = decode_person(&mut v, req.person.as_ref(), "person");
        let died_on = v.date(req.date_of_death.as_ref(), "date_of_death");
        v.check(
            died_on.is_none_or(|d| d <= today),
            "date_of_death",
            "is in the future",
        );
        if let (Some((id, _)), Some(d)) = (&person, died_on) {
            v.check(
                d >= id.birth_date(),
                "date_of_death",
                "is before the birth date in the identity number",
            );
        }
        v.finish()?;
        let (Some((id, name)), Some(died_on)) = (person, died_on) else {
            return Err(ServiceError::invalid("person", "is required"));
        };
        principal.authorize(&[Role::Service, Role::Registrar], None)?;
        let sealer = self.sealer.clone();
        let (sealed, index) = sealer.protect(&id);
        let entry = audit_entry(principal, "RecordDeath", &index);
        let record = once(
            &self.db,
            "RecordDeath",
            &req.request_id,
            &req,
            move |conn| {
                Box::pin(async move {
                    store::lock_person(conn, &index, &sealed, &name).await?;
                    let me = PersonRef {
                        id_number: id.as_str().to_owned(),
                        name: name.clone(),
                    };
                    let known = store::get_person(conn, &index).await?;
                    // Recorded already (another request id, a redelivered event): answer the same.
                    if let Some(first) = known.as_ref().and_then(|p| p.died_on) {
                        let marriage = match known.and_then(|p| p.death_marriage) {
                            Some(cert) => store::get_marriage(conn, &cert).await?,
                            None => None,
                        };
                        let spouse = marriage
                            .as_ref()
                            .and_then(|m| m.sides(&index))
                            .map(|(_, other)| convert::person(&sealer, other));
                        return Ok(pb::DeathRecord {
                            person: Some(me),
                            date_of_death: Some(to_proto_date(first)),
                            widowed_spouse: spouse,
                            marriage_certificate_number: marriage
                                .map(|m| m.certificate_number)
                                .unwrap_or_default(),
                        });
                    }
                    let ended = store::marriages_of(conn, &index)
                        .await?
                        .into_iter()
                        .find(|m| death_ends_marriage(m.state, m.registration_date, died_on));
                    let mut record = pb::DeathRecord {
                        person: Some(me),
                        date_of_death: Some(to_proto_date(died_on)),
                        ..Default::default()
                    };
                    if let Some(m) = &ended {
                        let Some((_, spouse)) = m.sides(&index) else {
                            return Err(ServiceError::Internal(anyhow::anyhow!(
                                "marriage found by index lacks that party"
                            )));
                        };
                        store::lock_person(conn, &spouse.index, &spouse.sealed, &spouse.name)
                            .await?;
                        let cert = &m.certificate_number;
                        store::end_marriage(
                            conn,
                            cert,
                            MarriageState::InEffect,
                            MarriageState::EndedByDeath,
                            died_on,
                            Some(&index),
                        )
                        .await?;
                        store::add_remark(
                            conn,
                            cert,
                            &format!("{died_on} 配偶死亡 death of a spouse recorded"),
                        )
                        .await?;
                        moot_open_application(conn, cert, today).await?;
                        record.widowed_spouse = Some(convert::person(&sealer, spouse));
                        record.marriage_certificate_number = cert.clone();
                    }
                    store::record_person_death(
                        conn,
                        &index,
                        died_on,
                        ended.as_ref().map(|m| m.certificate_number.as_str()),
                    )
                    .await?;
                    auth::audit::append(conn, &[entry]).await?;
                    Ok(record)
                })
            },
        )
        .await?;
        let mut indexes = Vec::new();
        for person in [&record.person, &record.widowed_spouse]
            .into_iter()
            .flatten()
        {
            if let Ok(id) = civil_id::IdNumber::parse(&person.id_number) {
                indexes.push(self.sealer.index(&id));
            }
        }
        self.invalidate_status(&indexes.iter().map(String::as_str).collect::<Vec<_>>())
            .await;
        Ok(record.masked_unless(principal.sees_full_identity_numbers()))
    }

    pub(super) async fn get_marital_status_impl(
        &self,
        principal: &Principal,
        req: pb::GetMaritalStatusRequest,
    ) -> Result<pb::MaritalStatus, ServiceError> {
        let mut v = Violations::new();
        let id = v.id_number(&req.id_number, "id_number");
        v.finish()?;
        let Some(id) = id else {
            return Err(ServiceError::invalid("id_number", "is required"));
        };
        principal.authorize(
            &[Role::Service, Role::Registrar, Role::CountyApprover],
            None,
        )?;
        let index = self.sealer.index(&id);
        let key = status_cache_key(&index);
        let cached = self
            .cache
            .get(&key)
            .await
            .and_then(|bytes| pb::MaritalStatus::decode(bytes.as_slice()).ok());
        let mut status = match cached {
            Some(status) => status,
            None => {
                let status = self.load_status(&index).await?;
                self.cache
                    .set(&key, status.encode_to_vec(), STATUS_TTL)
                    .await;
                status
            }
        };
        // The cached copy holds no clear identity number: the person's comes from the request,
        // the spouse's is sealed.
        if let Some(person) = status.person.as_mut() {
            person.id_number = id.as_str().to_owned();
        }
        if let Some(spouse) = status.spouse.as_mut() {
            spouse.id_number = convert::open_id(&self.sealer, &spouse.id_number);
        }
        self.audit_read(principal, "GetMaritalStatus", &index, req.purpose.trim())
            .await;
        Ok(status.masked_unless(principal.sees_full_identity_numbers()))
    }

    /// Builds the status from the archive, with the spouse's number still sealed.
    async fn load_status(&self, index: &str) -> Result<pb::MaritalStatus, ServiceError> {
        let mut conn = self.db.pool.acquire().await?;
        let (history, rows) = store::history(&mut conn, index).await?;
        let name = store::get_person(&mut conn, index)
            .await?
            .map(|p| p.name)
            .unwrap_or_default();
        let status = history.status();
        let row = status.marriage.and_then(|m| {
            rows.iter()
                .find(|r| r.certificate_number == m.certificate_number)
        });
        let spouse = row
            .filter(|_| status.state == MaritalState::Married && !status.deceased)
            .and_then(|r| r.sides(index))
            .map(|(_, other)| PersonRef {
                id_number: other.sealed.clone(),
                name: other.name.clone(),
            });
        Ok(pb::MaritalStatus {
            person: Some(PersonRef {
                id_number: String::new(),
                name,
            }),
            state: marital_state(status.state).into(),
            since: status.since.map(to_proto_date),
            spouse,
            marriage_certificate_number: status
                .marriage
                .map(|m| m.certificate_number.clone())
                .unwrap_or_default(),
            deceased: status.deceased,
        })
    }
}
