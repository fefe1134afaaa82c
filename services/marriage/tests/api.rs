//! gRPC tests of the marriage service through `kit::testing`: what a registrar, a citizen or
//! another bureau would check. SQLite by default; PostgreSQL when `CIVIL_TEST_PG` is set.
//!
//! Time: the service reads today's date (CST). Tests that need days to pass move a divorce
//! application's stored dates back instead, exactly as if it had been received earlier; the
//! deadlines are recomputed with the same calendar the service uses.

use std::collections::HashSet;
use std::time::Duration;

use civil_calendar::HolidayCalendar;
use civil_id::{IdNumber, Sex};
use contracts::civil::common::v1::PersonRef;
use contracts::civil::marriage::v1::{self as pb, marriage_service_client::MarriageServiceClient};
use kit::error::{reason_of, to_proto_date, violated_fields};
use kit::testing::{self, Role, TestSuite};
use marriage::domain::cooling_off::Deadlines;
use marriage::domain::testing::id_number_seq;
use sqlx::Row;
use time::Date;
use tonic::Code;
use tonic::transport::Channel;

const REGION: &str = "330723";
const OFFICE: &str = "county-office";

type Client = MarriageServiceClient<Channel>;

fn today() -> Date {
    kit::today_cst()
}

fn rid() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Someone `years` old today (born that many years ago, minus `days_more` days).
fn born_years_ago(years: i32, days_more: i64) -> Date {
    let t = today();
    civil_calendar::birthday_in_year(t, t.year() - years) - time::Duration::days(days_more)
}

fn person(id: &IdNumber, name: &str) -> PersonRef {
    PersonRef {
        id_number: id.as_str().to_owned(),
        name: name.to_owned(),
    }
}

fn party(id: &IdNumber, name: &str) -> Option<pb::Party> {
    Some(pb::Party {
        person: Some(person(id, name)),
        in_person: true,
    })
}

fn signed() -> Option<pb::MarriageDeclaration> {
    Some(pb::MarriageDeclaration {
        no_spouse: true,
        not_prohibited_relatives: true,
    })
}

struct Fixture {
    suite: TestSuite,
    client: Client,
    registrar: String,
}

impl Fixture {
    async fn start() -> Fixture {
        Self::with_suite(testing::spawn(&[marriage::SERVICE]).await).await
    }

    async fn with_suite(suite: TestSuite) -> Fixture {
        let client = MarriageServiceClient::new(suite.channel.clone());
        let registrar = suite.token(&[Role::Registrar], REGION);
        let mut f = Fixture {
            suite,
            client,
            registrar,
        };
        f.create_office(OFFICE, REGION).await;
        f
    }

    fn req<T>(&self, message: T) -> tonic::Request<T> {
        self.suite.request(message, &self.registrar)
    }

    fn as_role<T>(&self, message: T, roles: &[Role], region: &str) -> tonic::Request<T> {
        self.suite
            .request(message, &self.suite.token(roles, region))
    }

    async fn create_office(&mut self, office_id: &str, region: &str) {
        let token = self.suite.token(&[Role::Registrar], region);
        let request = pb::CreateOfficeRequest {
            request_id: rid(),
            office_id: office_id.into(),
            display_name: format!("{office_id} 婚姻登记处"),
            region_code: region.into(),
        };
        let _ = self
            .client
            .create_office(self.suite.request(request, &token))
            .await
            .expect("office created");
    }

    fn marriage_request(&self, man: &IdNumber, woman: &IdNumber) -> pb::RegisterMarriageRequest {
        pb::RegisterMarriageRequest {
            request_id: rid(),
            office_id: OFFICE.into(),
            party_a: party(man, "张伟"),
            party_b: party(woman, "李娜"),
            declaration_a: signed(),
            declaration_b: signed(),
        }
    }

    async fn marry(&mut self, man: &IdNumber, woman: &IdNumber) -> pb::Marriage {
        let request = self.req(self.marriage_request(man, woman));
        self.client
            .register_marriage(request)
            .await
            .expect("marriage registered")
            .into_inner()
    }

    async fn status(&mut self, id: &IdNumber) -> pb::MaritalStatus {
        let request = self.as_role(
            pb::GetMaritalStatusRequest {
                id_number: id.as_str().into(),
                purpose: "test".into(),
            },
            &[Role::Service],
            "",
        );
        self.client
            .get_marital_status(request)
            .await
            .expect("status")
            .into_inner()
    }

    async fn apply(
        &mut self,
        m: &pb::Marriage,
        man: &IdNumber,
        woman: &IdNumber,
    ) -> pb::DivorceApplication {
        let request = self.req(pb::ApplyForDivorceRequest {
            request_id: rid(),
            office_id: OFFICE.into(),
            marriage_certificate_number: m.certificate_number.clone(),
            party_a: party(man, "张伟"),
            party_b: party(woman, "李娜"),
            agreement_summary: "no children; the flat goes to the woman".into(),
            both_of_full_civil_capacity: true,
        });
        self.client
            .apply_for_divorce(request)
            .await
            .expect("application accepted")
            .into_inner()
    }

    fn register_divorce_request(
        &self,
        app: &pb::DivorceApplication,
        man: &IdNumber,
        woman: &IdNumber,
    ) -> pb::RegisterDivorceRequest {
        pb::RegisterDivorceRequest {
            request_id: rid(),
            application_id: app.application_id.clone(),
            office_id: OFFICE.into(),
            party_a: party(man, "张伟"),
            party_b: party(woman, "李娜"),
        }
    }

