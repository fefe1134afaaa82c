//! The fee waiver against the real assistance service, mounted in the same suite: the wire
//! contract, the service credential and the on-behalf-of header as they run in production.
//! Recipients are made the way a county makes them, through assistance's 低保 procedure.

#[path = "support/real_assistance.rs"]
mod real_assistance;

use contracts::civil::assistance::v1 as apb;
use contracts::civil::assistance::v1::assistance_service_client::AssistanceServiceClient;
use contracts::civil::common::v1::PersonRef;
use contracts::civil::funeral::v1 as pb;
use contracts::civil::funeral::v1::funeral_service_client::FuneralServiceClient;
use kit::error::to_proto_date;
use kit::testing::{Role, TestSuite};
use real_assistance::{Link, approve_minimum_living_allowance, start_checking_centre};
use tonic::Code;
use tonic::transport::Channel;

#[tokio::test]
async fn the_real_assistance_service_answers_the_waiver_lookup_for_a_non_recipient() {
    let suite = kit::testing::spawn(&[assistance::SERVICE, funeral::SERVICE]).await;
    let home = suite.token_for("funeral-home-1", &[Role::FuneralHome], "330723");
    let mut client = FuneralServiceClient::new(suite.channel.clone());
    let first17 = "33072319400501001";
    let id_number = format!("{first17}{}", civil_id::IdNumber::check_char(first17));
    let register = pb::RegisterDeathRequest {
        request_id: "r1".into(),
        deceased: Some(PersonRef {
            id_number,
            name: "王某".into(),
        }),
        certificate: Some(pb::DeathCertificate {
            issuer: pb::CertificateIssuer::Police.into(),
            number: "GA-1".into(),
            date_of_death: Some(to_proto_date(kit::today_cst())),
            place_of_death: "家中".into(),
            cause_class: pb::CauseClass::Unknown.into(),
        }),
        region: "330723001".into(),
        ethnicity: pb::Ethnicity::Han.into(),
        ..Default::default()
    };
    let case = client
        .register_death(suite.request(register, &home))
        .await
        .expect("registered")
        .into_inner();
    let decide = pb::DecideFeeWaiverRequest {
        request_id: "w1".into(),
        death_case: case.name.clone(),
    };
    let waiver = client
        .decide_fee_waiver(suite.request(decide, &home))
        .await
        .expect("assistance answered")
        .into_inner();
    assert!(!waiver.waived, "an unknown person receives no benefits");
    let evidence = waiver.evidence.expect("evidence");
    assert_eq!(evidence.source, "assistance");
    assert!(evidence.benefit_kinds_seen.is_empty());
}

/// funeral and assistance in one suite; funeral reaches assistance through `link`.
struct Env {
    suite: TestSuite,
    link: Link,
    home: String,
}

async fn start() -> Env {
    let centre = start_checking_centre().await;
    let link = Link::start().await;
    let url = link.url();
    let suite = kit::testing::spawn_with(&[funeral::SERVICE, assistance::SERVICE], move |cfg| {
        cfg.upstreams.insert("checking_centre".into(), centre);
        cfg.upstreams.insert("assistance".into(), url);
    })
    .await;
    link.connect_to(suite.addr);
    let home = suite.token_for("funeral-home-1", &[Role::FuneralHome], "330723");
    Env { suite, link, home }
}

fn id(first17: &str) -> String {
    format!("{first17}{}", civil_id::IdNumber::check_char(first17))
}

impl Env {
    fn funeral(&self) -> FuneralServiceClient<Channel> {
        FuneralServiceClient::new(self.suite.channel.clone())
    }

    async fn register(&self, request_id: &str, id_number: &str) -> String {
        let register = pb::RegisterDeathRequest {
            request_id: request_id.into(),
            deceased: Some(PersonRef {
                id_number: id_number.into(),
                name: "王某".into(),
            }),
            certificate: Some(pb::DeathCertificate {
                issuer: pb::CertificateIssuer::Medical.into(),
                number: format!("YX-{request_id}"),
                date_of_death: Some(to_proto_date(kit::today_cst())),
                place_of_death: "县人民医院".into(),
                cause_class: pb::CauseClass::Disease.into(),
            }),
            region: "330723001".into(),
            ethnicity: pb::Ethnicity::Han.into(),
            ..Default::default()
        };
        self.funeral()
            .register_death(self.suite.request(register, &self.home))
            .await
            .expect("registered")
            .into_inner()
            .name
    }

