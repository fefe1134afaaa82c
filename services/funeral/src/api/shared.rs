//! What several RPCs share: loading a case or cemetery for an authorised caller, the views of a
//! case, a plot and a waiver, the ashes trail.

use auth::Role;
use contracts::civil::common::v1::PersonRef;
use contracts::civil::funeral::v1 as pb;
use kit::ServiceError;
use kit::clock::{date_text, parse_date, stored_date};
use kit::error::to_proto_date;
use kit::rpc::Call;
use sqlx::AnyConnection;
use time::Date;
use tonic::Status;
use tonic_types::{ErrorDetails, StatusExt};

use crate::convert;
use crate::domain::{Refusal, waiver};
use crate::store::{self, CaseRow, CemeteryRow, PlotRow};

/// Funeral homes act within their region; the aggregator too (its token's region).
pub const CASE_ROLES: &[Role] = &[Role::FuneralHome, Role::Service];
/// Cemetery and plot work is the funeral home's.
pub const HOME: &[Role] = &[Role::FuneralHome];

/// ErrorInfo reason of RegisterDeath's ALREADY_EXISTS; metadata `death_case` names the case.
pub const DEATH_CASE_EXISTS: &str = "FUNERAL_DEATH_CASE_EXISTS";

impl kit::rpc::Refusal for Refusal {
    fn reason(&self) -> &'static str {
        Refusal::reason(self)
    }
}

pub fn case_name(id: &str) -> String {
    format!("cases/{id}")
}

pub fn case_id(name: &str, field: &str) -> Result<String, ServiceError> {
    match name.strip_prefix("cases/") {
        Some(id) if !id.is_empty() => Ok(id.to_owned()),
        _ => Err(ServiceError::invalid(field, "must be cases/{case}")),
    }
}

/// ALREADY_EXISTS naming the existing case in the message and in the ErrorInfo metadata
/// (`death_case`), so callers read it from the details rather than the text.
pub fn case_exists(id: &str) -> ServiceError {
    let name = case_name(id);
    let details = ErrorDetails::with_error_info(
        DEATH_CASE_EXISTS,
        kit::error::ERROR_DOMAIN,
        std::collections::HashMap::from([("death_case".to_owned(), name.clone())]),
    );
    ServiceError::Status(Status::with_error_details(
        tonic::Code::AlreadyExists,
        format!("the person already has a death case: {name}"),
        details,
    ))
}

/// Loads the case `name` names for a caller of `roles` whose region covers it.
pub async fn authorized_case(
    c: &mut Call,
    name: &str,
    field: &str,
    roles: &[Role],
) -> Result<CaseRow, ServiceError> {
    let id = case_id(name, field)?;
    c.object(case_name(&id));
    let case = store::case_by_id(c.db(), &id)
        .await?
        .ok_or_else(|| ServiceError::not_found(name.to_owned()))?;
    c.authorize(roles, Some(&case.region))?;
    c.person(case.person_index.clone());
    Ok(case)
}

/// A person as this caller may see them: the number masked unless the role sees it in full.
pub fn person(c: &Call, id_sealed: &str, name_sealed: &str) -> PersonRef {
    let id = c.sealer().open(id_sealed).unwrap_or_default();
    PersonRef {
        id_number: c.principal().shown_identity_number(&id),
        name: c.sealer().open(name_sealed).unwrap_or_default(),
    }
}

/// The case as this caller may see it, with its custody events and ashes trail.
pub async fn case_out(c: &mut Call, row: &CaseRow) -> Result<pb::DeathCase, ServiceError> {
    let custody = store::custody_of(c.db(), &row.id)
        .await?
        .into_iter()
        .map(|e| pb::CustodyEvent {
            kind: pb::CustodyKind::from_str_name(&e.kind)
                .unwrap_or_default()
                .into(),
            location: e.location,
            date: parse_date(&e.date).map(to_proto_date),
        })
        .collect();
    let ashes_trail = ashes_out(c, &row.id).await?;
    let county = &c.rpc().ctx().config.county;
    Ok(pb::DeathCase {
        name: case_name(&row.id),
        deceased: Some(person(c, &row.id_sealed, &row.name_sealed)),
        certificate: Some(certificate_out(row)?),
        region: row.region.clone(),
        state: convert::state_out(row.state).into(),
        custody,
        cremation_certificate_number: row.cremation_certificate.clone().unwrap_or_default(),
        final_place: row.final_place.clone().unwrap_or_default(),
        declarant: row.declarant.as_ref().map(|d| pb::Declarant {
            person: Some(person(c, &d.id_sealed, &d.name_sealed)),
            relationship: pb::DeclarantRelationship::from_str_name(&d.relationship)
                .unwrap_or_default()
                .into(),
        }),
        household_region: row.household_region.clone(),
        resident: row.household_region.starts_with(county.as_str()),
        ashes_trail,
    })
}