    /// Moves an application's receipt back so that `pick(deadlines)` holds today, as if it had
    /// been received that many days earlier.
    async fn age_application(&self, application_id: &str, pick: impl Fn(&Deadlines) -> bool) {
        let calendar = HolidayCalendar::embedded();
        let deadlines = (1..400)
            .map(|days| Deadlines::from_receipt(today() - time::Duration::days(days), &calendar))
            .find(|d| pick(d))
            .expect("some receipt date fits");
        let db = self.suite.db("marriage").await;
        sqlx::query(
            "UPDATE divorce_applications SET received_on = $1, withdrawal_deadline = $2, issuance_deadline = $3
             WHERE application_id = $4",
        )
        .bind(deadlines.received_on.to_string())
        .bind(deadlines.withdrawal_deadline.to_string())
        .bind(deadlines.issuance_deadline.to_string())
        .bind(application_id)
        .execute(&db.pool)
        .await
        .expect("aged");
    }

    async fn count(&self, sql: &str, bind: &str) -> i64 {
        let db = self.suite.db("marriage").await;
        sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .bind(bind)
            .fetch_one(&db.pool)
            .await
            .expect("count")
            .get::<i64, _>(0)
    }

    /// The raw payload of the only event of this type, and its decoded message.
    async fn event<M: prost::Message + Default>(&self, event_type: &str) -> (Vec<u8>, M) {
        use base64::Engine as _;
        let db = self.suite.db("marriage").await;
        let payload: String = sqlx::query("SELECT payload FROM outbox WHERE event_type = $1")
            .bind(event_type)
            .fetch_one(&db.pool)
            .await
            .expect("one event")
            .get(0);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(payload)
            .expect("base64 payload");
        let message = M::decode(bytes.as_slice()).expect("decodes");
        (bytes, message)
    }

    /// Checks that an event names a party by blind index and masked number, and that the
    /// payload bytes hold no full identity number.
    fn assert_event_party(&self, payload: &[u8], party: Option<&pb::EventParty>, id: &IdNumber) {
        let sealer = kit::pii::Sealer::from_config(&self.suite.config).expect("suite key");
        let party = party.expect("party in event");
        assert_eq!(party.id_index, sealer.index(id));
        assert_eq!(party.masked_id_number, id.masked());
        assert!(
            !payload
                .windows(id.as_str().len())
                .any(|w| w == id.as_str().as_bytes()),
            "the full identity number travels in the event"
        );
    }

    async fn events(&self, event_type: &str) -> i64 {
        self.count(
            "SELECT COUNT(*) FROM outbox WHERE event_type = $1",
            event_type,
        )
        .await
    }
}

fn couple(seq: u16) -> (IdNumber, IdNumber) {
    (
        id_number_seq(born_years_ago(30, 0), Sex::Male, seq),
        id_number_seq(born_years_ago(28, 0), Sex::Female, seq),
    )
}

fn assert_refused<T: std::fmt::Debug>(result: Result<T, tonic::Status>, reason: &str) {
    let status = result.expect_err("refused");
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert_eq!(reason_of(&status).as_deref(), Some(reason), "{status:?}");
}

// ------------------------------------------------------------------------------ registration

#[tokio::test]
async fn a_registered_marriage_gets_a_j_certificate_and_both_become_married() {
    let mut f = Fixture::start().await;
    let (man, woman) = couple(1);
    assert_eq!(f.status(&man).await.state(), pb::MaritalState::Unmarried);

    let m = f.marry(&man, &woman).await;

    let year = today().year();
    assert!(
        m.certificate_number
            .starts_with(&format!("J330723-{year}-")),
        "{}",
        m.certificate_number
    );
    assert_eq!(m.certificate_number.len(), "J330723-2026-000001".len());
    assert_eq!(m.state(), pb::MarriageState::InEffect);
    let a = m.party_a.as_ref().expect("party a");
    assert_eq!(a.sex(), pb::Sex::Male);
    assert_eq!(a.nationality, "CHN");
    assert_eq!(
        a.person.as_ref().map(|p| p.id_number.as_str()),
        Some(man.as_str()),
        "registrars see full numbers"
    );
    // The cached "unmarried" answer was dropped when the marriage was registered.
    let status = f.status(&man).await;
    assert_eq!(status.state(), pb::MaritalState::Married);
    assert_eq!(
        status.spouse.as_ref().map(|p| p.id_number.as_str()),
        Some(woman.as_str())
    );
    assert_eq!(status.marriage_certificate_number, m.certificate_number);
    assert_eq!(f.status(&woman).await.state(), pb::MaritalState::Married);
    assert_eq!(f.events("civil.marriage.v1.MarriageRegistered").await, 1);
    let (payload, event) = f
        .event::<pb::MarriageRegistered>("civil.marriage.v1.MarriageRegistered")
        .await;
    assert_eq!(event.certificate_number, m.certificate_number);
    f.assert_event_party(&payload, event.party_a.as_ref(), &man);
    f.assert_event_party(&payload, event.party_b.as_ref(), &woman);

    let second = f.marry(&couple(2).0, &couple(2).1).await;
    assert_ne!(
        second.certificate_number, m.certificate_number,
        "serials are unique"
    );
}

