//! Input rules of StartCase: every violated field is reported at once, identity numbers are
//! never echoed.

use prost::Message;
use time::Date;

use contracts::civil::common::v1::PersonRef;
use contracts::civil::onematter::v1 as pb;
use kit::{ServiceError, Violations};

/// A StartCase request that passed validation.
#[derive(Debug)]
pub struct Validated {
    pub kind: pb::MatterKind,
    pub region: String,
    pub declarant: (civil_id::IdNumber, PersonRef),
    /// The person the matter is about (the deceased, spouse A, the household's applicant).
    pub subject: (civil_id::IdNumber, PersonRef),
    /// The matter's protobuf bytes (sealed at rest).
    pub input: Vec<u8>,
    /// For a marriage matter, the certificate number (one case per marriage).
    certificate: String,
}

impl Validated {
    /// One case per deceased person and per marriage; applications for benefits are each their
    /// own case.
    pub fn dedupe_key(&self, sealer: &kit::pii::Sealer, case_id: &str) -> String {
        match self.kind {
            pb::MatterKind::AfterDeath => {
                crate::proactive::after_death_key(&sealer.index(&self.subject.0))
            }
            pb::MatterKind::MarriageBirthHousehold => format!(
                "{}:{}",
                crate::workflows::marriage_birth_household::KIND,
                self.certificate
            ),
            _ => format!("case:{case_id}"),
        }
    }
}

fn person(
    v: &mut Violations,
    p: Option<&PersonRef>,
    field: &str,
) -> Option<(civil_id::IdNumber, PersonRef)> {
    let Some(p) = p else {
        v.add(field, "is required");
        return None;
    };
    v.required(&p.name, &format!("{field}.name"));
    let id = v.id_number(&p.id_number, &format!("{field}.id_number"))?;
    Some((
        id.clone(),
        PersonRef {
            id_number: id.as_str().to_owned(),
            name: p.name.trim().to_owned(),
        },
    ))
}

/// Validates a StartCase request against the county this deployment serves and today's date.
pub fn start_case(
    req: &pb::StartCaseRequest,
    county: &str,
    today: Date,
) -> Result<Validated, ServiceError> {
    let mut v = Violations::new();
    let kind = req.kind();
    v.check(kind != pb::MatterKind::Unspecified, "kind", "is required");
    if let Some(region) = v.region(&req.region, "region") {
        v.check(
            region.as_str().starts_with(county),
            "region",
            "is outside the county this office serves",
        );
    }
    let declarant = person(&mut v, req.declarant.as_ref(), "declarant");
    v.required(&req.declarant_relationship, "declarant_relationship");
    let matter = match kind {
        pb::MatterKind::AfterDeath => after_death(&mut v, req.after_death.as_ref(), today),
        pb::MatterKind::MarriageBirthHousehold => {
            marriage_birth_household(&mut v, req.marriage_birth_household.as_ref())
        }
        pb::MatterKind::OneApplicationManyBenefits => {
            many_benefits(&mut v, req.many_benefits.as_ref())
        }
        pb::MatterKind::Unspecified => Matter::default(),
    };
    v.finish()?;
    match (declarant, matter.subject) {
        (Some(declarant), Some(subject)) => Ok(Validated {
            kind,
            region: req.region.trim().to_owned(),
            declarant,
            subject,
            input: matter.input,
            certificate: matter.certificate,
        }),
        _ => Err(ServiceError::invalid("kind", "the matter is incomplete")),
    }
}

/// A matter that passed its own checks.
#[derive(Default)]
struct Matter {
    subject: Option<(civil_id::IdNumber, PersonRef)>,
    input: Vec<u8>,
    certificate: String,
}

fn after_death(v: &mut Violations, m: Option<&pb::AfterDeathMatter>, today: Date) -> Matter {
    let Some(m) = m else {
        v.add("after_death", "is required for an after-death matter");
        return Matter::default();
    };
    let deceased = person(v, m.deceased.as_ref(), "after_death.deceased");
    match &m.certificate {
        None => v.add("after_death.certificate", "is required"),
        Some(c) => certificate(v, c, deceased.as_ref().map(|d| &d.0), today),
    }
    if let Some(a) = &m.arrangement {
        arrangement(v, a);
    }
    let mut m = m.clone();
    if let (Some(d), Some((_, p))) = (m.deceased.as_mut(), &deceased) {
        *d = p.clone();
    }
    Matter {
        subject: deceased,
        input: m.encode_to_vec(),
        certificate: String::new(),
    }
}

