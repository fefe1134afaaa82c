//! The after-death matter's outside world for the operator-tool tests: every bureau and outside
//! system answers normally; funeral holds a death case the test moves from registered to
//! cremated (the cremation-completed event wakes the waiting step).

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use contracts::civil::assistance::v1 as assistance;
use contracts::civil::common::v1::{Date, PersonRef};
use contracts::civil::eldercare::v1 as eldercare;
use contracts::civil::external::v1 as ext;
use contracts::civil::funeral::v1 as funeral;
use contracts::civil::marriage::v1 as marriage;
use contracts::civil::onematter::v1 as pb;
use contracts::civil::socialorg::v1 as socialorg;
use kit::testing::TestSuite;
use pb::one_matter_service_client::OneMatterServiceClient;

use crate::doubles::Double;

pub const UPSTREAMS: [&str; 9] = [
    "funeral",
    "assistance",
    "eldercare",
    "marriage",
    "socialorg",
    "household_register",
    "social_insurance",
    "medical_insurance",
    "birth_service",
];

pub const COUNTY: &str = "330723";
pub const TOWNSHIP: &str = "330723001";

/// A valid 居民身份证号 from its first 17 characters.
pub fn id(body: &str) -> String {
    format!("{body}{}", civil_id::IdNumber::check_char(body))
}

/// The `n`-th deceased person.
pub fn deceased(n: u32) -> PersonRef {
    PersonRef {
        id_number: id(&format!("{COUNTY}19400101{:03}", 2 * n + 1)),
        name: "王大明".into(),
    }
}

pub fn declarant() -> PersonRef {
    PersonRef {
        id_number: id("33072319700202002"),
        name: "王小明".into(),
    }
}

pub fn after_death(request_id: &str, person: PersonRef) -> pb::StartCaseRequest {
    pb::StartCaseRequest {
        request_id: request_id.into(),
        kind: pb::MatterKind::AfterDeath as i32,
        declarant: Some(declarant()),
        declarant_relationship: "child".into(),
        region: TOWNSHIP.into(),
        after_death: Some(pb::AfterDeathMatter {
            deceased: Some(person),
            certificate: Some(funeral::DeathCertificate {
                issuer: funeral::CertificateIssuer::Medical as i32,
                number: "YX-2026-001".into(),
                date_of_death: Some(Date {
                    year: 2026,
                    month: 1,
                    day: 5,
                }),
                place_of_death: "county hospital".into(),
                cause_class: funeral::CauseClass::Disease as i32,
            }),
            ethnicity: funeral::Ethnicity::Han as i32,
            death_case: String::new(),
            arrangement: None,
        }),
        ..Default::default()
    }
}

fn death_case(
    person: Option<PersonRef>,
    certificate: Option<funeral::DeathCertificate>,
) -> funeral::DeathCase {
    funeral::DeathCase {
        name: "cases/funeral-1".into(),
        deceased: person,
        certificate,
        region: TOWNSHIP.into(),
        state: funeral::CaseState::Registered as i32,
        ..Default::default()
    }
}

fn registered_case() -> funeral::DeathCase {
    death_case(
        Some(deceased(1)),
        Some(funeral::DeathCertificate {
            number: "YX-2026-001".into(),
            date_of_death: Some(Date {
                year: 2026,
                month: 1,
                day: 5,
            }),
            ..Default::default()
        }),
    )
}

pub const CREMATION_CERTIFICATE: &str = "HH330723-2026-000042";

fn cremated(mut case: funeral::DeathCase) -> funeral::DeathCase {
    case.state = funeral::CaseState::Cremated as i32;
    case.cremation_certificate_number = CREMATION_CERTIFICATE.into();
    case
}

/// Whether the funeral home has cremated (what GetDeathCase answers).
#[derive(Clone, Default)]
pub struct Funeral(Arc<Mutex<bool>>);

impl Funeral {
    pub fn cremated() -> Self {
        Self(Arc::new(Mutex::new(true)))
    }
    pub fn cremate(&self) {
        *self.0.lock().expect("lock") = true;
    }
}