#[tokio::test]
async fn each_refusal_reason_of_registration_is_reported() {
    let mut f = Fixture::start().await;
    let (man, woman) = couple(3);

    // Art. 1047: a man one day short of 22.
    let young = id_number_seq(born_years_ago(22, -1), Sex::Male, 4);
    assert_refused(
        f.client
            .register_marriage(f.req(f.marriage_request(&young, &woman)))
            .await,
        "MARRIAGE_UNDERAGE",
    );
    // ... and on his 22nd birthday he may.
    let of_age = id_number_seq(born_years_ago(22, 0), Sex::Male, 5);
    let woman2 = id_number_seq(born_years_ago(20, 0), Sex::Female, 5);
    f.marry(&of_age, &woman2).await;

    let mut absent = f.marriage_request(&man, &woman);
    absent.party_b.as_mut().expect("b").in_person = false;
    assert_refused(
        f.client.register_marriage(f.req(absent)).await,
        "MARRIAGE_NOT_IN_PERSON",
    );

    let mut unsigned = f.marriage_request(&man, &woman);
    unsigned.declaration_a = Some(pb::MarriageDeclaration {
        no_spouse: true,
        not_prohibited_relatives: false,
    });
    assert_refused(
        f.client.register_marriage(f.req(unsigned)).await,
        "MARRIAGE_DECLARATION_MISSING",
    );

    assert_refused(
        f.client
            .register_marriage(f.req(f.marriage_request(&man, &man)))
            .await,
        "MARRIAGE_SAME_PERSON",
    );
    let other_man = id_number_seq(born_years_ago(31, 0), Sex::Male, 6);
    assert_refused(
        f.client
            .register_marriage(f.req(f.marriage_request(&man, &other_man)))
            .await,
        "MARRIAGE_SAME_SEX",
    );

    // Art. 1042: the woman married above cannot marry again.
    assert_refused(
        f.client
            .register_marriage(f.req(f.marriage_request(&man, &woman2)))
            .await,
        "MARRIAGE_ALREADY_MARRIED",
    );
    assert_eq!(
        f.status(&man).await.state(),
        pb::MaritalState::Unmarried,
        "nothing was recorded for refusals"
    );
}

#[tokio::test]
async fn malformed_input_is_invalid_argument_with_every_bad_field() {
    let mut f = Fixture::start().await;
    let (man, _) = couple(7);
    let mut request = f.marriage_request(&man, &man);
    request
        .party_a
        .as_mut()
        .and_then(|p| p.person.as_mut())
        .expect("a")
        .id_number = "330723199001011234".into();
    request
        .party_b
        .as_mut()
        .and_then(|p| p.person.as_mut())
        .expect("b")
        .name = " ".into();
    let status = f
        .client
        .register_marriage(f.req(request))
        .await
        .expect_err("invalid");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&status),
        vec!["party_a.person.id_number", "party_b.person.name"]
    );
    assert!(
        !status.message().contains("330723199001011234"),
        "the bad number is not echoed"
    );
}

#[tokio::test]
async fn wrong_role_or_region_is_permission_denied() {
    let mut f = Fixture::start().await;
    let (man, woman) = couple(8);
    let request = f.as_role(
        f.marriage_request(&man, &woman),
        &[Role::Registrar],
        "330724",
    );
    assert_eq!(
        f.client
            .register_marriage(request)
            .await
            .expect_err("other county")
            .code(),
        Code::PermissionDenied
    );
    let request = f.as_role(f.marriage_request(&man, &woman), &[Role::Citizen], REGION);
    assert_eq!(
        f.client
            .register_marriage(request)
            .await
            .expect_err("citizen")
            .code(),
        Code::PermissionDenied
    );
    let request = f.as_role(
        pb::GetMaritalStatusRequest {
            id_number: man.as_str().into(),
            purpose: String::new(),
        },
        &[Role::Citizen],
        REGION,
    );
    assert_eq!(
        f.client
            .get_marital_status(request)
            .await
            .expect_err("citizen")
            .code(),
        Code::PermissionDenied
    );
}

#[tokio::test]
async fn a_retried_request_id_returns_the_first_answer_and_a_reused_one_is_refused() {
    let mut f = Fixture::start().await;
    let (man, woman) = couple(9);
    let request = f.marriage_request(&man, &woman);
    let first = f
        .client
        .register_marriage(f.req(request.clone()))
        .await
        .expect("first")
        .into_inner();
    let again = f
        .client
        .register_marriage(f.req(request.clone()))
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(first, again);
    assert_eq!(
        f.count(
            "SELECT COUNT(*) FROM marriages WHERE certificate_number <> $1",
            ""
        )
        .await,
        1
    );

    let (m2, w2) = couple(10);
    let mut different = f.marriage_request(&m2, &w2);
    different.request_id = request.request_id;
    assert_refused(
        f.client.register_marriage(f.req(different)).await,
        "REQUEST_ID_REUSED",
    );
}

#[tokio::test]
async fn the_audit_chain_verifies_and_names_the_registrar() {
    let mut f = Fixture::start().await;
    let (man, woman) = couple(11);
    f.registrar = f
        .suite
        .token_for("registrar-wang", &[Role::Registrar], REGION);
    let m = f.marry(&man, &woman).await;
    f.status(&man).await;
    tokio::time::sleep(Duration::from_millis(200)).await; // read-audit rows are batched
    let db = f.suite.db("marriage").await;
    let rows = auth::audit::verify(&db.pool).await.expect("chain intact");
    assert!(rows >= 3, "office, registration and status read: {rows}");
    let records = auth::audit::list(&db.pool, 0, 100).await.expect("list");
    let registration = records
        .iter()
        .find(|r| r.entry.action == "RegisterMarriage")
        .expect("registration audited");
    assert_eq!(registration.entry.actor, "registrar-wang");
    assert_eq!(registration.entry.object, m.certificate_number);
    assert!(
        records.iter().any(|r| r.entry.action == "GetMaritalStatus"),
        "reads are audited"
    );
    assert!(
        records
            .iter()
            .all(|r| !r.entry.object.contains(man.as_str())),
        "no identity number in the trail"
    );
}

