//! The funeral service under test, with an assistance double, and the requests the tests
//! share. Included by each test binary (`#[path]`), so not every item is used by each.
#![allow(dead_code)]

#[path = "assistance_double.rs"]
pub mod assistance_double;

pub use assistance_double::AssistanceDouble;
use contracts::civil::common::v1::{Date, PersonRef};
use contracts::civil::funeral::v1 as pb;
use contracts::civil::funeral::v1::funeral_service_client::FuneralServiceClient;
use kit::error::to_proto_date;
use kit::testing::{Role, TestSuite};
use sqlx::Row;
use tonic::transport::Channel;

pub const COUNTY: &str = "330723";
pub const TOWNSHIP: &str = "330723001";

/// A valid identity number from 17 digits.
pub fn id(first17: &str) -> String {
    format!("{first17}{}", civil_id::IdNumber::check_char(first17))
}

pub fn today() -> time::Date {
    kit::today_cst()
}

pub fn date(d: time::Date) -> Option<Date> {
    Some(to_proto_date(d))
}

pub struct Env {
    pub suite: TestSuite,
    pub assistance: AssistanceDouble,
    pub home: String,
}

pub async fn start(settings: &[(&str, &str)]) -> Env {
    let assistance = AssistanceDouble::default();
    let addr = assistance.start().await;
    let settings: Vec<(String, String)> = settings
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let suite = kit::testing::spawn_with(&[funeral::SERVICE], move |cfg| {
        cfg.upstreams
            .insert("assistance".into(), format!("http://{addr}"));
        for (k, v) in settings {
            cfg.extra.insert(format!("funeral_{k}"), v);
        }
    })
    .await;
    let home = suite.token_for("funeral-home-1", &[Role::FuneralHome], COUNTY);
    Env {
        suite,
        assistance,
        home,
    }
}

impl Env {
    pub fn client(&self) -> FuneralServiceClient<Channel> {
        FuneralServiceClient::new(self.suite.channel.clone())
    }

    pub fn req<T>(&self, m: T) -> tonic::Request<T> {
        self.suite.request(m, &self.home)
    }

    pub async fn register(
        &self,
        request_id: &str,
        id_number: &str,
        ethnicity: pb::Ethnicity,
    ) -> Result<pb::DeathCase, tonic::Status> {
        self.client()
            .register_death(self.req(death(request_id, id_number, ethnicity)))
            .await
            .map(|r| r.into_inner())
    }

    pub async fn book(
        &self,
        request_id: &str,
        case: &str,
        day: time::Date,
        slot: i32,
    ) -> Result<pb::CremationBooking, tonic::Status> {
        let m = pb::BookCremationRequest {
            request_id: request_id.into(),
            death_case: case.into(),
            day: date(day),
            slot,
        };
        self.client()
            .book_cremation(self.req(m))
            .await
            .map(|r| r.into_inner())
    }

    pub async fn cremate(
        &self,
        request_id: &str,
        case: &str,
    ) -> Result<pb::CremationCertificate, tonic::Status> {
        let m = pb::CompleteCremationRequest {
            request_id: request_id.into(),
            death_case: case.into(),
        };
        self.client()
            .complete_cremation(self.req(m))
            .await
            .map(|r| r.into_inner())
    }

    pub async fn outbox(&self, topic: &str) -> Vec<Vec<u8>> {
        use base64::Engine as _;
        let db = self.suite.db("funeral").await;
        let rows = sqlx::query("SELECT payload FROM outbox WHERE topic = $1 ORDER BY id")
            .bind(topic)
            .fetch_all(&db.pool)
            .await
            .expect("outbox");
        rows.iter()
            .map(|r| {
                base64::engine::general_purpose::STANDARD
                    .decode(r.get::<String, _>("payload"))
                    .expect("base64")
            })
            .collect()
    }
}

pub fn death(
    request_id: &str,
    id_number: &str,
    ethnicity: pb::Ethnicity,
) -> pb::RegisterDeathRequest {
    pb::RegisterDeathRequest {
        request_id: request_id.into(),
        deceased: Some(PersonRef {
            id_number: id_number.into(),
            name: "王某".into(),
        }),
        certificate: Some(pb::DeathCertificate {
            issuer: pb::CertificateIssuer::Medical.into(),
            number: "YX2026-0001".into(),
            date_of_death: date(today()),
            place_of_death: "县人民医院".into(),
            cause_class: pb::CauseClass::Disease.into(),
        }),
        region: TOWNSHIP.into(),
        ethnicity: ethnicity.into(),
        ..Default::default()
    }
}

pub const P1: &str = "33072319400501001";
pub const P2: &str = "33072319410601002";
pub const P3: &str = "33072319420701003";
pub const P4: &str = "33072319430801004";

pub fn with_declarant(
    mut m: pb::RegisterDeathRequest,
    id_number: &str,
    relationship: pb::DeclarantRelationship,
) -> pb::RegisterDeathRequest {
    m.declarant = Some(pb::Declarant {
        person: Some(PersonRef {
            id_number: id_number.into(),
            name: "王小某".into(),
        }),
        relationship: relationship.into(),
    });
    m
}

pub async fn waiver(
    env: &Env,
    request_id: &str,
    case: &str,
) -> Result<pb::FeeWaiver, tonic::Status> {
    let m = pb::DecideFeeWaiverRequest {
        request_id: request_id.into(),
        death_case: case.into(),
    };
    env.client()
        .decide_fee_waiver(env.req(m))
        .await
        .map(|r| r.into_inner())
}
