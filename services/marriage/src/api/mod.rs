//! The gRPC surface. Each handler reads: decode -> authorize -> domain -> store -> encode.
//! Handlers are grouped by aggregate:
//!
//! - [`appointments`]: offices, slot quotas, bookings.
//! - [`booking`]: the booking desk for peak days (admission gate, group commit).
//! - [`registration`]: marriage registration and the archive record.
//! - [`divorce`]: divorce applications, cooling-off, registration, expiry.
//! - [`records`]: re-issue, court decisions, deaths, marital status for other bureaus.

mod appointments;
mod booking;
mod divorce;
mod records;
mod registration;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use auth::audit::{AuditEntry, AuditWriter};
use auth::{Principal, Role};
use civil_calendar::HolidayCalendar;
use contracts::civil::marriage::v1 as pb;
use contracts::civil::marriage::v1::marriage_service_server::MarriageService;
use kit::cache::Cache;
use kit::pii::Sealer;
use kit::store::Db;
use kit::{ServiceError, Violations, to_status};
use tonic::{Request, Response, Status};

use crate::store::{self, OfficeRow};

pub use divorce::sweep_expired;

/// Everything a handler needs. Cheap to clone (handlers move a clone into the transaction).
#[derive(Clone)]
pub struct MarriageApi {
    pub(crate) db: Db,
    pub(crate) sealer: Sealer,
    pub(crate) calendar: Arc<HolidayCalendar>,
    pub(crate) cache: Cache,
    pub(crate) audit: AuditWriter,
    pub(crate) bookings: booking::Bookings,
    /// Offices never change once created, so each is read from the store once per process.
    offices: Arc<RwLock<HashMap<String, OfficeRow>>>,
}

impl MarriageApi {
    pub fn new(ctx: &kit::ServiceContext, db: Db) -> Self {
        let audit = AuditWriter::spawn(db.pool.clone());
        let bookings = booking::Bookings::spawn(db.clone());
        Self {
            db,
            sealer: ctx.sealer.clone(),
            calendar: ctx.calendar.clone(),
            cache: ctx.cache.clone(),
            audit,
            bookings,
            offices: Arc::default(),
        }
    }

    /// Loads an office or answers NOT_FOUND. Offices are immutable (there is no RPC that
    /// changes or removes one), so a found office is kept; an unknown id is asked again.
    async fn office(&self, office_id: &str) -> Result<OfficeRow, ServiceError> {
        let known = self
            .offices
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(office_id)
            .cloned();
        if let Some(office) = known {
            return Ok(office);
        }
        let office = {
            let mut conn = self.db.pool.acquire().await?;
            store::get_office(&mut conn, office_id).await?
        }
        .ok_or_else(|| ServiceError::not_found(format!("office {office_id:?}")))?;
        self.offices
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(office.office_id.clone(), office.clone());
        Ok(office)
    }

    /// Queues a read-audit row (reads of personal data do not wait on a write transaction).
    async fn audit_read(&self, principal: &Principal, action: &str, object: &str, purpose: &str) {
        self.audit
            .record(audit_entry(principal, action, object).with_purpose(purpose))
            .await;
    }

    /// Drops the cached marital status of the persons with these blind indexes.
    async fn invalidate_status(&self, indexes: &[&str]) {
        for index in indexes {
            self.cache.invalidate(&status_cache_key(index)).await;
        }
    }
}

pub(crate) fn status_cache_key(index: &str) -> String {
    format!("marriage:status:{index}")
}

/// An audit row for `principal`, with the current trace id. `object` is a record id or a blind
/// index, never an identity number.
pub(crate) fn audit_entry(principal: &Principal, action: &str, object: &str) -> AuditEntry {
    AuditEntry::new(principal, action, object).with_trace_id(kit::telemetry::current_trace_id())
}

/// Returns the authenticated caller.
fn caller<T>(request: &Request<T>) -> Result<Principal, Status> {
    auth::principal(request).cloned()
}

/// Registrars act within their region; other services act anywhere (they carry the person
/// they act for, recorded in the audit trail).
fn authorize_registrar_or_service(principal: &Principal, region: &str) -> Result<(), Status> {
    if principal.has_role(Role::Service) {
        return principal.authorize(&[Role::Service], None);
    }
    principal.authorize(&[Role::Registrar], Some(region))
}

/// Parses a party (identity number, name, presence) recording violations under `field`.
fn decode_party(
    v: &mut Violations,
    party: Option<&pb::Party>,
    field: &str,
) -> Option<(civil_id::IdNumber, String, bool)> {
    let Some(party) = party else {
        v.add(field, "is required");
        return None;
    };
    let (id, name) = decode_person(v, party.person.as_ref(), &format!("{field}.person"))?;
    Some((id, name, party.in_person))
}