// ------------------------------------------------------------------------------ divorce

#[tokio::test]
async fn divorce_by_registration_end_to_end() {
    let mut f = Fixture::start().await;
    let (man, woman) = couple(12);
    let m = f.marry(&man, &woman).await;
    let app = f.apply(&m, &man, &woman).await;
    assert_eq!(app.state(), pb::DivorceApplicationState::Pending);
    assert_eq!(app.received_on, Some(to_proto_date(today())));

    // A second application while one is open is refused.
    let mut again = pb::ApplyForDivorceRequest {
        request_id: rid(),
        office_id: OFFICE.into(),
        marriage_certificate_number: m.certificate_number.clone(),
        party_a: party(&man, "张伟"),
        party_b: party(&woman, "李娜"),
        agreement_summary: "same".into(),
        both_of_full_civil_capacity: true,
    };
    assert_refused(
        f.client.apply_for_divorce(f.req(again.clone())).await,
        "MARRIAGE_DIVORCE_PENDING",
    );
    again.agreement_summary = String::new();

    // During cooling-off the certificate is not issued.
    let request = f.register_divorce_request(&app, &man, &woman);
    assert_refused(
        f.client.register_divorce(f.req(request)).await,
        "MARRIAGE_COOLING_OFF_NOT_ELAPSED",
    );

    // Days 31-60: withdrawal is over, registration is open, at the accepting office only.
    f.age_application(&app.application_id, |d| {
        d.withdrawal_deadline < today() && today() <= d.issuance_deadline
    })
    .await;
    let withdraw = pb::WithdrawDivorceApplicationRequest {
        request_id: rid(),
        application_id: app.application_id.clone(),
        party: party(&woman, "李娜"),
    };
    assert_refused(
        f.client.withdraw_divorce_application(f.req(withdraw)).await,
        "MARRIAGE_WITHDRAWAL_PERIOD_OVER",
    );
    f.create_office("township-office", "330723101").await;
    let mut elsewhere = f.register_divorce_request(&app, &man, &woman);
    elsewhere.office_id = "township-office".into();
    assert_refused(
        f.client.register_divorce(f.req(elsewhere)).await,
        "MARRIAGE_WRONG_OFFICE",
    );
    let mut one_absent = f.register_divorce_request(&app, &man, &woman);
    one_absent.party_b.as_mut().expect("b").in_person = false;
    assert_refused(
        f.client.register_divorce(f.req(one_absent)).await,
        "MARRIAGE_NOT_IN_PERSON",
    );

    let request = f.register_divorce_request(&app, &man, &woman);
    let done = f
        .client
        .register_divorce(f.req(request))
        .await
        .expect("divorce registered")
        .into_inner();
    assert_eq!(done.state(), pb::DivorceApplicationState::Registered);
    assert!(
        done.divorce_certificate_number.starts_with("L330723-"),
        "{}",
        done.divorce_certificate_number
    );
    assert_eq!(f.status(&man).await.state(), pb::MaritalState::Divorced);
    assert_eq!(f.status(&woman).await.state(), pb::MaritalState::Divorced);
    assert_eq!(f.events("civil.marriage.v1.DivorceRegistered").await, 1);
    let (payload, event) = f
        .event::<pb::DivorceRegistered>("civil.marriage.v1.DivorceRegistered")
        .await;
    f.assert_event_party(&payload, event.party_a.as_ref(), &man);
    f.assert_event_party(&payload, event.party_b.as_ref(), &woman);

    // A divorced person may remarry.
    let new_wife = id_number_seq(born_years_ago(26, 0), Sex::Female, 13);
    f.marry(&man, &new_wife).await;
    assert_eq!(f.status(&man).await.state(), pb::MaritalState::Married);

    // The agreement is required for a new application (here: the marriage has ended anyway).
    assert_refused(
        f.client.apply_for_divorce(f.req(again)).await,
        "MARRIAGE_NOT_IN_EFFECT",
    );
}

#[tokio::test]
async fn either_party_alone_may_withdraw_during_cooling_off() {
    let mut f = Fixture::start().await;
    let (man, woman) = couple(14);
    let m = f.marry(&man, &woman).await;
    let app = f.apply(&m, &man, &woman).await;
    let stranger = id_number_seq(born_years_ago(40, 0), Sex::Male, 15);
    let not_a_party = pb::WithdrawDivorceApplicationRequest {
        request_id: rid(),
        application_id: app.application_id.clone(),
        party: party(&stranger, "王五"),
    };
    assert_refused(
        f.client
            .withdraw_divorce_application(f.req(not_a_party))
            .await,
        "MARRIAGE_PARTIES_MISMATCH",
    );
    let withdraw = pb::WithdrawDivorceApplicationRequest {
        request_id: rid(),
        application_id: app.application_id.clone(),
        party: party(&woman, "李娜"),
    };
    let withdrawn = f
        .client
        .withdraw_divorce_application(f.req(withdraw))
        .await
        .expect("withdrawn")
        .into_inner();
    assert_eq!(withdrawn.state(), pb::DivorceApplicationState::Withdrawn);
    assert_eq!(
        f.events("civil.marriage.v1.DivorceApplicationWithdrawn")
            .await,
        1
    );
    assert_eq!(f.status(&man).await.state(), pb::MaritalState::Married);
    let request = f.register_divorce_request(&app, &man, &woman);
    assert_refused(
        f.client.register_divorce(f.req(request)).await,
        "MARRIAGE_DIVORCE_APPLICATION_CLOSED",
    );
}