/// Scripts every call of the after-death matter with a normal answer (the funeral home has
/// cremated by the time the case asks).
pub fn script_after_death(d: &Double, funeral_home: &Funeral) {
    d.on(
        "FuneralService/RegisterDeath",
        |r: funeral::RegisterDeathRequest| Ok(death_case(r.deceased, r.certificate)),
    );
    d.on("FuneralService/GetDeathCase", {
        let held = funeral_home.0.clone();
        move |_: funeral::GetDeathCaseRequest| {
            if *held.lock().expect("lock") {
                Ok(cremated(registered_case()))
            } else {
                Ok(registered_case())
            }
        }
    });
    d.on(
        "FuneralService/DecideFeeWaiver",
        |r: funeral::DecideFeeWaiverRequest| {
            Ok(funeral::FeeWaiver {
                death_case: r.death_case,
                waived: true,
                grounds: vec![funeral::WaiverGround::MinimumLivingAllowance as i32],
                ..Default::default()
            })
        },
    );
    d.on(
        "AssistanceService/TerminateForDeath",
        |_: assistance::TerminateForDeathRequest| {
            Ok(assistance::TerminateForDeathResponse {
                effects: vec![assistance::DeathEffect {
                    benefit_id: "b1".into(),
                    outcome: assistance::DeathOutcome::Terminated as i32,
                    effective_month: "2026-02".into(),
                    ..Default::default()
                }],
            })
        },
    );
    d.on(
        "EldercareService/StopForDeath",
        |_: eldercare::StopForDeathRequest| {
            Ok(eldercare::StopForDeathResponse {
                elder_known: true,
                allowance_stopped: true,
                bed_released: false,
                last_paid_month: None,
            })
        },
    );
    d.on(
        "MarriageService/RecordDeath",
        |r: marriage::RecordDeathRequest| {
            Ok(marriage::DeathRecord {
                person: r.person,
                date_of_death: r.date_of_death,
                widowed_spouse: Some(PersonRef {
                    id_number: "x".into(),
                    name: "spouse".into(),
                }),
                marriage_certificate_number: "J330723-1990-000001".into(),
            })
        },
    );
    d.on(
        "SocialOrgService/ListByLegalRepresentative",
        |_: socialorg::ListByLegalRepresentativeRequest| {
            let org = |id: &str, status: socialorg::OrganisationStatus| socialorg::Organisation {
                organisation_id: id.into(),
                status: status as i32,
                ..Default::default()
            };
            Ok(socialorg::ListByLegalRepresentativeResponse {
                organisations: vec![
                    org("org-active", socialorg::OrganisationStatus::Active),
                    org("org-gone", socialorg::OrganisationStatus::Deregistered),
                ],
            })
        },
    );
    d.on(
        "SocialOrgService/OpenRepresentativeChangeTask",
        |r: socialorg::OpenRepresentativeChangeTaskRequest| {
            Ok(socialorg::RepresentativeChangeTask {
                task_id: "t1".into(),
                organisation_id: r.organisation_id,
                reason: r.reason,
                status: socialorg::TaskStatus::Open as i32,
                opened_at_ms: 1,
            })
        },
    );
    d.on(
        "HouseholdRegisterService/DeregisterDeceased",
        |_: ext::DeregisterDeceasedRequest| {
            Ok(ext::HouseholdReceipt {
                receipt_id: "hr1".into(),
                state: ext::ReceiptState::Accepted as i32,
                accepted_at_ms: 1,
            })
        },
    );
    d.on(
        "SocialInsuranceService/StopPensionForDeath",
        |_: ext::StopPensionForDeathRequest| {
            Ok(ext::PensionStop {
                insured: true,
                stopped_from_month: "2026-02".into(),
                survivor_benefits_claimable: true,
            })
        },
    );
    d.on(
        "MedicalInsuranceService/EndEnrolmentForDeath",
        |_: ext::EndEnrolmentForDeathRequest| {
            Ok(ext::EnrolmentEnd {
                enrolled: true,
                covered_until: None,
            })
        },
    );
}