/// A cremation booking or a body burial, not both, not neither; funeral decides the rest (the
/// day's slots, the zone).
fn arrangement(v: &mut Violations, a: &pb::FuneralArrangement) {
    const FIELD: &str = "after_death.arrangement";
    let cremation = a.cremation_day.is_some();
    let burial = !a.burial_region.trim().is_empty() || !a.burial_place.trim().is_empty();
    match (cremation, burial) {
        (true, true) => v.add(FIELD, "is either a cremation or a burial, not both"),
        (false, false) => v.add(FIELD, "names neither a cremation day nor a burial"),
        (true, false) => {
            v.date(a.cremation_day.as_ref(), &format!("{FIELD}.cremation_day"));
            v.check(
                a.cremation_slot >= 0,
                &format!("{FIELD}.cremation_slot"),
                "is negative",
            );
        }
        (false, true) => {
            v.region(&a.burial_region, &format!("{FIELD}.burial_region"));
            v.required(&a.burial_place, &format!("{FIELD}.burial_place"));
        }
    }
}

fn certificate(
    v: &mut Violations,
    c: &contracts::civil::funeral::v1::DeathCertificate,
    deceased: Option<&civil_id::IdNumber>,
    today: Date,
) {
    use contracts::civil::funeral::v1::CertificateIssuer;
    v.required(&c.number, "after_death.certificate.number");
    let issuer = c.issuer() != CertificateIssuer::Unspecified;
    v.check(issuer, "after_death.certificate.issuer", "is required");
    const FIELD: &str = "after_death.certificate.date_of_death";
    if let Some(d) = v.date(c.date_of_death.as_ref(), FIELD) {
        v.check(d <= today, FIELD, "is in the future");
        if let Some(id) = deceased {
            v.check(d >= id.birth_date(), FIELD, "is before the birth date");
        }
    }
}

fn marriage_birth_household(
    v: &mut Violations,
    m: Option<&pb::MarriageBirthHouseholdMatter>,
) -> Matter {
    let Some(m) = m else {
        v.add(
            "marriage_birth_household",
            "is required for a marriage-birth-household matter",
        );
        return Matter::default();
    };
    const PREFIX: &str = "marriage_birth_household";
    v.required(
        &m.marriage_certificate_number,
        &format!("{PREFIX}.marriage_certificate_number"),
    );
    let a = person(v, m.party_a.as_ref(), &format!("{PREFIX}.party_a"));
    let b = person(v, m.party_b.as_ref(), &format!("{PREFIX}.party_b"));
    if let (Some((ia, _)), Some((ib, _))) = (&a, &b) {
        v.check(
            ia != ib,
            &format!("{PREFIX}.party_b"),
            "is the same person as party_a",
        );
    }
    let mut m = m.clone();
    m.party_a = a.as_ref().map(|x| x.1.clone());
    m.party_b = b.as_ref().map(|x| x.1.clone());
    Matter {
        subject: a,
        input: m.encode_to_vec(),
        certificate: m.marriage_certificate_number.trim().to_owned(),
    }
}

