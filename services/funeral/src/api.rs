//! gRPC handlers: decode -> authorize -> domain -> store -> encode. Writes run once per request
//! id ([`kit::idempotency::once`]) in one transaction with their audit rows and events.

use std::sync::Arc;

use auth::Principal;
use auth::audit::{AuditEntry, AuditWriter};
use contracts::civil::common::v1::PersonRef;
use contracts::civil::funeral::v1 as pb;
use contracts::civil::funeral::v1::funeral_service_server::FuneralService;
use futures::future::BoxFuture;
use kit::error::to_proto_date;
use kit::{ServiceError, Violations};
use sqlx::AnyConnection;
use tonic::{Request, Response, Status};

use crate::domain::case::{self, CaseState, Step};
use crate::domain::eco_burial::EcoBurialKind;
use crate::domain::policy::FuneralPolicy;
use crate::domain::zone::{self, Ethnicity};
use crate::domain::{Refusal, cremation, plot, waiver};
use crate::evidence::WaiverEvidenceSource;
use crate::store::{self, CaseRow, date_text, parse_date};

impl From<Refusal> for ServiceError {
    fn from(r: Refusal) -> Self {
        ServiceError::refused(r.reason(), r.to_string())
    }
}

type Tx<'c, T> = BoxFuture<'c, Result<T, ServiceError>>;

#[derive(Clone)]
pub struct FuneralApi {
    ctx: kit::ServiceContext,
    db: kit::store::Db,
    policy: Arc<FuneralPolicy>,
    source: Arc<dyn WaiverEvidenceSource>,
    reads: AuditWriter,
}

const CASE_ROLES: &[auth::Role] = &[auth::Role::FuneralHome, auth::Role::Service];

fn case_name(id: &str) -> String {
    format!("cases/{id}")
}

fn case_id(name: &str, field: &str) -> Result<String, ServiceError> {
    match name.strip_prefix("cases/") {
        Some(id) if !id.is_empty() => Ok(id.to_owned()),
        _ => Err(ServiceError::invalid(field, "must be cases/{case}")),
    }
}

fn cemetery_id(name: &str) -> Result<String, ServiceError> {
    match name.strip_prefix("cemeteries/") {
        Some(id) if !id.is_empty() => Ok(id.to_owned()),
        _ => Err(ServiceError::invalid(
            "cemetery",
            "must be cemeteries/{cemetery}",
        )),
    }
}

fn audit(p: &Principal, action: &str, object: &str) -> AuditEntry {
    AuditEntry::new(p, action, object).with_trace_id(kit::telemetry::current_trace_id())
}

fn ethnicity_from(v: i32) -> Option<Ethnicity> {
    use pb::Ethnicity as E;
    Some(match E::try_from(v).ok()? {
        E::Unspecified => return None,
        E::Han => Ethnicity::Han,
        E::Hui => Ethnicity::Hui,
        E::Uyghur => Ethnicity::Uyghur,
        E::Kazakh => Ethnicity::Kazakh,
        E::Kyrgyz => Ethnicity::Kyrgyz,
        E::Uzbek => Ethnicity::Uzbek,
        E::Tajik => Ethnicity::Tajik,
        E::Tatar => Ethnicity::Tatar,
        E::Salar => Ethnicity::Salar,
        E::Dongxiang => Ethnicity::Dongxiang,
        E::Bonan => Ethnicity::Bonan,
        E::Other => Ethnicity::Other,
    })
}

fn eco_kind_from(v: i32) -> Option<EcoBurialKind> {
    use pb::EcoBurialKind as K;
    Some(match K::try_from(v).ok()? {
        K::Unspecified => return None,
        K::Tree => EcoBurialKind::Tree,
        K::FlowerLawn => EcoBurialKind::FlowerLawn,
        K::Sea => EcoBurialKind::Sea,
        K::Wall => EcoBurialKind::Wall,
        K::Deep => EcoBurialKind::Deep,
    })
}

fn eco_kind_to(k: EcoBurialKind) -> pb::EcoBurialKind {
    match k {
        EcoBurialKind::Tree => pb::EcoBurialKind::Tree,
        EcoBurialKind::FlowerLawn => pb::EcoBurialKind::FlowerLawn,
        EcoBurialKind::Sea => pb::EcoBurialKind::Sea,
        EcoBurialKind::Wall => pb::EcoBurialKind::Wall,
        EcoBurialKind::Deep => pb::EcoBurialKind::Deep,
    }
}

fn ground_to(g: waiver::Ground) -> pb::WaiverGround {
    match g {
        waiver::Ground::MinimumLivingAllowance => pb::WaiverGround::MinimumLivingAllowance,
        waiver::Ground::ExtremePovertySupport => pb::WaiverGround::ExtremePovertySupport,
        waiver::Ground::KeyEntitledGroup => pb::WaiverGround::KeyEntitledGroup,
        waiver::Ground::AllResidents => pb::WaiverGround::AllResidents,
    }
}