/// The evidence the suite holds about the family (Defects issue item 1): the household register
/// shows `declarant()` as the deceased's child and no one else as family; funeral has no death
/// case for the person (so no declarant recorded at its desk). Tests re-script either source.
pub fn script_family(d: &Double) {
    d.on(
        "HouseholdRegisterService/VerifyKinship",
        |r: ext::VerifyKinshipRequest| {
            let person = r.person.map(|p| p.id_number).unwrap_or_default();
            let kinship = if person == declarant().id_number {
                ext::Kinship::Child
            } else {
                ext::Kinship::None
            };
            Ok(ext::KinshipAnswer {
                kinship: kinship as i32,
            })
        },
    );
    d.on(
        "FuneralService/VerifyDeclarant",
        |_: funeral::VerifyDeclarantRequest| -> Result<funeral::VerifyDeclarantResponse, tonic::Status> {
            Err(tonic::Status::not_found("no death case"))
        },
    );
}

pub async fn publish_cremation_completed(suite: &TestSuite, person: &PersonRef) {
    use base64::Engine as _;
    use prost::Message;
    let sealer = kit::pii::Sealer::from_config(&suite.config).expect("sealer");
    let index = sealer.index(&civil_id::IdNumber::parse(&person.id_number).expect("id"));
    let event = funeral::CremationCompleted {
        event_id: String::new(),
        death_case: "cases/funeral-1".into(),
        person_index: index,
        certificate_number: CREMATION_CERTIFICATE.into(),
        cremated_on: Some(Date {
            year: 2026,
            month: 1,
            day: 7,
        }),
    };
    let db = suite.db("onematter").await;
    sqlx::query(
        "INSERT INTO outbox (id, topic, event_type, event_key, payload, traceparent, created_at_ms, published_at_ms)
         VALUES ($1, 'funeral.cremation_completed', 'civil.funeral.v1.CremationCompleted', 'funeral-1', $2, '', $3, NULL)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(base64::engine::general_purpose::STANDARD.encode(event.encode_to_vec()))
    .bind(kit::now_ms())
    .execute(&db.pool)
    .await
    .expect("publish");
}

/// The suite with the aggregator calling `double` for every upstream.
pub async fn suite(double: &Double, adjust: impl FnOnce(&mut kit::config::Config)) -> TestSuite {
    script_family(double);
    let url = double.serve().await;
    kit::testing::spawn_with(&[onematter::SERVICE], move |c| {
        for name in UPSTREAMS {
            c.upstreams.insert(name.to_owned(), url.clone());
        }
        c.extra.insert("onematter_poll_ms".into(), "20".into());
        adjust(c);
    })
    .await
}

pub fn client(suite: &TestSuite) -> OneMatterServiceClient<tonic::transport::Channel> {
    OneMatterServiceClient::new(suite.channel.clone())
}

pub async fn get(suite: &TestSuite, token: &str, name: &str) -> pb::Case {
    client(suite)
        .get_case(suite.request(pb::GetCaseRequest { name: name.into() }, token))
        .await
        .expect("get")
        .into_inner()
}

/// Reads the case until `done` holds (or 15 s pass).
pub async fn wait_until(
    suite: &TestSuite,
    token: &str,
    name: &str,
    done: impl Fn(&pb::Case) -> bool,
) -> pb::Case {
    for _ in 0..300 {
        let case = get(suite, token, name).await;
        if done(&case) {
            return case;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "case {name} never reached the expected state: {:?}",
        get(suite, token, name).await
    );
}

pub fn step_state(case: &pb::Case, name: &str) -> pb::StepState {
    case.steps
        .iter()
        .find(|s| s.name == name)
        .map(|s| s.state())
        .unwrap_or_default()
}

pub fn step_names(case: &pb::Case) -> Vec<&str> {
    case.steps.iter().map(|s| s.name.as_str()).collect()
}

/// The reason of a refusal (ErrorInfo).
pub fn reason(status: &tonic::Status) -> Option<String> {
    kit::error::reason_of(status)
}