fn many_benefits(v: &mut Violations, m: Option<&pb::ManyBenefitsMatter>) -> Matter {
    use contracts::civil::assistance::v1::{BenefitKind, Relationship};
    let Some(m) = m else {
        v.add(
            "many_benefits",
            "is required for a one-application-many-benefits matter",
        );
        return Matter::default();
    };
    v.check(
        matches!(
            m.kind(),
            BenefitKind::MinimumLivingAllowance | BenefitKind::ExtremePovertySupport
        ),
        "many_benefits.kind",
        "must be the minimum living allowance or extreme-poverty support",
    );
    let members = m
        .household
        .as_ref()
        .map(|h| h.members.as_slice())
        .unwrap_or_default();
    v.check(
        !members.is_empty(),
        "many_benefits.household.members",
        "lists no member",
    );
    let mut subject = None;
    for (i, member) in members.iter().enumerate() {
        let field = format!("many_benefits.household.members[{i}].person");
        let p = person(v, member.person.as_ref(), &field);
        if subject.is_none() || member.relationship() == Relationship::Applicant {
            subject = p.or(subject);
        }
    }
    Matter {
        subject,
        input: m.encode_to_vec(),
        certificate: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use contracts::civil::common::v1::Date as PbDate;
    use contracts::civil::funeral::v1 as funeral;
    use time::macros::date;

    const DECEASED: &str = "33072319400101001X";

    fn id_with_check(body: &str) -> String {
        let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        let sum: u32 = body
            .chars()
            .zip(weights)
            .map(|(c, w)| c.to_digit(10).unwrap_or(0) * w)
            .sum();
        let check = "10X98765432"
            .chars()
            .nth((sum % 11) as usize)
            .unwrap_or('0');
        format!("{body}{check}")
    }

    fn request(date_of_death: PbDate) -> pb::StartCaseRequest {
        let deceased = id_with_check(&DECEASED[..17]);
        pb::StartCaseRequest {
            request_id: "r1".into(),
            kind: pb::MatterKind::AfterDeath as i32,
            declarant: Some(PersonRef {
                id_number: id_with_check("33072319700101002"),
                name: "王小明".into(),
            }),
            declarant_relationship: "child".into(),
            region: "330723001".into(),
            after_death: Some(pb::AfterDeathMatter {
                deceased: Some(PersonRef {
                    id_number: deceased,
                    name: "王大明".into(),
                }),
                certificate: Some(funeral::DeathCertificate {
                    issuer: funeral::CertificateIssuer::Medical as i32,
                    number: "M-1".into(),
                    date_of_death: Some(date_of_death),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_funeral_arrangement_is_a_cremation_or_a_burial_not_both_nor_neither() {
        let day = PbDate {
            year: 2026,
            month: 3,
            day: 1,
        };
        let with = |a: pb::FuneralArrangement| {
            let mut req = request(day);
            if let Some(m) = req.after_death.as_mut() {
                m.arrangement = Some(a);
            }
            match start_case(&req, "330723", date!(2026 - 03 - 02)) {
                Ok(_) => Vec::new(),
                Err(ServiceError::InvalidArgument(fields)) => {
                    fields.iter().map(|f| f.field.clone()).collect()
                }
                Err(other) => panic!("{other:?}"),
            }
        };
        let cremation = pb::FuneralArrangement {
            cremation_day: Some(PbDate {
                year: 2026,
                month: 3,
                day: 4,
            }),
            cremation_slot: 2,
            ..Default::default()
        };
        let burial = pb::FuneralArrangement {
            burial_region: "330723105".into(),
            burial_place: "东山公墓".into(),
            ..Default::default()
        };
        assert!(with(cremation.clone()).is_empty());
        assert!(with(burial.clone()).is_empty());
        let both = pb::FuneralArrangement {
            cremation_day: cremation.cremation_day,
            ..burial.clone()
        };
        assert_eq!(with(both), ["after_death.arrangement"]);
        assert_eq!(
            with(pb::FuneralArrangement::default()),
            ["after_death.arrangement"]
        );
        let no_place = pb::FuneralArrangement {
            burial_place: String::new(),
            ..burial
        };
        assert_eq!(with(no_place), ["after_death.arrangement.burial_place"]);
    }

    #[test]
    fn a_complete_after_death_declaration_is_accepted() {
        let v = start_case(
            &request(PbDate {
                year: 2026,
                month: 3,
                day: 1,
            }),
            "330723",
            date!(2026 - 03 - 02),
        )
        .expect("valid");
        assert_eq!(v.kind, pb::MatterKind::AfterDeath);
        assert_eq!(v.subject.1.name, "王大明");
    }

    #[test]
    fn a_death_in_the_future_or_outside_the_county_is_refused_field_by_field() {
        let mut req = request(PbDate {
            year: 2026,
            month: 3,
            day: 9,
        });
        req.region = "110101001".into();
        let err = start_case(&req, "330723", date!(2026 - 03 - 02)).expect_err("invalid");
        let ServiceError::InvalidArgument(fields) = err else {
            panic!("invalid argument")
        };
        let names: Vec<_> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            names,
            vec!["region", "after_death.certificate.date_of_death"]
        );
    }

    #[test]
    fn the_matter_must_match_the_kind() {
        let mut req = request(PbDate {
            year: 2026,
            month: 3,
            day: 1,
        });
        req.kind = pb::MatterKind::MarriageBirthHousehold as i32;
        let err = start_case(&req, "330723", date!(2026 - 03 - 02)).expect_err("invalid");
        assert!(
            err.to_string().contains("marriage_birth_household"),
            "{err}"
        );
    }
}