fn state_to(s: CaseState) -> pb::CaseState {
    match s {
        CaseState::Registered => pb::CaseState::Registered,
        CaseState::CremationBooked => pb::CaseState::CremationBooked,
        CaseState::Cremated => pb::CaseState::Cremated,
        CaseState::Buried => pb::CaseState::Buried,
        CaseState::AshesPlaced => pb::CaseState::AshesPlaced,
    }
}

/// Enum values are stored by their proto names, so stored rows read without a second table.
fn enum_text(name: &str) -> String {
    name.to_owned()
}

impl FuneralApi {
    pub fn new(
        ctx: kit::ServiceContext,
        db: kit::store::Db,
        policy: FuneralPolicy,
        source: Arc<dyn WaiverEvidenceSource>,
    ) -> Self {
        let reads = AuditWriter::spawn(db.pool.clone());
        Self {
            ctx,
            db,
            policy: Arc::new(policy),
            source,
            reads,
        }
    }

    fn person_out(&self, p: &Principal, id_sealed: &str, name_sealed: &str) -> PersonRef {
        let id = self.ctx.sealer.open(id_sealed).unwrap_or_default();
        let id_number = if p.sees_full_identity_numbers() {
            id
        } else {
            civil_id::mask_id_number(&id)
        };
        PersonRef {
            id_number,
            name: self.ctx.sealer.open(name_sealed).unwrap_or_default(),
        }
    }

    async fn case_out(
        &self,
        p: &Principal,
        conn: &mut AnyConnection,
        c: &CaseRow,
    ) -> Result<pb::DeathCase, ServiceError> {
        let custody = store::custody_of(conn, &c.id)
            .await?
            .into_iter()
            .map(|e| pb::CustodyEvent {
                kind: pb::CustodyKind::from_str_name(&e.kind)
                    .unwrap_or_default()
                    .into(),
                location: e.location,
                date: parse_date(&e.date).ok().map(to_proto_date),
            })
            .collect();
        Ok(pb::DeathCase {
            name: case_name(&c.id),
            deceased: Some(self.person_out(p, &c.id_sealed, &c.name_sealed)),
            certificate: Some(pb::DeathCertificate {
                issuer: pb::CertificateIssuer::from_str_name(&c.issuer)
                    .unwrap_or_default()
                    .into(),
                number: c.certificate_number.clone(),
                date_of_death: Some(to_proto_date(parse_date(&c.date_of_death)?)),
                place_of_death: c.place_of_death.clone(),
                cause_class: pb::CauseClass::from_str_name(&c.cause_class)
                    .unwrap_or_default()
                    .into(),
            }),
            region: c.region.clone(),
            state: state_to(c.state).into(),
            custody,
            cremation_certificate_number: c.cremation_certificate.clone().unwrap_or_default(),
            final_place: c.final_place.clone().unwrap_or_default(),
        })
    }

    /// Loads a case for an authorised caller (role + the case's region).
    async fn authorized_case(
        &self,
        p: &Principal,
        name: &str,
        field: &str,
    ) -> Result<CaseRow, ServiceError> {
        let id = case_id(name, field)?;
        p.authorize(CASE_ROLES, None)?;
        let mut conn = self.db.pool.acquire().await?;
        let c = store::case_by_id(&mut conn, &id)
            .await?
            .ok_or_else(|| ServiceError::not_found(name.to_owned()))?;
        p.authorize(CASE_ROLES, Some(&c.region))?;
        Ok(c)
    }

    /// Re-reads a case inside a write transaction (the state may have moved since the check).
    async fn case_in_tx(conn: &mut AnyConnection, id: &str) -> Result<CaseRow, ServiceError> {
        store::case_by_id(conn, id)
            .await?
            .ok_or_else(|| ServiceError::not_found(case_name(id)))
    }

