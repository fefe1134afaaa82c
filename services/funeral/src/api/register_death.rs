//! RegisterDeath: opens the death case from the death certificate, records the declarant, and
//! publishes DeathRegistered (which starts the after-death matter).

use civil_id::{IdNumber, RegionCode};
use contracts::civil::funeral::v1 as pb;
use kit::clock::date_text;
use kit::error::to_proto_date;
use kit::rpc::{Call, Rpc, Text as _};
use kit::{ServiceError, Violations};
use time::Date;
use tonic::{Request, Response, Status};

use super::shared::{CASE_ROLES, case_exists, case_name, case_out};
use crate::domain::case::{self, CaseState};
use crate::domain::text;
use crate::store::{self, CaseRow, DeclarantRow};

/// A death registration that passed every field check.
pub struct NewDeath {
    id: IdNumber,
    name: String,
    region: String,
    household_region: String,
    ethnicity: pb::Ethnicity,
    certificate: Certificate,
    declarant: Option<NewDeclarant>,
}

struct Certificate {
    issuer: pb::CertificateIssuer,
    number: String,
    date_of_death: Date,
    place_of_death: String,
    cause_class: pb::CauseClass,
}

struct NewDeclarant {
    id: IdNumber,
    name: String,
    relationship: pb::DeclarantRelationship,
}

/// A township or village of the county served.
fn in_county(r: &RegionCode, county: &str) -> bool {
    r.as_str().starts_with(county) && r.as_str().len() > 6
}

fn known<E: TryFrom<i32> + PartialEq + Default>(v: i32) -> Option<E> {
    E::try_from(v).ok().filter(|e| *e != E::default())
}

fn certificate_in(v: &mut Violations, c: pb::DeathCertificate) -> Option<Certificate> {
    let issuer = known(c.issuer);
    v.check(
        issuer.is_some(),
        "certificate.issuer",
        "must be medical or police",
    );
    let number = v.text(&c.number, "certificate.number", text::NUMBER_MAX);
    let place = v.text(
        &c.place_of_death,
        "certificate.place_of_death",
        text::PLACE_MAX,
    );
    let cause_class = known(c.cause_class);
    v.check(
        cause_class.is_some(),
        "certificate.cause_class",
        "is required",
    );
    let date_of_death = v.date(c.date_of_death.as_ref(), "certificate.date_of_death");
    Some(Certificate {
        issuer: issuer?,
        number,
        date_of_death: date_of_death?,
        place_of_death: place,
        cause_class: cause_class?,
    })
}

fn declarant_in(
    v: &mut Violations,
    d: pb::Declarant,
    deceased: Option<&IdNumber>,
) -> Option<NewDeclarant> {
    let person = d.person.unwrap_or_default();
    let id = v.id_number(&person.id_number, "declarant.person.id_number");
    let name = v.text(&person.name, "declarant.person.name", text::NAME_MAX);
    let relationship = known(d.relationship);
    v.check(
        relationship.is_some(),
        "declarant.relationship",
        "is required",
    );
    if let (Some(id), Some(deceased)) = (&id, deceased) {
        let same = id.as_str() == deceased.as_str();
        v.check(
            !same,
            "declarant.person.id_number",
            "the declarant cannot be the deceased",
        );
    }
    Some(NewDeclarant {
        id: id?,
        name,
        relationship: relationship?,
    })
}

impl NewDeath {
    /// Every field check at once; `county` and `today` bound the region and the date of death.
    fn decode(
        req: pb::RegisterDeathRequest,
        county: &str,
        today: Date,
    ) -> Result<Self, Violations> {
        let mut v = Violations::new();
        if let Some(problem) = kit::idempotency::request_id_problem(&req.request_id) {
            v.add("request_id", problem);
        }
        let deceased = req.deceased.unwrap_or_default();
        let id = v.id_number(&deceased.id_number, "deceased.id_number");
        let name = v.text(&deceased.name, "deceased.name", text::NAME_MAX);
        let certificate = certificate_in(&mut v, req.certificate.unwrap_or_default());
        let regions = regions_in(&mut v, &req.region, &req.household_region, county);
        let ethnicity = known(req.ethnicity);
        v.check(ethnicity.is_some(), "ethnicity", "is required");
        let declarant = req.declarant.map(|d| declarant_in(&mut v, d, id.as_ref()));
        if let (Some(id), Some(c)) = (&id, &certificate)
            && let Err(p) = case::check_date_of_death(c.date_of_death, id.birth_date(), today)
        {
            v.add(p.field, p.description);
        }
        let declared = declarant.as_ref().is_none_or(Option::is_some);
        match (id, certificate, regions, ethnicity) {
            (Some(id), Some(certificate), Some((region, household_region)), Some(ethnicity))
                if v.is_empty() && declared =>
            {
                Ok(Self {
                    id,
                    name,
                    region,
                    household_region,
                    ethnicity,
                    certificate,
                    declarant: declarant.flatten(),
                })
            }
            _ => Err(v),
        }
    }
}