#[tokio::test]
async fn an_application_past_day_60_is_recorded_expired_when_read() {
    let mut f = Fixture::start().await;
    let (man, woman) = couple(16);
    let m = f.marry(&man, &woman).await;
    let app = f.apply(&m, &man, &woman).await;
    f.age_application(&app.application_id, |d| d.issuance_deadline < today())
        .await;

    let request = f.req(pb::GetDivorceApplicationRequest {
        application_id: app.application_id.clone(),
    });
    let read = f
        .client
        .get_divorce_application(request)
        .await
        .expect("read")
        .into_inner();
    assert_eq!(read.state(), pb::DivorceApplicationState::Expired);
    let request = f.register_divorce_request(&app, &man, &woman);
    assert_refused(
        f.client.register_divorce(f.req(request)).await,
        "MARRIAGE_DIVORCE_APPLICATION_EXPIRED",
    );
    let request = f.req(pb::GetDivorceApplicationRequest {
        application_id: app.application_id.clone(),
    });
    f.client
        .get_divorce_application(request)
        .await
        .expect("read again");
    assert_eq!(
        f.events("civil.marriage.v1.DivorceApplicationExpired")
            .await,
        1,
        "recorded once"
    );
    // The procedure ended: a new application may be filed.
    f.apply(&m, &man, &woman).await;
}