    async fn register_death(
        &self,
        p: Principal,
        req: pb::RegisterDeathRequest,
    ) -> Result<pb::DeathCase, ServiceError> {
        let mut v = Violations::new();
        let deceased = req.deceased.clone().unwrap_or_default();
        let id = v.id_number(&deceased.id_number, "deceased.id_number");
        v.required(&deceased.name, "deceased.name");
        let cert = req.certificate.clone().unwrap_or_default();
        v.check(
            cert.issuer != 0 && pb::CertificateIssuer::try_from(cert.issuer).is_ok(),
            "certificate.issuer",
            "must be medical or police",
        );
        v.required(&cert.number, "certificate.number");
        v.required(&cert.place_of_death, "certificate.place_of_death");
        v.check(
            cert.cause_class != 0 && pb::CauseClass::try_from(cert.cause_class).is_ok(),
            "certificate.cause_class",
            "is required",
        );
        let date_of_death = v.date(cert.date_of_death.as_ref(), "certificate.date_of_death");
        let region = v.region(&req.region, "region");
        if let Some(r) = &region {
            v.check(
                r.as_str().starts_with(&self.ctx.config.county) && r.as_str().len() > 6,
                "region",
                "must be a township or village of the county",
            );
        }
        let ethnicity = ethnicity_from(req.ethnicity);
        v.check(ethnicity.is_some(), "ethnicity", "is required");
        if let (Some(id), Some(d)) = (&id, date_of_death)
            && let Err(problem) = case::check_date_of_death(d, id.birth_date(), kit::today_cst())
        {
            v.add(problem.field, problem.description);
        }
        v.finish()?;
        let (Some(id), Some(date_of_death), Some(region)) = (id, date_of_death, region) else {
            return Err(ServiceError::Internal(anyhow::anyhow!(
                "validated fields missing"
            )));
        };
        p.authorize(CASE_ROLES, Some(region.as_str()))?;
        let (id_sealed, person_index) = self.ctx.sealer.protect(&id);
        let row = CaseRow {
            id: uuid::Uuid::now_v7().to_string(),
            person_index,
            id_sealed,
            name_sealed: self.ctx.sealer.seal(deceased.name.trim()),
            region: region.as_str().to_owned(),
            ethnicity: enum_text(
                pb::Ethnicity::try_from(req.ethnicity)
                    .unwrap_or_default()
                    .as_str_name(),
            ),
            issuer: enum_text(
                pb::CertificateIssuer::try_from(cert.issuer)
                    .unwrap_or_default()
                    .as_str_name(),
            ),
            certificate_number: cert.number.trim().to_owned(),
            date_of_death: date_text(date_of_death),
            place_of_death: cert.place_of_death.trim().to_owned(),
            cause_class: enum_text(
                pb::CauseClass::try_from(cert.cause_class)
                    .unwrap_or_default()
                    .as_str_name(),
            ),
            state: CaseState::Registered,
            cremation_certificate: None,
            final_place: None,
        };
        let api = self.clone();
        let principal = p.clone();
        kit::idempotency::once(
            &self.db,
            "RegisterDeath",
            &req.request_id,
            &req,
            move |conn: &mut AnyConnection| -> Tx<'_, pb::DeathCase> {
                Box::pin(async move {
                    if let Some(existing) = store::case_by_person(conn, &row.person_index).await? {
                        return Err(ServiceError::AlreadyExists(format!(
                            "the person already has a death case: {}",
                            case_name(&existing.id)
                        )));
                    }
                    if !store::insert_case(conn, &row, kit::now_ms()).await? {
                        return Err(ServiceError::AlreadyExists(
                            "the person already has a death case".into(),
                        ));
                    }
                    let event = pb::DeathRegistered {
                        event_id: String::new(),
                        death_case: case_name(&row.id),
                        person_index: row.person_index.clone(),
                        date_of_death: Some(to_proto_date(date_of_death)),
                        region: row.region.clone(),
                    };
                    kit::outbox::append(
                        conn,
                        crate::TOPIC_DEATH_REGISTERED,
                        "civil.funeral.v1.DeathRegistered",
                        &row.id,
                        &event,
                    )
                    .await?;
                    auth::audit::append(
                        conn,
                        &[audit(
                            &principal,
                            "funeral.RegisterDeath",
                            &case_name(&row.id),
                        )],
                    )
                    .await?;
                    api.case_out(&principal, conn, &row).await
                })
            },
        )
        .await
    }

    async fn record_custody(
        &self,
        p: Principal,
        req: pb::RecordBodyCustodyRequest,
    ) -> Result<pb::DeathCase, ServiceError> {
        let c = self
            .authorized_case(&p, &req.death_case, "death_case")
            .await?;
        let mut v = Violations::new();
        let event = req.event.clone().unwrap_or_default();
        let kind = pb::CustodyKind::try_from(event.kind)
            .ok()
            .filter(|k| *k != pb::CustodyKind::Unspecified);
        v.check(kind.is_some(), "event.kind", "must be transport or storage");
        v.required(&event.location, "event.location");
        let date = v.date(event.date.as_ref(), "event.date");
        v.finish()?;
        let row = store::CustodyRow {
            kind: kind.unwrap_or_default().as_str_name().to_owned(),
            location: event.location.trim().to_owned(),
            date: date.map(date_text).unwrap_or_default(),
        };
        let api = self.clone();
        kit::idempotency::once(
            &self.db,
            "RecordBodyCustody",
            &req.request_id,
            &req,
            move |conn: &mut AnyConnection| -> Tx<'_, pb::DeathCase> {
                Box::pin(async move {
                    let c = Self::case_in_tx(conn, &c.id).await?;
                    c.state.apply(Step::Custody)?;
                    store::insert_custody(conn, &c.id, &row).await?;
                    auth::audit::append(
                        conn,
                        &[audit(&p, "funeral.RecordBodyCustody", &case_name(&c.id))],
                    )
                    .await?;
                    api.case_out(&p, conn, &c).await
                })
            },
        )
        .await
    }

    fn waiver_out(case: &str, w: &store::WaiverRow) -> pb::FeeWaiver {
        pb::FeeWaiver {
            death_case: case.to_owned(),
            waived: w.waived,
            grounds: w
                .grounds
                .iter()
                .filter_map(|g| pb::WaiverGround::from_str_name(g))
                .map(Into::into)
                .collect(),
            evidence: Some(pb::WaiverEvidence {
                source: w.source.clone(),
                benefit_kinds_seen: w.benefit_kinds_seen.clone(),
                checked_at_ms: w.checked_at_ms,
            }),
            services: if w.waived {
                waiver::BASIC_SERVICES
                    .iter()
                    .map(|s| s.to_string())
                    .collect()
            } else {
                Vec::new()
            },
        }
    }

    async fn decide_waiver(
        &self,
        p: Principal,
        req: pb::DecideFeeWaiverRequest,
    ) -> Result<pb::FeeWaiver, ServiceError> {
        let c = self
            .authorized_case(&p, &req.death_case, "death_case")
            .await?;
        let name = case_name(&c.id);
        {
            let mut conn = self.db.pool.acquire().await?;
            if let Some(w) = store::waiver_of(&mut conn, &c.id).await? {
                return Ok(Self::waiver_out(&name, &w));
            }
        }
        let resident = c.region.starts_with(&self.ctx.config.county);
        let extensions = self.policy.waiver;
        // The lookup runs outside the transaction: a slow assistance must not hold a lock.
        let evidence = if extensions.all_residents && resident {
            waiver::Evidence {
                source: "county_policy".into(),
                benefit_kinds_seen: Vec::new(),
                checked_at_ms: kit::now_ms(),
            }
        } else {
            let id = self
                .ctx
                .sealer
                .open(&c.id_sealed)
                .map_err(|e| ServiceError::Internal(e.into()))?;
            let kinds = self
                .source
                .active_benefits(&id, &p.subject)
                .await
                .map_err(|s| {
                    tracing::warn!(code = ?s.code(), "waiver evidence source failed");
                    ServiceError::Unavailable(
                        "assistance records could not be read; retry (the waiver is never guessed)"
                            .into(),
                    )
                })?;
            waiver::Evidence {
                source: self.source.source_name().into(),
                benefit_kinds_seen: kinds,
                checked_at_ms: kit::now_ms(),
            }
        };
        let decision = waiver::decide(evidence, extensions, resident);
        let row = store::WaiverRow {
            waived: decision.waived,
            grounds: decision
                .grounds
                .iter()
                .map(|g| ground_to(*g).as_str_name().to_owned())
                .collect(),
            source: decision.evidence.source,
            benefit_kinds_seen: decision.evidence.benefit_kinds_seen,
            checked_at_ms: decision.evidence.checked_at_ms,
        };
        kit::idempotency::once(
            &self.db,
            "DecideFeeWaiver",
            &req.request_id,
            &req,
            move |conn: &mut AnyConnection| -> Tx<'_, pb::FeeWaiver> {
                Box::pin(async move {
                    store::insert_waiver(conn, &c.id, &row, &p.subject).await?;
                    auth::audit::append(
                        conn,
                        &[audit(&p, "funeral.DecideFeeWaiver", &name)
                            .with_purpose("basic funeral fee waiver")],
                    )
                    .await?;
                    // The first decision stands (a concurrent decider may have written it).
                    let stored = store::waiver_of(conn, &c.id).await?.unwrap_or(row);
                    Ok(Self::waiver_out(&name, &stored))
                })
            },
        )
        .await
    }

    async fn book_cremation(
        &self,
        p: Principal,
        req: pb::BookCremationRequest,
    ) -> Result<pb::CremationBooking, ServiceError> {
        let c = self
            .authorized_case(&p, &req.death_case, "death_case")
            .await?;
        let mut v = Violations::new();
        let day = v.date(req.day.as_ref(), "day");
        v.finish()?;
        let Some(day) = day else {
            return Err(ServiceError::invalid("day", "is required"));
        };
        let schedule = self.policy.schedule;
        cremation::check_booking(schedule, day, req.slot, kit::today_cst())?;
        let slot = req.slot;
        let name = case_name(&c.id);
        kit::idempotency::once(
            &self.db,
            "BookCremation",
            &req.request_id,
            &req,
            move |conn: &mut AnyConnection| -> Tx<'_, pb::CremationBooking> {
                Box::pin(async move {
                    let c = Self::case_in_tx(conn, &c.id).await?;
                    let next = c.state.apply(Step::BookCremation)?;
                    if !store::take_furnace(conn, &date_text(day), slot, schedule.furnaces).await? {
                        return Err(Refusal::SlotFull.into());
                    }
                    store::insert_booking(conn, &c.id, &date_text(day), slot).await?;
                    store::transition(conn, &c.id, c.state, next).await?;
                    auth::audit::append(conn, &[audit(&p, "funeral.BookCremation", &name)]).await?;
                    Ok(pb::CremationBooking {
                        death_case: name,
                        day: Some(to_proto_date(day)),
                        slot,
                    })
                })
            },
        )
        .await
    }

    async fn complete_cremation(
        &self,
        p: Principal,
        req: pb::CompleteCremationRequest,
    ) -> Result<pb::CremationCertificate, ServiceError> {
        let c = self
            .authorized_case(&p, &req.death_case, "death_case")
            .await?;
        let county = self.ctx.config.county.clone();
        let today = kit::today_cst();
        let name = case_name(&c.id);
        kit::idempotency::once(
            &self.db,
            "CompleteCremation",
            &req.request_id,
            &req,
            move |conn: &mut AnyConnection| -> Tx<'_, pb::CremationCertificate> {
                Box::pin(async move {
                    let c = Self::case_in_tx(conn, &c.id).await?;
                    let next = c.state.apply(Step::CompleteCremation)?;
                    let sequence =
                        store::next_sequence(conn, &format!("cremation/{county}/{}", today.year()))
                            .await?;
                    let number = cremation::certificate_number(&county, today.year(), sequence);
                    store::set_cremation_certificate(conn, &c.id, &number, &date_text(today))
                        .await?;
                    store::transition(conn, &c.id, c.state, next).await?;
                    let event = pb::CremationCompleted {
                        event_id: String::new(),
                        death_case: name.clone(),
                        person_index: c.person_index.clone(),
                        certificate_number: number.clone(),
                        cremated_on: Some(to_proto_date(today)),
                    };
                    kit::outbox::append(
                        conn,
                        crate::TOPIC_CREMATION_COMPLETED,
                        "civil.funeral.v1.CremationCompleted",
                        &c.id,
                        &event,
                    )
                    .await?;
                    auth::audit::append(conn, &[audit(&p, "funeral.CompleteCremation", &name)])
                        .await?;
                    Ok(pb::CremationCertificate {
                        death_case: name,
                        number,
                        cremated_on: Some(to_proto_date(today)),
                    })
                })
            },
        )
        .await
    }

    async fn record_burial(
        &self,
        p: Principal,
        req: pb::RecordBurialRequest,
    ) -> Result<pb::DeathCase, ServiceError> {
        let c = self
            .authorized_case(&p, &req.death_case, "death_case")
            .await?;
        let mut v = Violations::new();
        let burial_region = v.region(&req.burial_region, "burial_region");
        v.required(&req.place, "place");
        v.finish()?;
        let burial_region = burial_region
            .map(|r| r.as_str().to_owned())
            .unwrap_or_default();
        let ethnicity = pb::Ethnicity::from_str_name(&c.ethnicity)
            .and_then(|e| ethnicity_from(e.into()))
            .unwrap_or(Ethnicity::Other);
        zone::check_burial(&self.policy.zones, &burial_region, ethnicity)?;
        let place = req.place.trim().to_owned();
        let api = self.clone();
        kit::idempotency::once(
            &self.db,
            "RecordBurial",
            &req.request_id,
            &req,
            move |conn: &mut AnyConnection| -> Tx<'_, pb::DeathCase> {
                Box::pin(async move {
                    let c = Self::case_in_tx(conn, &c.id).await?;
                    let next = c.state.apply(Step::Bury)?;
                    store::release_booking(conn, &c.id).await?;
                    store::transition(conn, &c.id, c.state, next).await?;
                    store::set_final_place(conn, &c.id, &place).await?;
                    auth::audit::append(
                        conn,
                        &[audit(&p, "funeral.RecordBurial", &case_name(&c.id))],
                    )
                    .await?;
                    let c = Self::case_in_tx(conn, &c.id).await?;
                    api.case_out(&p, conn, &c).await
                })
            },
        )
        .await
    }

    async fn register_eco_burial(
        &self,
        p: Principal,
        req: pb::RegisterEcoBurialRequest,
    ) -> Result<pb::EcoBurial, ServiceError> {
        let c = self
            .authorized_case(&p, &req.death_case, "death_case")
            .await?;
        let mut v = Violations::new();
        let kind = eco_kind_from(req.kind);
        v.check(kind.is_some(), "kind", "must be an eco-burial kind");
        v.required(&req.place, "place");
        let date = v.date(req.date.as_ref(), "date");
        v.finish()?;
        let (Some(kind), Some(date)) = (kind, date) else {
            return Err(ServiceError::invalid("kind", "is required"));
        };
        let reward_fen = self.policy.eco.reward_fen(kind);
        let place = req.place.trim().to_owned();
        let name = case_name(&c.id);
        kit::idempotency::once(
            &self.db,
            "RegisterEcoBurial",
            &req.request_id,
            &req,
            move |conn: &mut AnyConnection| -> Tx<'_, pb::EcoBurial> {
                Box::pin(async move {
                    let c = Self::case_in_tx(conn, &c.id).await?;
                    let next = c.state.apply(Step::PlaceAshes)?;
                    store::insert_eco_burial(
                        conn,
                        &c.id,
                        kind.as_str(),
                        &place,
                        &date_text(date),
                        reward_fen,
                    )
                    .await?;
                    store::transition(conn, &c.id, c.state, next).await?;
                    store::set_final_place(conn, &c.id, &format!("eco:{}:{place}", kind.as_str()))
                        .await?;
                    auth::audit::append(conn, &[audit(&p, "funeral.RegisterEcoBurial", &name)])
                        .await?;
                    Ok(pb::EcoBurial {
                        death_case: name,
                        kind: eco_kind_to(kind).into(),
                        place,
                        date: Some(to_proto_date(date)),
                        reward_fen,
                    })
                })
            },
        )
        .await
    }

    async fn register_cemetery(
        &self,
        p: Principal,
        req: pb::RegisterCemeteryRequest,
    ) -> Result<pb::Cemetery, ServiceError> {
        let mut v = Violations::new();
        v.required(&req.display_name, "display_name");
        let region = v.region(&req.region, "region");
        let kind = pb::CemeteryKind::try_from(req.kind)
            .ok()
            .filter(|k| *k != pb::CemeteryKind::Unspecified);
        v.check(
            kind.is_some(),
            "kind",
            "must be public welfare or commercial",
        );
        let land = pb::SiteLandUse::try_from(req.land_use)
            .ok()
            .filter(|k| *k != pb::SiteLandUse::Unspecified);
        v.check(land.is_some(), "land_use", "is required");
        v.finish()?;
        let region = region.map(|r| r.as_str().to_owned()).unwrap_or_default();
        p.authorize(&[auth::Role::FuneralHome], Some(&region))?;
        let land = match land.unwrap_or_default() {
            pb::SiteLandUse::Farmland => plot::LandUse::Farmland,
            pb::SiteLandUse::Park => plot::LandUse::Park,
            pb::SiteLandUse::ScenicArea => plot::LandUse::ScenicArea,
            pb::SiteLandUse::Reservoir => plot::LandUse::Reservoir,
            pb::SiteLandUse::TrunkRoad => plot::LandUse::TrunkRoad,
            pb::SiteLandUse::Designated | pb::SiteLandUse::Unspecified => plot::LandUse::Designated,
        };
        plot::check_site(land)?;
        let row = store::CemeteryRow {
            id: uuid::Uuid::now_v7().to_string(),
            display_name: req.display_name.trim().to_owned(),
            region,
            kind: kind.unwrap_or_default().as_str_name().to_owned(),
        };
        kit::idempotency::once(
            &self.db,
            "RegisterCemetery",
            &req.request_id,
            &req,
            move |conn: &mut AnyConnection| -> Tx<'_, pb::Cemetery> {
                Box::pin(async move {
                    store::insert_cemetery(conn, &row).await?;
                    let name = format!("cemeteries/{}", row.id);
                    auth::audit::append(conn, &[audit(&p, "funeral.RegisterCemetery", &name)])
                        .await?;
                    Ok(pb::Cemetery {
                        name,
                        display_name: row.display_name,
                        region: row.region,
                        kind: req.kind,
                    })
                })
            },
        )
        .await
    }

    async fn authorized_cemetery(
        &self,
        p: &Principal,
        name: &str,
    ) -> Result<store::CemeteryRow, ServiceError> {
        let id = cemetery_id(name)?;
        p.authorize(&[auth::Role::FuneralHome], None)?;
        let mut conn = self.db.pool.acquire().await?;
        let c = store::cemetery(&mut conn, &id)
            .await?
            .ok_or_else(|| ServiceError::not_found(name.to_owned()))?;
        p.authorize(&[auth::Role::FuneralHome], Some(&c.region))?;
        Ok(c)
    }

    fn plot_out(&self, p: &Principal, cemetery: &str, row: &store::PlotRow) -> pb::PlotLease {
        let id = self.ctx.sealer.open(&row.person_sealed).unwrap_or_default();
        let id_number = if p.sees_full_identity_numbers() {
            id
        } else {
            civil_id::mask_id_number(&id)
        };
        pb::PlotLease {
            cemetery: format!("cemeteries/{cemetery}"),
            plot_number: row.plot_number.clone(),
            state: if row.state == "reserved" {
                pb::PlotState::ReservedForSpouse
            } else {
                pb::PlotState::Leased
            }
            .into(),
            area_dm2: row.area_dm2,
            person: Some(PersonRef {
                id_number,
                name: String::new(),
            }),
            start_date: parse_date(&row.start_date).ok().map(to_proto_date),
            end_date: parse_date(&row.end_date).ok().map(to_proto_date),
        }
    }

    async fn lease_plot(
        &self,
        p: Principal,
        req: pb::LeasePlotRequest,
    ) -> Result<pb::PlotLease, ServiceError> {
        let cem = self.authorized_cemetery(&p, &req.cemetery).await?;
        let mut v = Violations::new();
        v.required(&req.plot_number, "plot_number");
        v.check(req.area_dm2 > 0, "area_dm2", "must be positive");
        let occupant = v.id_number(&req.occupant_id_number, "occupant_id_number");
        let start = v.date(req.start_date.as_ref(), "start_date");
        v.finish()?;
        let (Some(occupant), Some(start)) = (occupant, start) else {
            return Err(ServiceError::invalid("occupant_id_number", "is required"));
        };
        let (sealed, index) = self.ctx.sealer.protect(&occupant);
        let limit = self.policy.plot_max_area_dm2;
        let plot_number = req.plot_number.trim().to_owned();
        let area_dm2 = req.area_dm2;
        let api = self.clone();
        kit::idempotency::once(
            &self.db,
            "LeasePlot",
            &req.request_id,
            &req,
            move |conn: &mut AnyConnection| -> Tx<'_, pb::PlotLease> {
                Box::pin(async move {
                    let case = store::case_by_person(conn, &index).await?;
                    let current = store::plot(conn, &cem.id, &plot_number).await?;
                    plot::check_lease(
                        current.as_ref().map(|r| r.holding()).as_ref(),
                        &index,
                        case.is_some(),
                        area_dm2,
                        limit,
                    )?;
                    let Some(case) = case else {
                        return Err(Refusal::PlotForLiving.into());
                    };
                    let next = case.state.apply(Step::PlaceAshes)?;
                    let row = store::PlotRow {
                        plot_number,
                        state: "leased".into(),
                        area_dm2,
                        person_index: index,
                        person_sealed: sealed,
                        start_date: date_text(start),
                        end_date: date_text(plot::lease_end(start)),
                        beside_plot: current.map(|c| c.beside_plot).unwrap_or_default(),
                    };
                    store::upsert_plot(conn, &cem.id, &row).await?;
                    store::transition(conn, &case.id, case.state, next).await?;
                    store::set_final_place(
                        conn,
                        &case.id,
                        &format!("cemeteries/{}/plots/{}", cem.id, row.plot_number),
                    )
                    .await?;
                    auth::audit::append(
                        conn,
                        &[audit(
                            &p,
                            "funeral.LeasePlot",
                            &format!("cemeteries/{}/plots/{}", cem.id, row.plot_number),
                        )],
                    )
                    .await?;
                    Ok(api.plot_out(&p, &cem.id, &row))
                })
            },
        )
        .await
    }

    async fn reserve_spouse_plot(
        &self,
        p: Principal,
        req: pb::ReserveSpousePlotRequest,
    ) -> Result<pb::PlotLease, ServiceError> {
        let cem = self.authorized_cemetery(&p, &req.cemetery).await?;
        let mut v = Violations::new();
        v.required(&req.plot_number, "plot_number");
        v.required(&req.beside_plot_number, "beside_plot_number");
        v.check(req.area_dm2 > 0, "area_dm2", "must be positive");
        let spouse = v.id_number(
            &req.spouse.clone().unwrap_or_default().id_number,
            "spouse.id_number",
        );
        v.finish()?;
        let Some(spouse) = spouse else {
            return Err(ServiceError::invalid("spouse.id_number", "is required"));
        };
        let (sealed, index) = self.ctx.sealer.protect(&spouse);
        let limit = self.policy.plot_max_area_dm2;
        let plot_number = req.plot_number.trim().to_owned();
        let beside_number = req.beside_plot_number.trim().to_owned();
        let area_dm2 = req.area_dm2;
        let api = self.clone();
        kit::idempotency::once(
            &self.db,
            "ReserveSpousePlot",
            &req.request_id,
            &req,
            move |conn: &mut AnyConnection| -> Tx<'_, pb::PlotLease> {
                Box::pin(async move {
                    let beside = store::plot(conn, &cem.id, &beside_number).await?;
                    let reserved =
                        store::has_reservation_beside(conn, &cem.id, &beside_number).await?;
                    let target = store::plot(conn, &cem.id, &plot_number).await?;
                    let spouse_deceased = store::case_by_person(conn, &index).await?.is_some();
                    plot::check_spouse_reservation(
                        beside.as_ref().map(|b| b.holding()).as_ref(),
                        reserved,
                        target.as_ref().map(|t| t.holding()).as_ref(),
                        spouse_deceased,
                        area_dm2,
                        limit,
                    )?;
                    let beside = beside.ok_or(Refusal::PlotNotLeased)?;
                    let row = store::PlotRow {
                        plot_number,
                        state: "reserved".into(),
                        area_dm2,
                        person_index: index,
                        person_sealed: sealed,
                        // The reservation runs with the deceased's lease cycle.
                        start_date: beside.start_date.clone(),
                        end_date: beside.end_date.clone(),
                        beside_plot: beside.plot_number.clone(),
                    };
                    store::upsert_plot(conn, &cem.id, &row).await?;
                    auth::audit::append(
                        conn,
                        &[audit(
                            &p,
                            "funeral.ReserveSpousePlot",
                            &format!("cemeteries/{}/plots/{}", cem.id, row.plot_number),
                        )],
                    )
                    .await?;
                    Ok(api.plot_out(&p, &cem.id, &row))
                })
            },
        )
        .await
    }
}

