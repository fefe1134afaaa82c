//! Rows to protobuf messages, and masking of identity numbers for callers who may not see them
//! in full. Responses are built unmasked (that is what the idempotency store keeps, so a retry
//! by the same caller gets the same answer) and masked last, per caller.

use contracts::civil::common::v1::PersonRef;
use contracts::civil::marriage::v1 as pb;
use kit::error::to_proto_date;
use kit::pii::Sealer;

use crate::domain::appointment::free_seats;
use crate::domain::cooling_off::ApplicationState;
use crate::domain::status::{MaritalState, MarriageState};
use crate::store::{
    ApplicationRow, AppointmentRow, MarriageRow, OfficeRow, PartyRow, RefusalRow, SlotRow,
};

/// Opens a sealed identity number; a value that does not open (wrong key, corruption) shows
/// as fully masked rather than failing the whole answer.
pub fn open_id(sealer: &Sealer, sealed: &str) -> String {
    sealer.open(sealed).unwrap_or_else(|_| "*".repeat(18))
}

pub fn person(sealer: &Sealer, party: &PartyRow) -> PersonRef {
    PersonRef {
        id_number: open_id(sealer, &party.sealed),
        name: party.name.clone(),
    }
}

pub fn office(o: &OfficeRow) -> pb::Office {
    pb::Office {
        name: format!("offices/{}", o.office_id),
        office_id: o.office_id.clone(),
        display_name: o.display_name.clone(),
        region_code: o.region_code.clone(),
    }
}

fn sex(code: &str) -> pb::Sex {
    match code {
        "male" => pb::Sex::Male,
        "female" => pb::Sex::Female,
        _ => pb::Sex::Unspecified,
    }
}

pub fn sex_code(sex: civil_id::Sex) -> &'static str {
    match sex {
        civil_id::Sex::Male => "male",
        civil_id::Sex::Female => "female",
    }
}

fn certificate_party(sealer: &Sealer, p: &PartyRow) -> pb::CertificateParty {
    pb::CertificateParty {
        person: Some(person(sealer, p)),
        sex: sex(&p.sex).into(),
        // Counties register mainland residents only (婚姻登记条例 as revised 2025).
        nationality: "CHN".into(),
        birth_date: Some(to_proto_date(p.birth)),
        declaration: p.declaration.map(|d| pb::MarriageDeclaration {
            no_spouse: d.no_spouse,
            not_prohibited_relatives: d.not_prohibited_relatives,
            consents: d.consents,
        }),
    }
}

pub fn marriage_state(state: MarriageState) -> pb::MarriageState {
    match state {
        MarriageState::InEffect => pb::MarriageState::InEffect,
        MarriageState::Divorced => pb::MarriageState::Divorced,
        MarriageState::JudiciallyDivorced => pb::MarriageState::JudiciallyDivorced,
        MarriageState::Annulled => pb::MarriageState::Annulled,
        MarriageState::EndedByDeath => pb::MarriageState::EndedByDeath,
    }
}

pub fn marriage(sealer: &Sealer, m: &MarriageRow, remarks: Vec<String>) -> pb::Marriage {
    pb::Marriage {
        name: format!("marriages/{}", m.certificate_number),
        certificate_number: m.certificate_number.clone(),
        party_a: Some(certificate_party(sealer, &m.a)),
        party_b: Some(certificate_party(sealer, &m.b)),
        registration_date: Some(to_proto_date(m.registration_date)),
        office_id: m.office_id.clone(),
        registrar: m.registrar.clone(),
        state: marriage_state(m.state).into(),
        ended_on: m.ended_on.map(to_proto_date),
        remarks,
        // Kept per registration (national_checks), answered by RegisterMarriage only.
        national_check: pb::NationalCheck::Unspecified.into(),
        national_check_override_id: String::new(),
    }
}

fn application_state(state: ApplicationState) -> pb::DivorceApplicationState {
    match state {
        ApplicationState::Pending => pb::DivorceApplicationState::Pending,
        ApplicationState::Withdrawn => pb::DivorceApplicationState::Withdrawn,
        ApplicationState::Expired => pb::DivorceApplicationState::Expired,
        ApplicationState::Registered => pb::DivorceApplicationState::Registered,
        ApplicationState::Moot => pb::DivorceApplicationState::Moot,
    }
}

pub fn application(sealer: &Sealer, a: &ApplicationRow, m: &MarriageRow) -> pb::DivorceApplication {
    pb::DivorceApplication {
        name: format!("divorceApplications/{}", a.application_id),
        application_id: a.application_id.clone(),
        office_id: a.office_id.clone(),
        marriage_certificate_number: a.marriage_certificate.clone(),
        party_a: Some(person(sealer, &m.a)),
        party_b: Some(person(sealer, &m.b)),
        agreement_summary: a.agreement_summary.clone(),
        received_on: Some(to_proto_date(a.deadlines.received_on)),
        withdrawal_deadline: Some(to_proto_date(a.deadlines.withdrawal_deadline)),
        issuance_deadline: Some(to_proto_date(a.deadlines.issuance_deadline)),
        state: application_state(a.state).into(),
        closed_on: a.closed_on.map(to_proto_date),
        divorce_certificate_number: a.divorce_certificate.clone().unwrap_or_default(),
    }
}