fn certificate_out(row: &CaseRow) -> Result<pb::DeathCertificate, ServiceError> {
    Ok(pb::DeathCertificate {
        issuer: pb::CertificateIssuer::from_str_name(&row.issuer)
            .unwrap_or_default()
            .into(),
        number: row.certificate_number.clone(),
        date_of_death: Some(to_proto_date(stored_date(&row.date_of_death)?)),
        place_of_death: row.place_of_death.clone(),
        cause_class: pb::CauseClass::from_str_name(&row.cause_class)
            .unwrap_or_default()
            .into(),
    })
}

async fn ashes_out(c: &mut Call, case_id: &str) -> Result<Vec<pb::AshesCustody>, ServiceError> {
    let rows = store::ashes_of(c.db(), case_id).await?;
    Ok(rows
        .into_iter()
        .map(|a| pb::AshesCustody {
            holder_kind: pb::AshesHolderKind::from_str_name(&a.holder_kind)
                .unwrap_or_default()
                .into(),
            holder: c.sealer().open(&a.holder_sealed).unwrap_or_default(),
            place: a.place,
            since: parse_date(&a.since).map(to_proto_date),
        })
        .collect())
}

/// The first day of the trail's last entry.
pub async fn last_ashes_since(
    conn: &mut AnyConnection,
    case_id: &str,
) -> Result<Option<Date>, ServiceError> {
    store::ashes_of(conn, case_id)
        .await?
        .last()
        .map(|a| stored_date(&a.since))
        .transpose()
}

/// Appends an entry to the ashes trail (the holder sealed: it may be a person's name).
pub async fn add_ashes(
    c: &mut Call,
    case_id: &str,
    kind: pb::AshesHolderKind,
    holder: &str,
    place: &str,
    since: Date,
) -> Result<(), ServiceError> {
    let row = store::AshesRow {
        holder_kind: kind.as_str_name().to_owned(),
        holder_sealed: c.sealer().seal(holder),
        place: place.to_owned(),
        since: date_text(since),
    };
    let now = c.now_ms();
    store::insert_ashes(c.db(), case_id, &row, now).await
}

/// The recorded decision of a case with its fee lines and grounding benefits.
pub async fn recorded_waiver(
    conn: &mut AnyConnection,
    case_id: &str,
) -> Result<Option<pb::FeeWaiver>, ServiceError> {
    let Some(w) = store::waiver_of(conn, case_id).await? else {
        return Ok(None);
    };
    let lines = store::fee_lines_of(conn, case_id).await?;
    let benefits = store::waiver_benefits_of(conn, case_id).await?;
    waiver_out(case_id, &w, &lines, benefits).map(Some)
}

fn waiver_out(
    case_id: &str,
    w: &store::WaiverRow,
    lines: &[store::FeeLineRow],
    benefits: Vec<store::WaiverBenefitRow>,
) -> Result<pb::FeeWaiver, ServiceError> {
    let sum = |f: fn(&store::FeeLineRow) -> i64| {
        money::Fen::try_sum(lines.iter().map(|l| money::Fen::new(f(l))))
            .map(money::Fen::get)
            .map_err(|e| ServiceError::Internal(e.into()))
    };
    let services = if w.waived {
        waiver::BASIC_SERVICES
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        Vec::new()
    };
    Ok(pb::FeeWaiver {
        death_case: case_name(case_id),
        waived: w.waived,
        grounds: grounds_out(&w.grounds),
        evidence: Some(pb::WaiverEvidence {
            source: w.source.clone(),
            benefit_kinds_seen: w.benefit_kinds_seen.clone(),
            checked_at_ms: w.checked_at_ms,
        }),
        services,
        total_price_fen: sum(|l| l.price_fen)?,
        waived_fen: sum(|l| l.waived_fen)?,
        payable_fen: sum(|l| l.payable_fen)?,
        fees: lines.iter().map(fee_out).collect(),
        grounded_on: benefits.into_iter().map(benefit_out).collect(),
    })
}