/// Runs a write handler: principal, audit of a failure, status mapping.
macro_rules! write_rpc {
    ($self:ident, $request:ident, $action:literal, $object:expr, $method:ident) => {
        kit::audited::write_rpc($request, &$self.reads, $action, $object, |p, req| {
            $self.$method(p, req)
        })
        .await
    };
}

#[tonic::async_trait]
impl FuneralService for FuneralApi {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn register_death(
        &self,
        request: Request<pb::RegisterDeathRequest>,
    ) -> Result<Response<pb::DeathCase>, Status> {
        write_rpc!(
            self,
            request,
            "funeral.RegisterDeath",
            |_: &pb::RegisterDeathRequest| "cases/-".to_owned(),
            register_death
        )
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn get_death_case(
        &self,
        request: Request<pb::GetDeathCaseRequest>,
    ) -> Result<Response<pb::DeathCase>, Status> {
        let p = auth::principal(&request)?.clone();
        let req = request.into_inner();
        let result = async {
            let c = self.authorized_case(&p, &req.name, "name").await?;
            let mut conn = self.db.pool.acquire().await?;
            let out = self.case_out(&p, &mut conn, &c).await?;
            self.reads
                .record(
                    audit(&p, "funeral.GetDeathCase", &req.name).with_purpose("read personal data"),
                )
                .await;
            Ok::<_, ServiceError>(out)
        }
        .await;
        result.map(Response::new).map_err(kit::to_status)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn record_body_custody(
        &self,
        request: Request<pb::RecordBodyCustodyRequest>,
    ) -> Result<Response<pb::DeathCase>, Status> {
        write_rpc!(
            self,
            request,
            "funeral.RecordBodyCustody",
            |r: &pb::RecordBodyCustodyRequest| r.death_case.clone(),
            record_custody
        )
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn decide_fee_waiver(
        &self,
        request: Request<pb::DecideFeeWaiverRequest>,
    ) -> Result<Response<pb::FeeWaiver>, Status> {
        write_rpc!(
            self,
            request,
            "funeral.DecideFeeWaiver",
            |r: &pb::DecideFeeWaiverRequest| r.death_case.clone(),
            decide_waiver
        )
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn book_cremation(
        &self,
        request: Request<pb::BookCremationRequest>,
    ) -> Result<Response<pb::CremationBooking>, Status> {
        write_rpc!(
            self,
            request,
            "funeral.BookCremation",
            |r: &pb::BookCremationRequest| r.death_case.clone(),
            book_cremation
        )
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn complete_cremation(
        &self,
        request: Request<pb::CompleteCremationRequest>,
    ) -> Result<Response<pb::CremationCertificate>, Status> {
        write_rpc!(
            self,
            request,
            "funeral.CompleteCremation",
            |r: &pb::CompleteCremationRequest| r.death_case.clone(),
            complete_cremation
        )
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn record_burial(
        &self,
        request: Request<pb::RecordBurialRequest>,
    ) -> Result<Response<pb::DeathCase>, Status> {
        write_rpc!(
            self,
            request,
            "funeral.RecordBurial",
            |r: &pb::RecordBurialRequest| r.death_case.clone(),
            record_burial
        )
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn register_eco_burial(
        &self,
        request: Request<pb::RegisterEcoBurialRequest>,
    ) -> Result<Response<pb::EcoBurial>, Status> {
        write_rpc!(
            self,
            request,
            "funeral.RegisterEcoBurial",
            |r: &pb::RegisterEcoBurialRequest| r.death_case.clone(),
            register_eco_burial
        )
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn register_cemetery(
        &self,
        request: Request<pb::RegisterCemeteryRequest>,
    ) -> Result<Response<pb::Cemetery>, Status> {
        write_rpc!(
            self,
            request,
            "funeral.RegisterCemetery",
            |_: &pb::RegisterCemeteryRequest| "cemeteries/-".to_owned(),
            register_cemetery
        )
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn lease_plot(
        &self,
        request: Request<pb::LeasePlotRequest>,
    ) -> Result<Response<pb::PlotLease>, Status> {
        write_rpc!(
            self,
            request,
            "funeral.LeasePlot",
            |r: &pb::LeasePlotRequest| format!("{}/plots/{}", r.cemetery, r.plot_number),
            lease_plot
        )
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn reserve_spouse_plot(
        &self,
        request: Request<pb::ReserveSpousePlotRequest>,
    ) -> Result<Response<pb::PlotLease>, Status> {
        write_rpc!(
            self,
            request,
            "funeral.ReserveSpousePlot",
            |r: &pb::ReserveSpousePlotRequest| format!("{}/plots/{}", r.cemetery, r.plot_number),
            reserve_spouse_plot
        )
    }
}