    async fn waiver(&self, request_id: &str, case: &str) -> Result<pb::FeeWaiver, tonic::Status> {
        let decide = pb::DecideFeeWaiverRequest {
            request_id: request_id.into(),
            death_case: case.into(),
        };
        self.funeral()
            .decide_fee_waiver(self.suite.request(decide, &self.home))
            .await
            .map(|r| r.into_inner())
    }

    async fn waivers_recorded(&self) -> i64 {
        let db = self.suite.db("funeral").await;
        sqlx::query_scalar("SELECT COUNT(*) FROM fee_waivers")
            .fetch_one(&db.pool)
            .await
            .expect("count")
    }
}

#[tokio::test]
async fn a_dibao_recipient_is_waived_on_the_real_assistance_records_and_a_non_recipient_is_not() {
    let env = start().await;
    let recipient = id("33072319500301001");
    approve_minimum_living_allowance(&env.suite, &recipient).await;

    let case = env.register("d1", &recipient).await;
    let w = env.waiver("w1", &case).await.expect("decided");
    assert!(w.waived);
    assert_eq!(
        w.grounds().collect::<Vec<_>>(),
        vec![pb::WaiverGround::MinimumLivingAllowance]
    );
    let evidence = w.evidence.clone().expect("evidence");
    assert_eq!(evidence.source, "assistance");
    assert_eq!(
        evidence.benefit_kinds_seen,
        vec!["BENEFIT_KIND_MINIMUM_LIVING_ALLOWANCE"]
    );
    assert!(evidence.checked_at_ms > 0);
    assert_eq!(w.services.len(), 4);

    // A recipient whose allowance assistance already ended for the death (身后一件事 ran first):
    // the waiver rests on what the person received when they died.
    let ended = id("33072319520402002");
    approve_minimum_living_allowance(&env.suite, &ended).await;
    let service = env.suite.token_for("svc-onematter", &[Role::Service], "");
    let effects = AssistanceServiceClient::new(env.suite.channel.clone())
        .terminate_for_death(env.suite.request(
            apb::TerminateForDeathRequest {
                request_id: "death-ended".into(),
                id_number: ended.clone(),
                date_of_death: Some(to_proto_date(kit::today_cst())),
            },
            &service,
        ))
        .await
        .expect("terminated for death")
        .into_inner()
        .effects;
    assert_eq!(effects[0].outcome, apb::DeathOutcome::Terminated as i32);
    let case = env.register("d2", &ended).await;
    let w = env.waiver("w2", &case).await.expect("decided");
    assert_eq!(
        (w.waived, w.grounds().collect::<Vec<_>>()),
        (true, vec![pb::WaiverGround::MinimumLivingAllowance])
    );

    // Someone assistance has no benefit for, in the same county with recipients on record.
    let case = env.register("d3", &id("33072319400501003")).await;
    let w = env.waiver("w3", &case).await.expect("decided");
    assert!(!w.waived);
    assert!(w.grounds.is_empty());
    let evidence = w.evidence.expect("evidence");
    assert_eq!(evidence.source, "assistance");
    assert!(evidence.benefit_kinds_seen.is_empty());
}

#[tokio::test]
async fn while_assistance_cannot_be_reached_the_waiver_waits_and_is_never_guessed() {
    let env = start().await;
    let recipient = id("33072319500301001");
    approve_minimum_living_allowance(&env.suite, &recipient).await;
    let case = env.register("d1", &recipient).await;

    env.link.cut();
    let err = env
        .waiver("w1", &case)
        .await
        .expect_err("assistance cut off");
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    assert_eq!(
        env.waivers_recorded().await,
        0,
        "no decision without evidence"
    );
    let waiting = env
        .funeral()
        .get_death_case(
            env.suite
                .request(pb::GetDeathCaseRequest { name: case.clone() }, &env.home),
        )
        .await
        .expect("the case is still there")
        .into_inner();
    assert_eq!(waiting.name, case);
    let err = env.waiver("w2", &case).await.expect_err("still cut off");
    assert_eq!(err.code(), Code::Unavailable);

    // The link is back: the same request is decided on assistance's records.
    env.link.restore();
    let w = env
        .waiver("w1", &case)
        .await
        .expect("decided after recovery");
    assert!(w.waived);
    assert_eq!(
        w.evidence.expect("evidence").benefit_kinds_seen,
        vec!["BENEFIT_KIND_MINIMUM_LIVING_ALLOWANCE"]
    );
    assert_eq!(env.waivers_recorded().await, 1);
}