/// The stored code of an appointment purpose; `None` for an unspecified one.
pub fn purpose_in(purpose: pb::AppointmentPurpose) -> Option<&'static str> {
    Some(match purpose {
        pb::AppointmentPurpose::Marriage => "marriage",
        pb::AppointmentPurpose::DivorceApplication => "divorce_application",
        pb::AppointmentPurpose::DivorceRegistration => "divorce_registration",
        pb::AppointmentPurpose::CertificateReissue => "certificate_reissue",
        pb::AppointmentPurpose::Unspecified => return None,
    })
}

fn purpose_out(code: &str) -> pb::AppointmentPurpose {
    match code {
        "marriage" => pb::AppointmentPurpose::Marriage,
        "divorce_application" => pb::AppointmentPurpose::DivorceApplication,
        "divorce_registration" => pb::AppointmentPurpose::DivorceRegistration,
        "certificate_reissue" => pb::AppointmentPurpose::CertificateReissue,
        _ => pb::AppointmentPurpose::Unspecified,
    }
}

pub fn appointment(a: &AppointmentRow) -> pb::Appointment {
    pb::Appointment {
        name: format!("appointments/{}", a.appointment_id),
        appointment_id: a.appointment_id.clone(),
        office_id: a.office_id.clone(),
        date: Some(to_proto_date(a.date)),
        slot: a.slot.clone(),
        purpose: purpose_out(&a.purpose).into(),
        state: if a.state == "booked" {
            pb::AppointmentState::Booked
        } else {
            pb::AppointmentState::Cancelled
        }
        .into(),
        booked_by: a.booked_by.clone(),
    }
}

/// The slots of one office on one day with their free seats.
pub fn schedule(office_id: &str, date: time::Date, rows: Vec<SlotRow>) -> pb::DaySchedule {
    let count = |n: i64| i32::try_from(n).unwrap_or(i32::MAX);
    pb::DaySchedule {
        office_id: office_id.to_owned(),
        date: Some(to_proto_date(date)),
        slots: rows
            .into_iter()
            .map(|s| pb::TimeSlot {
                free: count(free_seats(s.quota, s.booked)),
                slot: s.slot,
                quota: count(s.quota),
                booked: count(s.booked),
            })
            .collect(),
    }
}

pub fn marital_state(state: MaritalState) -> pb::MaritalState {
    match state {
        MaritalState::NoRecord => pb::MaritalState::NoRecord,
        MaritalState::Unmarried => pb::MaritalState::Unmarried,
        MaritalState::Married => pb::MaritalState::Married,
        MaritalState::Divorced => pb::MaritalState::Divorced,
        MaritalState::Widowed => pb::MaritalState::Widowed,
    }
}

pub fn refusal(r: RefusalRow) -> pb::DeskRefusal {
    pb::DeskRefusal {
        refusal_id: r.refusal_id,
        office_id: r.office_id,
        rpc: r.rpc,
        reason: r.reason,
        message: r.message,
        party_a_index: r.party_a_index,
        party_b_index: r.party_b_index,
        registrar: r.registrar,
        refused_on: Some(to_proto_date(r.refused_on)),
    }
}

/// Hides identity numbers in a response for callers whose role may not see them.
pub trait Mask {
    fn mask(&mut self);

    /// Masks unless `full` is true.
    fn masked_unless(mut self, full: bool) -> Self
    where
        Self: Sized,
    {
        if !full {
            self.mask();
        }
        self
    }
}

impl Mask for PersonRef {
    fn mask(&mut self) {
        if !self.id_number.is_empty() {
            self.id_number = civil_id::mask_id_number(&self.id_number);
        }
    }
}

impl<T: Mask> Mask for Option<T> {
    fn mask(&mut self) {
        if let Some(inner) = self {
            inner.mask();
        }
    }
}

impl Mask for pb::CertificateParty {
    fn mask(&mut self) {
        self.person.mask();
    }
}

impl Mask for pb::Marriage {
    fn mask(&mut self) {
        self.party_a.mask();
        self.party_b.mask();
    }
}

impl Mask for pb::DivorceApplication {
    fn mask(&mut self) {
        self.party_a.mask();
        self.party_b.mask();
    }
}

impl Mask for pb::DeathRecord {
    fn mask(&mut self) {
        self.person.mask();
        self.widowed_spouse.mask();
    }
}

impl Mask for pb::MaritalStatus {
    fn mask(&mut self) {
        self.person.mask();
        self.spouse.mask();
    }
}

impl Mask for pb::MarriageRecordCertificate {
    fn mask(&mut self) {
        self.person.mask();
    }
}

impl Mask for pb::CertificateReissue {
    fn mask(&mut self) {
        self.marriage.mask();
        self.record_certificate.mask();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_masked_status_shows_neither_the_persons_nor_the_spouses_full_number() {
        let status = pb::MaritalStatus {
            person: Some(PersonRef {
                id_number: "11010519491231002X".into(),
                name: "张三".into(),
            }),
            spouse: Some(PersonRef {
                id_number: "110105194912310021".into(),
                name: "李四".into(),
            }),
            ..Default::default()
        }
        .masked_unless(false);
        let text = format!("{status:?}");
        assert!(!text.contains("19491231"), "{text}");
        assert!(text.contains("张三"));
    }
}