#[tokio::test]
async fn an_application_whose_deadline_passed_while_down_expires_after_a_restart() {
    let mut f = Fixture::start().await;
    let (man, woman) = couple(17);
    let m = f.marry(&man, &woman).await;
    let app = f.apply(&m, &man, &woman).await;
    f.age_application(&app.application_id, |d| d.issuance_deadline < today())
        .await;

    let Fixture {
        suite, registrar, ..
    } = f;
    let suite = suite.restart().await;
    let f = Fixture {
        client: MarriageServiceClient::new(suite.channel.clone()),
        suite,
        registrar,
    };
    // The sweep runs at start; nobody reads the application.
    let mut state = String::new();
    for _ in 0..100 {
        let db = f.suite.db("marriage").await;
        state = sqlx::query("SELECT state FROM divorce_applications WHERE application_id = $1")
            .bind(&app.application_id)
            .fetch_one(&db.pool)
            .await
            .expect("row")
            .get("state");
        if state == "expired" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(state, "expired");
    assert_eq!(
        f.events("civil.marriage.v1.DivorceApplicationExpired")
            .await,
        1
    );
}

// ------------------------------------------------------------------------------ death, court, re-issue

#[tokio::test]
async fn after_a_recorded_death_the_survivor_is_widowed_and_may_remarry() {
    let mut f = Fixture::start().await;
    let (man, woman) = couple(18);
    let m = f.marry(&man, &woman).await;
    assert_eq!(f.status(&woman).await.state(), pb::MaritalState::Married);

    let death = pb::RecordDeathRequest {
        request_id: rid(),
        person: Some(person(&man, "张伟")),
        date_of_death: Some(to_proto_date(today())),
    };
    let service = f.suite.token(&[Role::Service], "");
    let record = f
        .client
        .record_death(f.suite.request(death.clone(), &service))
        .await
        .expect("recorded")
        .into_inner();
    assert_eq!(
        record.widowed_spouse.as_ref().map(|p| p.id_number.as_str()),
        Some(woman.as_str())
    );
    assert_eq!(record.marriage_certificate_number, m.certificate_number);

    // Idempotent, whether retried with the same request id or sent again with another.
    let again = f
        .client
        .record_death(f.suite.request(death.clone(), &service))
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(again, record);
    let other_id = pb::RecordDeathRequest {
        request_id: rid(),
        ..death
    };
    let other = f
        .client
        .record_death(f.suite.request(other_id, &service))
        .await
        .expect("again")
        .into_inner();
    assert_eq!(other, record);

    let widow = f.status(&woman).await;
    assert_eq!(widow.state(), pb::MaritalState::Widowed);
    assert!(widow.spouse.is_none());
    assert!(f.status(&man).await.deceased);

    let citizen = f.suite.token(&[Role::Citizen], REGION);
    let forbidden = pb::RecordDeathRequest {
        request_id: rid(),
        person: Some(person(&woman, "李娜")),
        date_of_death: Some(to_proto_date(today())),
    };
    assert_eq!(
        f.client
            .record_death(f.suite.request(forbidden, &citizen))
            .await
            .expect_err("citizen")
            .code(),
        Code::PermissionDenied
    );

    let new_husband = id_number_seq(born_years_ago(35, 0), Sex::Male, 19);
    f.marry(&new_husband, &woman).await;
    assert_eq!(f.status(&woman).await.state(), pb::MaritalState::Married);
    let again = f.marriage_request(&man, &id_number_seq(born_years_ago(30, 0), Sex::Female, 20));
    assert_refused(
        f.client.register_marriage(f.req(again)).await,
        "MARRIAGE_PARTY_DECEASED",
    );
}

#[tokio::test]
async fn a_judicial_divorce_recorded_from_a_court_ends_the_marriage() {
    let mut f = Fixture::start().await;
    let (man, woman) = couple(21);
    let m = f.marry(&man, &woman).await;
    let decision = pb::RecordCourtDecisionRequest {
        request_id: rid(),
        marriage_certificate_number: m.certificate_number.clone(),
        kind: pb::CourtDecisionKind::JudicialDivorce.into(),
        court: "某县人民法院".into(),
        case_number: "(2026)浙0723民初1号".into(),
        effective_date: Some(to_proto_date(today())),
    };
    let after = f
        .client
        .record_court_decision(f.req(decision))
        .await
        .expect("recorded")
        .into_inner();
    assert_eq!(after.state(), pb::MarriageState::JudiciallyDivorced);
    assert_eq!(after.remarks.len(), 1);
    assert_eq!(f.status(&man).await.state(), pb::MaritalState::Divorced);
    let twice = pb::RecordCourtDecisionRequest {
        request_id: rid(),
        marriage_certificate_number: m.certificate_number.clone(),
        kind: pb::CourtDecisionKind::JudicialDivorce.into(),
        court: "某县人民法院".into(),
        case_number: "(2026)浙0723民初2号".into(),
        effective_date: Some(to_proto_date(today())),
    };
    assert_refused(
        f.client.record_court_decision(f.req(twice)).await,
        "MARRIAGE_NOT_IN_EFFECT",
    );
}

#[tokio::test]
async fn a_lost_certificate_is_reissued_unless_the_status_changed_since() {
    let mut f = Fixture::start().await;
    let (man, woman) = couple(22);
    let m = f.marry(&man, &woman).await;
    let reissue = |number: &str, who: &IdNumber| pb::ReissueCertificateRequest {
        request_id: rid(),
        office_id: OFFICE.into(),
        certificate_number: number.into(),
        party: party(who, "李娜"),
    };
    let r = f
        .client
        .reissue_certificate(f.req(reissue(&m.certificate_number, &woman)))
        .await
        .expect("reissued")
        .into_inner();
    assert_eq!(r.outcome(), pb::CertificateReissueOutcome::Reissued);
    assert!(
        r.reissued_certificate_number.starts_with("BJ330723-"),
        "{}",
        r.reissued_certificate_number
    );

    let stranger = id_number_seq(born_years_ago(40, 0), Sex::Female, 23);
    assert_refused(
        f.client
            .reissue_certificate(f.req(reissue(&m.certificate_number, &stranger)))
            .await,
        "MARRIAGE_PARTIES_MISMATCH",
    );

    let death = pb::RecordDeathRequest {
        request_id: rid(),
        person: Some(person(&man, "张伟")),
        date_of_death: Some(to_proto_date(today())),
    };
    f.client.record_death(f.req(death)).await.expect("death");
    let r = f
        .client
        .reissue_certificate(f.req(reissue(&m.certificate_number, &woman)))
        .await
        .expect("answered")
        .into_inner();
    assert_eq!(
        r.outcome(),
        pb::CertificateReissueOutcome::RecordCertificateIssued
    );
    let record = r.record_certificate.expect("record certificate");
    assert_eq!(record.entries.len(), 2, "{:?}", record.entries);
    assert!(r.reissued_certificate_number.is_empty());
}

// ------------------------------------------------------------------------------ appointments

async fn open_slot(f: &mut Fixture, quota: i32) -> (Date, String) {
    let date = today() + time::Duration::days(3);
    let slot = "09:00-09:30".to_owned();
    let request = f.req(pb::SetSlotQuotasRequest {
        request_id: rid(),
        office_id: OFFICE.into(),
        date: Some(to_proto_date(date)),
        slots: vec![pb::TimeSlot {
            slot: slot.clone(),
            quota,
            booked: 0,
            free: 0,
        }],
    });
    f.client.set_slot_quotas(request).await.expect("quota set");
    (date, slot)
}

fn booking(date: Date, slot: &str) -> pb::BookAppointmentRequest {
    pb::BookAppointmentRequest {
        request_id: rid(),
        office_id: OFFICE.into(),
        date: Some(to_proto_date(date)),
        slot: slot.into(),
        purpose: pb::AppointmentPurpose::Marriage.into(),
    }
}

/// Issue requirement: one 20-seat slot, 500 concurrent booking requests through gRPC: exactly
/// 20 succeed, every other one is refused with a reason, and the rows agree.
#[tokio::test]
async fn five_hundred_concurrent_bookings_for_twenty_seats_give_exactly_twenty() {
    const ATTEMPTS: usize = 500;
    const SEATS: i32 = 20;
    let mut f = Fixture::start().await;
    let (date, slot) = open_slot(&mut f, SEATS).await;
    let requests: Vec<_> = (0..ATTEMPTS)
        .map(|i| {
            let token = f
                .suite
                .token_for(&format!("citizen-{i}"), &[Role::Citizen], REGION);
            f.suite.request(booking(date, &slot), &token)
        })
        .collect();
    let calls = requests.into_iter().map(|request| {
        let mut client = f.client.clone();
        async move { client.book_appointment(request).await }
    });
    let results = futures::future::join_all(calls).await;

    let booked: HashSet<_> = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|a| a.get_ref().appointment_id.clone())
        .collect();
    assert_eq!(booked.len(), SEATS as usize, "exactly the seats, each once");
    let refused: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(refused.len(), ATTEMPTS - SEATS as usize);
    for status in refused {
        assert!(
            matches!(
                status.code(),
                Code::ResourceExhausted | Code::FailedPrecondition
            ),
            "{status:?}"
        );
        assert!(reason_of(status).is_some(), "no reason: {status:?}");
    }
    assert_eq!(
        f.count(
            "SELECT COUNT(*) FROM appointments WHERE state = $1",
            "booked"
        )
        .await,
        i64::from(SEATS),
        "no over-booking in the rows either"
    );
    let schedule = f
        .client
        .list_free_slots(f.req(pb::ListFreeSlotsRequest {
            office_id: OFFICE.into(),
            date: Some(to_proto_date(date)),
        }))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(
        (schedule.slots[0].booked, schedule.slots[0].free),
        (SEATS, 0)
    );
    assert_eq!(
        f.count(
            "SELECT COUNT(*) FROM audit_log WHERE action = $1",
            "BookAppointment"
        )
        .await,
        i64::from(SEATS),
        "one audit row per booking"
    );
    assert_eq!(
        f.count(
            "SELECT COUNT(*) FROM idempotency_keys WHERE rpc = $1",
            "BookAppointment"
        )
        .await,
        i64::from(SEATS),
        "refused attempts leave no key, so their retries run again"
    );
    auth::audit::verify(&f.suite.db("marriage").await.pool)
        .await
        .expect("audit chain intact");
}