/// Parses a person reference (identity number and name).
fn decode_person(
    v: &mut Violations,
    person: Option<&contracts::civil::common::v1::PersonRef>,
    field: &str,
) -> Option<(civil_id::IdNumber, String)> {
    let Some(person) = person else {
        v.add(field, "is required");
        return None;
    };
    v.required(&person.name, &format!("{field}.name"));
    let id = v.id_number(&person.id_number, &format!("{field}.id_number"))?;
    let name = person.name.trim().to_owned();
    (!name.is_empty()).then_some((id, name))
}

type Rpc<T> = Result<Response<T>, Status>;

fn respond<T>(result: Result<T, ServiceError>) -> Rpc<T> {
    result.map(Response::new).map_err(to_status)
}

#[tonic::async_trait]
impl MarriageService for MarriageApi {
    async fn create_office(&self, request: Request<pb::CreateOfficeRequest>) -> Rpc<pb::Office> {
        let principal = caller(&request)?;
        respond(
            self.create_office_impl(&principal, request.into_inner())
                .await,
        )
    }

    async fn set_slot_quotas(
        &self,
        request: Request<pb::SetSlotQuotasRequest>,
    ) -> Rpc<pb::DaySchedule> {
        let principal = caller(&request)?;
        respond(
            self.set_slot_quotas_impl(&principal, request.into_inner())
                .await,
        )
    }

    async fn list_free_slots(
        &self,
        request: Request<pb::ListFreeSlotsRequest>,
    ) -> Rpc<pb::DaySchedule> {
        caller(&request)?;
        respond(self.list_free_slots_impl(request.into_inner()).await)
    }

    async fn book_appointment(
        &self,
        request: Request<pb::BookAppointmentRequest>,
    ) -> Rpc<pb::Appointment> {
        let principal = caller(&request)?;
        respond(
            self.book_appointment_impl(&principal, request.into_inner())
                .await,
        )
    }

    async fn cancel_appointment(
        &self,
        request: Request<pb::CancelAppointmentRequest>,
    ) -> Rpc<pb::Appointment> {
        let principal = caller(&request)?;
        respond(
            self.cancel_appointment_impl(&principal, request.into_inner())
                .await,
        )
    }

    async fn register_marriage(
        &self,
        request: Request<pb::RegisterMarriageRequest>,
    ) -> Rpc<pb::Marriage> {
        let principal = caller(&request)?;
        respond(
            self.register_marriage_impl(&principal, request.into_inner())
                .await,
        )
    }

    async fn get_marriage(&self, request: Request<pb::GetMarriageRequest>) -> Rpc<pb::Marriage> {
        let principal = caller(&request)?;
        respond(
            self.get_marriage_impl(&principal, request.into_inner())
                .await,
        )
    }

    async fn apply_for_divorce(
        &self,
        request: Request<pb::ApplyForDivorceRequest>,
    ) -> Rpc<pb::DivorceApplication> {
        let principal = caller(&request)?;
        respond(
            self.apply_for_divorce_impl(&principal, request.into_inner())
                .await,
        )
    }

    async fn get_divorce_application(
        &self,
        request: Request<pb::GetDivorceApplicationRequest>,
    ) -> Rpc<pb::DivorceApplication> {
        let principal = caller(&request)?;
        respond(
            self.get_divorce_application_impl(&principal, request.into_inner())
                .await,
        )
    }

    async fn withdraw_divorce_application(
        &self,
        request: Request<pb::WithdrawDivorceApplicationRequest>,
    ) -> Rpc<pb::DivorceApplication> {
        let principal = caller(&request)?;
        respond(
            self.withdraw_divorce_application_impl(&principal, request.into_inner())
                .await,
        )
    }

    async fn register_divorce(
        &self,
        request: Request<pb::RegisterDivorceRequest>,
    ) -> Rpc<pb::DivorceApplication> {
        let principal = caller(&request)?;
        respond(
            self.register_divorce_impl(&principal, request.into_inner())
                .await,
        )
    }

    async fn reissue_certificate(
        &self,
        request: Request<pb::ReissueCertificateRequest>,
    ) -> Rpc<pb::CertificateReissue> {
        let principal = caller(&request)?;
        respond(
            self.reissue_certificate_impl(&principal, request.into_inner())
                .await,
        )
    }

    async fn record_court_decision(
        &self,
        request: Request<pb::RecordCourtDecisionRequest>,
    ) -> Rpc<pb::Marriage> {
        let principal = caller(&request)?;
        respond(
            self.record_court_decision_impl(&principal, request.into_inner())
                .await,
        )
    }

    async fn record_death(&self, request: Request<pb::RecordDeathRequest>) -> Rpc<pb::DeathRecord> {
        let principal = caller(&request)?;
        respond(
            self.record_death_impl(&principal, request.into_inner())
                .await,
        )
    }

    async fn get_marital_status(
        &self,
        request: Request<pb::GetMaritalStatusRequest>,
    ) -> Rpc<pb::MaritalStatus> {
        let principal = caller(&request)?;
        respond(
            self.get_marital_status_impl(&principal, request.into_inner())
                .await,
        )
    }
}