/// The case's region (a township or village of the county) and the household region (the
/// same for a resident; anywhere in China for someone who died here but lives elsewhere).
fn regions_in(
    v: &mut Violations,
    region: &str,
    household: &str,
    county: &str,
) -> Option<(String, String)> {
    let region = v.region(region, "region");
    let outside = region.as_ref().is_some_and(|r| !in_county(r, county));
    let rule = "must be a township or village of the county";
    v.check(!outside, "region", rule);
    let household = match household.trim() {
        "" => region.clone(),
        h => v.region(h, "household_region"),
    };
    Some((region?.as_str().to_owned(), household?.as_str().to_owned()))
}

pub async fn handle(
    rpc: &Rpc,
    request: Request<pb::RegisterDeathRequest>,
) -> Result<Response<pb::DeathCase>, Status> {
    rpc.write(
        request,
        async |c, req: &pb::RegisterDeathRequest| {
            c.object("cases/-");
            let county = c.rpc().ctx().config.county.clone();
            // Region scope before the body is looked at (a region outside the county is the
            // body's own fault and reported with every other field).
            if let Ok(r) = RegionCode::parse(&req.region)
                && in_county(&r, &county)
            {
                c.authorize(CASE_ROLES, Some(r.as_str()))?;
            }
            // The decode needs the county and today (the clock), which a TryFrom cannot see, so
            // it runs here, right after the scope check: still every violation at once, still
            // before the idempotency lookup; the request itself passes through unchanged.
            NewDeath::decode(req.clone(), &county, c.today()).map_err(ServiceError::from)
        },
        async |c, _: pb::RegisterDeathRequest, death: NewDeath| open_case(c, death).await,
    )
    .await
}

/// One case per person; the DeathRegistered event in the same transaction.
async fn open_case(c: &mut Call, death: NewDeath) -> Result<pb::DeathCase, ServiceError> {
    let row = new_row(c, death);
    if let Some(existing) = store::case_by_person(c.db(), &row.person_index).await? {
        return Err(case_exists(&existing.id));
    }
    let now = c.now_ms();
    if !store::insert_case(c.db(), &row, now).await? {
        // A concurrent registration won the unique index: name its case.
        let existing = store::case_by_person(c.db(), &row.person_index).await?;
        return Err(existing.map_or_else(
            || ServiceError::AlreadyExists("the person already has a death case".into()),
            |e| case_exists(&e.id),
        ));
    }
    c.object(case_name(&row.id));
    c.person(row.person_index.clone());
    let (topic, kind) = (
        crate::TOPIC_DEATH_REGISTERED,
        "civil.funeral.v1.DeathRegistered",
    );
    c.publish(topic, kind, &row.id, &event(&row)).await?;
    case_out(c, &row).await
}

fn new_row(c: &Call, d: NewDeath) -> CaseRow {
    let (id_sealed, person_index) = c.sealer().protect(&d.id);
    let at_desk = c.principal().has_role(auth::Role::FuneralHome);
    let declarant = d.declarant.map(|x| {
        let (id_sealed, index) = c.sealer().protect(&x.id);
        DeclarantRow {
            index,
            id_sealed,
            name_sealed: c.sealer().seal(&x.name),
            relationship: x.relationship.as_str_name().to_owned(),
            at_desk,
        }
    });
    let cert = d.certificate;
    CaseRow {
        id: uuid::Uuid::now_v7().to_string(),
        person_index,
        id_sealed,
        name_sealed: c.sealer().seal(&d.name),
        region: d.region,
        ethnicity: d.ethnicity.as_str_name().to_owned(),
        issuer: cert.issuer.as_str_name().to_owned(),
        certificate_number: cert.number,
        date_of_death: date_text(cert.date_of_death),
        place_of_death: cert.place_of_death,
        cause_class: cert.cause_class.as_str_name().to_owned(),
        state: CaseState::Registered,
        cremation_certificate: None,
        final_place: None,
        declarant,
        household_region: d.household_region,
    }
}

fn event(row: &CaseRow) -> pb::DeathRegistered {
    pb::DeathRegistered {
        event_id: String::new(),
        death_case: case_name(&row.id),
        person_index: row.person_index.clone(),
        date_of_death: kit::clock::parse_date(&row.date_of_death).map(to_proto_date),
        region: row.region.clone(),
    }
}