#[tokio::test]
async fn a_retry_after_the_slot_filled_gets_the_first_answer_and_a_reused_id_is_refused() {
    let mut f = Fixture::start().await;
    let (date, slot) = open_slot(&mut f, 1).await;
    let li = f.suite.token_for("citizen-li", &[Role::Citizen], REGION);
    let wang = f.suite.token_for("citizen-wang", &[Role::Citizen], REGION);
    let first = booking(date, &slot);
    let mine = f
        .client
        .book_appointment(f.suite.request(first.clone(), &li))
        .await
        .expect("booked")
        .into_inner();
    let full = f
        .client
        .book_appointment(f.suite.request(booking(date, &slot), &wang))
        .await
        .expect_err("full");
    assert_eq!(full.code(), Code::ResourceExhausted);

    let again = f
        .client
        .book_appointment(f.suite.request(first.clone(), &li))
        .await
        .expect("a retry of a booked request is answered, full slot or not")
        .into_inner();
    assert_eq!(again, mine);

    let other_body = pb::BookAppointmentRequest {
        purpose: pb::AppointmentPurpose::DivorceApplication.into(),
        ..first.clone()
    };
    assert_refused(
        f.client
            .book_appointment(f.suite.request(other_body, &li))
            .await,
        "REQUEST_ID_REUSED",
    );
    let other_slot = "14:00-14:30";
    let request = f.req(pb::SetSlotQuotasRequest {
        request_id: rid(),
        office_id: OFFICE.into(),
        date: Some(to_proto_date(date)),
        slots: vec![pb::TimeSlot {
            slot: other_slot.into(),
            quota: 5,
            booked: 0,
            free: 0,
        }],
    });
    f.client.set_slot_quotas(request).await.expect("quota set");
    let elsewhere = pb::BookAppointmentRequest {
        slot: other_slot.into(),
        ..first
    };
    assert_refused(
        f.client
            .book_appointment(f.suite.request(elsewhere, &li))
            .await,
        "REQUEST_ID_REUSED",
    );
    assert_eq!(
        f.count(
            "SELECT COUNT(*) FROM appointments WHERE state = $1",
            "booked"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_raised_quota_reopens_a_full_slot_at_once() {
    let mut f = Fixture::start().await;
    let (date, slot) = open_slot(&mut f, 1).await;
    let li = f.suite.token_for("citizen-li", &[Role::Citizen], REGION);
    f.client
        .book_appointment(f.suite.request(booking(date, &slot), &li))
        .await
        .expect("booked");
    assert!(
        f.client
            .book_appointment(f.suite.request(booking(date, &slot), &li))
            .await
            .is_err()
    );
    open_slot(&mut f, 2).await;
    f.client
        .book_appointment(f.suite.request(booking(date, &slot), &li))
        .await
        .expect("the new seat is bookable right away");
}

/// Another replica (here: a direct change to the store) takes seats this process's gate still
/// believes free: the store's conditional update refuses what does not fit, nothing more.
#[tokio::test]
async fn seats_taken_by_another_replica_are_never_booked_twice() {
    let mut f = Fixture::start().await;
    let (date, slot) = open_slot(&mut f, 3).await;
    let li = f.suite.token_for("citizen-li", &[Role::Citizen], REGION);
    // Load the gate (3 free) with a booking, then let "another replica" take one more seat.
    f.client
        .book_appointment(f.suite.request(booking(date, &slot), &li))
        .await
        .expect("booked");
    let db = f.suite.db("marriage").await;
    sqlx::query("UPDATE slots SET booked = booked + 1")
        .execute(&db.pool)
        .await
        .expect("taken elsewhere");
    let calls = (0..3).map(|_| {
        let mut client = f.client.clone();
        let request = f.suite.request(booking(date, &slot), &li);
        async move { client.book_appointment(request).await }
    });
    let results = futures::future::join_all(calls).await;
    let booked = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(booked, 1, "only the one seat left: {results:?}");
    for status in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(reason_of(status).as_deref(), Some("MARRIAGE_SLOT_FULL"));
    }
    let schedule = f
        .client
        .list_free_slots(f.req(pb::ListFreeSlotsRequest {
            office_id: OFFICE.into(),
            date: Some(to_proto_date(date)),
        }))
        .await
        .expect("list")
        .into_inner();
    assert_eq!((schedule.slots[0].booked, schedule.slots[0].free), (3, 0));
    assert_eq!(
        f.count(
            "SELECT COUNT(*) FROM appointments WHERE state = $1",
            "booked"
        )
        .await,
        2,
        "this process booked two of the three seats"
    );
}

/// Another replica (here: a direct change to the store) frees a seat; this process's gate
/// believed the slot full and finds the seat when it re-reads, at most a second later.
#[tokio::test]
async fn a_seat_freed_by_another_replica_is_found_within_a_second() {
    let mut f = Fixture::start().await;
    let (date, slot) = open_slot(&mut f, 1).await;
    let li = f.suite.token_for("citizen-li", &[Role::Citizen], REGION);
    let mine = f
        .client
        .book_appointment(f.suite.request(booking(date, &slot), &li))
        .await
        .expect("booked")
        .into_inner();
    assert!(
        f.client
            .book_appointment(f.suite.request(booking(date, &slot), &li))
            .await
            .is_err()
    );
    let db = f.suite.db("marriage").await;
    sqlx::query("UPDATE appointments SET state = 'cancelled' WHERE appointment_id = $1")
        .bind(&mine.appointment_id)
        .execute(&db.pool)
        .await
        .expect("cancelled elsewhere");
    sqlx::query("UPDATE slots SET booked = booked - 1")
        .execute(&db.pool)
        .await
        .expect("seat freed elsewhere");
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    f.client
        .book_appointment(f.suite.request(booking(date, &slot), &li))
        .await
        .expect("the freed seat is found");
    assert_eq!(
        f.count(
            "SELECT COUNT(*) FROM appointments WHERE state = $1",
            "booked"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_retried_booking_request_id_takes_no_second_seat() {
    let mut f = Fixture::start().await;
    let (date, slot) = open_slot(&mut f, 5).await;
    let citizen = f.suite.token_for("citizen-li", &[Role::Citizen], REGION);
    let request = booking(date, &slot);
    let calls = (0..5).map(|_| {
        let mut client = f.client.clone();
        let r = f.suite.request(request.clone(), &citizen);
        async move { client.book_appointment(r).await }
    });
    let results = futures::future::join_all(calls).await;
    let ids: HashSet<_> = results
        .into_iter()
        .map(|r| r.expect("same booking").into_inner().appointment_id)
        .collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(
        f.count(
            "SELECT COUNT(*) FROM appointments WHERE booked_by = $1",
            "citizen-li"
        )
        .await,
        1
    );
    let request = f.req(pb::ListFreeSlotsRequest {
        office_id: OFFICE.into(),
        date: Some(to_proto_date(date)),
    });
    assert_eq!(
        f.client
            .list_free_slots(request)
            .await
            .expect("list")
            .into_inner()
            .slots[0]
            .free,
        4
    );
}

#[tokio::test]
async fn a_citizen_cancels_only_their_own_booking_and_the_seat_comes_back() {
    let mut f = Fixture::start().await;
    let (date, slot) = open_slot(&mut f, 1).await;
    let li = f.suite.token_for("citizen-li", &[Role::Citizen], REGION);
    let wang = f.suite.token_for("citizen-wang", &[Role::Citizen], REGION);
    let mine = f
        .client
        .book_appointment(f.suite.request(booking(date, &slot), &li))
        .await
        .expect("booked")
        .into_inner();
    let full = f
        .client
        .book_appointment(f.suite.request(booking(date, &slot), &wang))
        .await
        .expect_err("full");
    assert_eq!(reason_of(&full).as_deref(), Some("MARRIAGE_SLOT_FULL"));

    let cancel = pb::CancelAppointmentRequest {
        request_id: rid(),
        appointment_id: mine.appointment_id.clone(),
    };
    let denied = f
        .client
        .cancel_appointment(f.suite.request(cancel.clone(), &wang))
        .await
        .expect_err("not theirs");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let cancelled = f
        .client
        .cancel_appointment(f.suite.request(cancel, &li))
        .await
        .expect("cancelled")
        .into_inner();
    assert_eq!(cancelled.state(), pb::AppointmentState::Cancelled);
    let again = pb::CancelAppointmentRequest {
        request_id: rid(),
        appointment_id: mine.appointment_id,
    };
    f.client
        .cancel_appointment(f.suite.request(again, &li))
        .await
        .expect("cancelling twice frees nothing twice");
    f.client
        .book_appointment(f.suite.request(booking(date, &slot), &wang))
        .await
        .expect("seat is back");

    let shrink = f.req(pb::SetSlotQuotasRequest {
        request_id: rid(),
        office_id: OFFICE.into(),
        date: Some(to_proto_date(date)),
        slots: vec![pb::TimeSlot {
            slot: slot.clone(),
            quota: 0,
            booked: 0,
            free: 0,
        }],
    });
    assert_refused(
        f.client.set_slot_quotas(shrink).await,
        "MARRIAGE_QUOTA_BELOW_BOOKED",
    );
    let past = f
        .suite
        .request(booking(today() - time::Duration::days(1), &slot), &li);
    assert_refused(
        f.client.book_appointment(past).await,
        "MARRIAGE_SLOT_IN_PAST",
    );
    let unknown = f.suite.request(booking(date, "10:00-10:30"), &li);
    assert_refused(
        f.client.book_appointment(unknown).await,
        "MARRIAGE_SLOT_NOT_OFFERED",
    );
}