fn grounds_out(grounds: &[String]) -> Vec<i32> {
    grounds
        .iter()
        .filter_map(|g| pb::WaiverGround::from_str_name(g))
        .map(Into::into)
        .collect()
}

fn fee_out(l: &store::FeeLineRow) -> pb::ServiceFee {
    pb::ServiceFee {
        service: l.service.clone(),
        price_fen: l.price_fen,
        waived_fen: l.waived_fen,
        payable_fen: l.payable_fen,
    }
}

fn benefit_out(b: store::WaiverBenefitRow) -> pb::BenefitReference {
    pb::BenefitReference {
        benefit_id: b.benefit_id,
        kind: b.kind,
        ground: pb::WaiverGround::from_str_name(&b.ground)
            .unwrap_or_default()
            .into(),
    }
}

pub fn cemetery_name(id: &str) -> String {
    format!("cemeteries/{id}")
}

/// Loads the cemetery `name` names for a funeral home whose region covers it.
pub async fn authorized_cemetery(c: &mut Call, name: &str) -> Result<CemeteryRow, ServiceError> {
    let id = match name.strip_prefix("cemeteries/") {
        Some(id) if !id.is_empty() => id.to_owned(),
        _ => {
            return Err(ServiceError::invalid(
                "cemetery",
                "must be cemeteries/{cemetery}",
            ));
        }
    };
    c.object(cemetery_name(&id));
    let cem = store::cemetery(c.db(), &id)
        .await?
        .ok_or_else(|| ServiceError::not_found(name.to_owned()))?;
    c.authorize(HOME, Some(&cem.region))?;
    Ok(cem)
}

/// A plot as this caller may see it: numbers masked unless the role sees them in full, with
/// its holder, transfers and the further deceased of a family plot.
pub async fn plot_out(
    c: &mut Call,
    cemetery_id: &str,
    row: &PlotRow,
) -> Result<pb::PlotLease, ServiceError> {
    let transfers = store::transfers_of(c.db(), cemetery_id, &row.plot_number).await?;
    let co_occupants = store::occupants_of(c.db(), cemetery_id, &row.plot_number).await?;
    let holder = (!row.holder_sealed.is_empty())
        .then(|| person(c, &row.holder_sealed, &row.holder_name_sealed));
    Ok(pb::PlotLease {
        cemetery: cemetery_name(cemetery_id),
        plot_number: row.plot_number.clone(),
        state: if row.state == "reserved" {
            pb::PlotState::ReservedForSpouse
        } else {
            pb::PlotState::Leased
        }
        .into(),
        area_dm2: row.area_dm2,
        person: Some(person(c, &row.person_sealed, "")),
        start_date: parse_date(&row.start_date).map(to_proto_date),
        end_date: parse_date(&row.end_date).map(to_proto_date),
        holder,
        transfers: transfers.iter().map(|t| transfer_out(c, t)).collect(),
        co_occupants: co_occupants.iter().map(|s| person(c, s, "")).collect(),
    })
}

fn transfer_out(c: &Call, t: &store::TransferRow) -> pb::LeaseTransfer {
    pb::LeaseTransfer {
        from_holder: Some(person(c, &t.from_sealed, &t.from_name_sealed)),
        to_holder: Some(person(c, &t.to_sealed, &t.to_name_sealed)),
        relationship: pb::DeclarantRelationship::from_str_name(&t.relationship)
            .unwrap_or_default()
            .into(),
        transferred_on: parse_date(&t.transferred_on).map(to_proto_date),
        reason: t.reason.clone(),
    }
}
