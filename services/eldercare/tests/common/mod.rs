//! Shared set-up of the eldercare gRPC tests: a suite with eldercare alone, tokens, helpers.

#![allow(dead_code)]

use contracts::civil::common::v1::{Date, PersonRef};
use contracts::civil::eldercare::v1 as pb;
use contracts::civil::eldercare::v1::eldercare_service_client::EldercareServiceClient;
use kit::error::to_proto_date;
use kit::testing::{Role, TestSuite};
use sqlx::Row;
use tonic::transport::Channel;

pub const COUNTY: &str = "330723";
pub const TOWNSHIP: &str = "330723001";
pub const TOWNSHIP2: &str = "330723002";
pub const OTHER_COUNTY: &str = "512021";
/// The suite's today in these tests.
pub const TODAY: time::Date = time::macros::date!(2026 - 12 - 04);

/// A valid identity number for someone born on `birth` (sequence `seq`).
pub fn id_born(birth: time::Date, seq: u32) -> String {
    let first17 = format!(
        "{COUNTY}{:04}{:02}{:02}{seq:03}",
        birth.year(),
        u8::from(birth.month()),
        birth.day()
    );
    format!("{first17}{}", civil_id::IdNumber::check_char(&first17))
}

pub fn d(x: time::Date) -> Option<Date> {
    Some(to_proto_date(x))
}

pub struct Env {
    pub suite: TestSuite,
    pub staff: String,
    pub service: String,
}

pub async fn start() -> Env {
    start_with(|_| {}).await
}

/// A suite whose eldercare settings are adjusted (e.g. `policy_file`).
pub async fn start_with(adjust: impl FnOnce(&mut kit::config::Config)) -> Env {
    let suite = kit::testing::spawn_with(&[eldercare::SERVICE], |cfg| {
        cfg.extra.insert("eldercare_daily_job".into(), "off".into());
        adjust(cfg);
    })
    .await;
    // A fixed today, so the grant-day window and "not in the future" checks hold whenever the
    // tests run.
    suite.clock.set_today(TODAY);
    let staff = suite.token_for("staff-1", &[Role::EldercareStaff], COUNTY);
    let service = suite.token_for("svc-onematter", &[Role::Service], COUNTY);
    Env {
        suite,
        staff,
        service,
    }
}

pub fn record(
    birth: time::Date,
    seq: u32,
    region: &str,
    situations: &[pb::LivingSituation],
) -> pb::ElderRecord {
    pb::ElderRecord {
        person: Some(PersonRef {
            id_number: id_born(birth, seq),
            name: "李某".into(),
        }),
        birth_date: d(birth),
        region: region.into(),
        living_situations: situations.iter().map(|s| (*s).into()).collect(),
    }
}

impl Env {
    pub fn client(&self) -> EldercareServiceClient<Channel> {
        EldercareServiceClient::new(self.suite.channel.clone())
    }

    pub fn staff<T>(&self, m: T) -> tonic::Request<T> {
        self.suite.request(m, &self.staff)
    }

    pub async fn import(
        &self,
        request_id: &str,
        elders: Vec<pb::ElderRecord>,
    ) -> Result<pb::ImportEldersResponse, tonic::Status> {
        let m = pb::ImportEldersRequest {
            request_id: request_id.into(),
            elders,
        };
        self.client()
            .import_elders(self.staff(m))
            .await
            .map(|r| r.into_inner())
    }

    pub async fn elder(&self, id_number: &str) -> pb::Elder {
        let m = pb::GetElderRequest {
            name: String::new(),
            id_number: id_number.into(),
        };
        self.client()
            .get_elder(self.staff(m))
            .await
            .expect("elder")
            .into_inner()
    }

    pub async fn try_grants(
        &self,
        request_id: &str,
        date: Option<Date>,
    ) -> Result<pb::RunDailyGrantsResponse, tonic::Status> {
        let m = pb::RunDailyGrantsRequest {
            request_id: request_id.into(),
            date,
        };
        self.client()
            .run_daily_grants(self.staff(m))
            .await
            .map(|r| r.into_inner())
    }

    pub async fn roll(
        &self,
        request_id: &str,
        year: i32,
        month: i32,
    ) -> Result<pb::AllowanceRoll, tonic::Status> {
        let m = pb::RunMonthlyRollRequest {
            request_id: request_id.into(),
            year,
            month,
        };
        self.client()
            .run_monthly_roll(self.staff(m))
            .await
            .map(|r| r.into_inner())
    }

    pub async fn institution(&self, request_id: &str, beds: i32, nursing: i32) -> pb::Institution {
        self.client()
            .register_institution(self.staff(pb::RegisterInstitutionRequest {
                request_id: request_id.into(),
                display_name: "县福利院".into(),
                region: TOWNSHIP.into(),
                beds,
                nursing_beds: nursing,
            }))
            .await
            .expect("institution")
            .into_inner()
    }

    /// Rows of the eldercare outbox on `topic`.
    pub async fn events(&self, topic: &str) -> i64 {
        let db = self.suite.db("eldercare").await;
        sqlx::query("SELECT COUNT(*) AS n FROM outbox WHERE topic = $1")
            .bind(topic)
            .fetch_one(&db.pool)
            .await
            .expect("count")
            .get("n")
    }
}
