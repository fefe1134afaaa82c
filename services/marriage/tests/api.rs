//! gRPC tests of the marriage service through `kit::testing`: what a registrar, a citizen or
//! another bureau would check. SQLite by default; PostgreSQL when `CIVIL_TEST_PG` is set.
//!
//! Time: the service reads today's date (CST) from the suite's clock; tests that need days to
//! pass move that clock forward (`Fixture::let_days_pass`), never the stored dates.

use std::collections::HashSet;
use std::time::Duration;

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
        ..Default::default()
    })
}

fn signed() -> Option<pb::MarriageDeclaration> {
    Some(pb::MarriageDeclaration {
        no_spouse: true,
        not_prohibited_relatives: true,
        consents: true,
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

    /// The status as a registrar of the county reads it (the full view).
    async fn status(&mut self, id: &IdNumber) -> pb::MaritalStatus {
        let request = self.req(pb::GetMaritalStatusRequest {
            id_number: id.as_str().into(),
            purpose: "test".into(),
        });
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

    /// Lets days pass on the suite's clock (every service's today) until
    /// `pick(deadlines, today)` holds for the application's deadlines, fixed at its receipt.
    fn let_days_pass(&self, app: &pb::DivorceApplication, pick: impl Fn(&Deadlines, Date) -> bool) {
        let date = |d: Option<contracts::civil::common::v1::Date>| {
            let d = d.expect("date");
            let month =
                time::Month::try_from(u8::try_from(d.month).expect("month")).expect("month");
            Date::from_calendar_date(d.year, month, u8::try_from(d.day).expect("day"))
                .expect("date")
        };
        let deadlines = Deadlines {
            received_on: date(app.received_on),
            withdrawal_deadline: date(app.withdrawal_deadline),
            issuance_deadline: date(app.issuance_deadline),
        };
        let clock = &self.suite.clock;
        let days = (1..400)
            .find(|days| pick(&deadlines, clock.today() + time::Duration::days(*days)))
            .expect("some day fits");
        clock.advance(time::Duration::days(days));
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
    assert_eq!(f.status(&man).await.state(), pb::MaritalState::NoRecord);

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

    let mut relatives = f.marriage_request(&man, &woman);
    relatives.declaration_a = Some(pb::MarriageDeclaration {
        not_prohibited_relatives: false,
        ..signed().expect("declaration")
    });
    assert_refused(
        f.client.register_marriage(f.req(relatives)).await,
        "MARRIAGE_PROHIBITED_RELATIVES",
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
        pb::MaritalState::NoRecord,
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

/// Defects #12 item 4: GetMaritalStatus keeps the region scope of GetMarriage; another
/// bureau's system (the Service role) gets the state only.
#[tokio::test]
async fn marital_status_is_scoped_to_the_registering_offices_region_like_get_marriage() {
    let mut f = Fixture::start().await;
    let (man, woman) = couple(22);
    let m = f.marry(&man, &woman).await;
    let ask = |id: &IdNumber| pb::GetMaritalStatusRequest {
        id_number: id.as_str().into(),
        purpose: "household check".into(),
    };

    // Out of region: a registrar or county approver of 512021 learns nothing, as GetMarriage.
    for role in [Role::Registrar, Role::CountyApprover] {
        let request = f.as_role(ask(&woman), &[role], "512021");
        let status = f
            .client
            .get_marital_status(request)
            .await
            .expect_err("other county");
        assert_eq!(status.code(), Code::PermissionDenied, "{role:?}");
        assert!(!status.message().contains(woman.as_str()));
    }
    let request = f.as_role(
        pb::GetMarriageRequest {
            certificate_number: m.certificate_number.clone(),
        },
        &[Role::Registrar],
        "512021",
    );
    assert_eq!(
        f.client
            .get_marriage(request)
            .await
            .expect_err("other county")
            .code(),
        Code::PermissionDenied
    );

    // In region: the full view.
    let request = f.as_role(ask(&woman), &[Role::CountyApprover], REGION);
    let full = f
        .client
        .get_marital_status(request)
        .await
        .expect("in region")
        .into_inner();
    assert_eq!(full.state(), pb::MaritalState::Married);
    assert_eq!(full.marriage_certificate_number, m.certificate_number);
    assert_eq!(full.office_id, OFFICE);
    assert_eq!(full.source(), pb::StatusSource::LocalRegistry);
    assert_eq!(
        full.spouse.as_ref().map(|p| p.id_number.as_str()),
        Some(man.as_str())
    );

    // Another bureau's system: the state only, no name, spouse, certificate or office.
    let request = f.as_role(ask(&woman), &[Role::Service], "");
    let minimal = f
        .client
        .get_marital_status(request)
        .await
        .expect("service")
        .into_inner();
    assert_eq!(minimal.state(), pb::MaritalState::Married);
    assert_eq!(minimal.source(), pb::StatusSource::LocalRegistry);
    assert!(minimal.spouse.is_none(), "{minimal:?}");
    assert!(minimal.person.is_none(), "{minimal:?}");
    assert!(minimal.marriage_certificate_number.is_empty());
    assert!(minimal.office_id.is_empty());
    let text = format!("{minimal:?}");
    assert!(!text.contains("张伟") && !text.contains("李娜"), "{text}");
}

/// #14 Marriage / #18 item 5: a person the archive knows nothing of is "no record", not
/// "unmarried", and the status says where it comes from.
#[tokio::test]
async fn marital_status_of_an_unknown_person_is_no_record_not_unmarried() {
    let mut f = Fixture::start().await;
    let (stranger, _) = couple(23);
    let status = f.status(&stranger).await;
    assert_eq!(status.state(), pb::MaritalState::NoRecord);
    assert_eq!(status.source(), pb::StatusSource::None);
    assert!(status.since.is_none() && status.marriage_certificate_number.is_empty());
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
        .find(|r| r.entry.action == "marriage.RegisterMarriage")
        .expect("registration audited");
    assert_eq!(registration.entry.actor, "registrar-wang");
    assert_eq!(registration.entry.object, m.certificate_number);
    assert!(
        records
            .iter()
            .any(|r| r.entry.action == "marriage.GetMaritalStatus"),
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
    let again = pb::ApplyForDivorceRequest {
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

    // During cooling-off the certificate is not issued.
    let request = f.register_divorce_request(&app, &man, &woman);
    assert_refused(
        f.client.register_divorce(f.req(request)).await,
        "MARRIAGE_COOLING_OFF_NOT_ELAPSED",
    );

    // Days 31-60: withdrawal is over, registration is open, at the accepting office only.
    f.let_days_pass(&app, |d, today| {
        d.withdrawal_deadline < today && today <= d.issuance_deadline
    });
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

    // A new application for a marriage that has ended is refused.
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
    f.let_days_pass(&app, |d, today| d.issuance_deadline < today);

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
    f.let_days_pass(&app, |d, today| d.issuance_deadline < today);

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
            "marriage.BookAppointment"
        )
        .await,
        i64::from(SEATS),
        "one audit row per booking"
    );
    // Booking keys live on the appointment rows (per caller), not in kit's table.
    assert_eq!(
        f.count(
            "SELECT COUNT(*) FROM appointments WHERE request_id IS NOT NULL AND state = $1",
            "booked"
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

/// Defects #12 item 3: a replayed request id is authorized like a first call, and a request id
/// is scoped to the caller who sent it: another citizen, a citizen of no standing or a
/// registrar of another county never receives the first caller's stored answer.
#[tokio::test]
async fn a_replayed_request_id_is_authorized_like_a_first_call() {
    let mut f = Fixture::start().await;
    let (date, slot) = open_slot(&mut f, 1).await;
    let li = f.suite.token_for("citizen-li", &[Role::Citizen], REGION);
    let wang = f.suite.token_for("citizen-wang", &[Role::Citizen], REGION);
    let request = booking(date, &slot);
    let mine = f
        .client
        .book_appointment(f.suite.request(request.clone(), &li))
        .await
        .expect("booked")
        .into_inner();

    // Another citizen replaying li's request id and body is a new request of his own: the slot
    // is full for him; he never gets li's appointment.
    let replay = f
        .client
        .book_appointment(f.suite.request(request.clone(), &wang))
        .await;
    match replay {
        Ok(answer) => panic!("another citizen received a stored answer: {answer:?}"),
        Err(status) => assert_eq!(
            reason_of(&status).as_deref(),
            Some("MARRIAGE_SLOT_FULL"),
            "{status:?}"
        ),
    }
    // A registrar of another county is refused before any stored answer is looked up.
    let other_county = f.as_role(request.clone(), &[Role::Registrar], "512021");
    assert_eq!(
        f.client
            .book_appointment(other_county)
            .await
            .expect_err("other county")
            .code(),
        Code::PermissionDenied
    );
    // li's own retry still gets the first answer, and no second seat was taken.
    let again = f
        .client
        .book_appointment(f.suite.request(request, &li))
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(again, mine);
    assert_eq!(
        f.count(
            "SELECT COUNT(*) FROM appointments WHERE state = $1",
            "booked"
        )
        .await,
        1
    );
    assert_eq!(
        f.count(
            "SELECT COUNT(*) FROM idempotency_keys WHERE rpc IN ($1, 'marriage.BookAppointment')",
            "BookAppointment"
        )
        .await,
        0,
        "bookings do not write kit's idempotency table"
    );

    // A registration replayed by a citizen or a registrar of another county is refused, with
    // nothing of the first answer.
    let (man, woman) = couple(24);
    let register = f.marriage_request(&man, &woman);
    f.client
        .register_marriage(f.req(register.clone()))
        .await
        .expect("registered");
    for (roles, region) in [
        (&[Role::Citizen][..], REGION),
        (&[Role::Registrar][..], "512021"),
    ] {
        let status = f
            .client
            .register_marriage(f.as_role(register.clone(), roles, region))
            .await
            .expect_err("replay refused");
        assert_eq!(status.code(), Code::PermissionDenied, "{roles:?}");
        assert!(!status.message().contains(man.as_str()));
    }
}

/// #14 Marriage: distinct refusals for distinct reasons. Prohibited kinship (art. 1048) is not
/// "declaration missing"; a declaration or agreement not handed in is INVALID_ARGUMENT on that
/// field; a marriage not in the registry is a refusal that says so, not NOT_FOUND.
#[tokio::test]
async fn distinct_refusals_for_distinct_reasons_art_1048_and_art_1076() {
    let mut f = Fixture::start().await;
    let (man, woman) = couple(25);

    let mut missing = f.marriage_request(&man, &woman);
    missing.declaration_b = None;
    let status = f
        .client
        .register_marriage(f.req(missing))
        .await
        .expect_err("missing declaration");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&status), vec!["declaration_b"]);

    let mut relatives = f.marriage_request(&man, &woman);
    relatives.declaration_b = Some(pb::MarriageDeclaration {
        not_prohibited_relatives: false,
        ..signed().expect("declaration")
    });
    assert_refused(
        f.client.register_marriage(f.req(relatives)).await,
        "MARRIAGE_PROHIBITED_RELATIVES",
    );

    let m = f.marry(&man, &woman).await;
    let mut no_agreement = pb::ApplyForDivorceRequest {
        request_id: rid(),
        office_id: OFFICE.into(),
        marriage_certificate_number: m.certificate_number.clone(),
        party_a: party(&man, "张伟"),
        party_b: party(&woman, "李娜"),
        agreement_summary: "  ".into(),
        both_of_full_civil_capacity: true,
    };
    let status = f
        .client
        .apply_for_divorce(f.req(no_agreement.clone()))
        .await
        .expect_err("missing agreement");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&status), vec!["agreement_summary"]);

    // A marriage registered elsewhere (or a mistyped number): not in this registry.
    no_agreement.agreement_summary = "no children".into();
    no_agreement.marriage_certificate_number = format!("J330723-{}-999999", today().year());
    assert_refused(
        f.client.apply_for_divorce(f.req(no_agreement)).await,
        "MARRIAGE_NOT_IN_REGISTRY",
    );
    let reissue = pb::ReissueCertificateRequest {
        request_id: rid(),
        office_id: OFFICE.into(),
        certificate_number: format!("J330723-{}-999999", today().year()),
        party: party(&woman, "李娜"),
    };
    assert_refused(
        f.client.reissue_certificate(f.req(reissue)).await,
        "MARRIAGE_NOT_IN_REGISTRY",
    );
}

/// Defects #12 item 9: free text is bounded; a 200-character personal name with control
/// characters is refused, as is an over-long agreement, each on its own field.
#[tokio::test]
async fn over_long_or_control_character_text_is_invalid_argument() {
    let mut f = Fixture::start().await;
    let (man, woman) = couple(26);
    let mut request = f.marriage_request(&man, &woman);
    request
        .party_a
        .as_mut()
        .and_then(|p| p.person.as_mut())
        .expect("a")
        .name = format!("张{}\u{0}\n", "伟".repeat(197));
    let status = f
        .client
        .register_marriage(f.req(request))
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&status),
        vec!["party_a.person.name", "party_a.person.name"],
        "too long and a control character"
    );
    assert_eq!(
        f.count("SELECT COUNT(*) FROM persons WHERE id_index <> $1", "")
            .await,
        0,
        "nothing stored"
    );

    let m = f.marry(&man, &woman).await;
    let request = pb::ApplyForDivorceRequest {
        request_id: rid(),
        office_id: OFFICE.into(),
        marriage_certificate_number: m.certificate_number.clone(),
        party_a: party(&man, "张伟"),
        party_b: party(&woman, "李娜"),
        agreement_summary: "财".repeat(2_001),
        both_of_full_civil_capacity: true,
    };
    let status = f
        .client
        .apply_for_divorce(f.req(request))
        .await
        .expect_err("refused");
    assert_eq!(violated_fields(&status), vec!["agreement_summary"]);
}

/// #14 Marriage, art. 1077: an application deemed withdrawn records the day it was deemed
/// withdrawn (the day after the issuance deadline, RULES.md "Conventions"), not the day a
/// sweep or read noticed it after downtime.
#[tokio::test]
async fn an_expired_application_records_the_day_it_was_deemed_withdrawn_art_1077() {
    let mut f = Fixture::start().await;
    let (man, woman) = couple(27);
    let m = f.marry(&man, &woman).await;
    let app = f.apply(&m, &man, &woman).await;
    // Down for a while: the deadline passed at least five days ago.
    f.let_days_pass(&app, |d, today| {
        d.issuance_deadline < today - time::Duration::days(5)
    });
    let read = f
        .client
        .get_divorce_application(f.req(pb::GetDivorceApplicationRequest {
            application_id: app.application_id.clone(),
        }))
        .await
        .expect("read")
        .into_inner();
    assert_eq!(read.state(), pb::DivorceApplicationState::Expired);
    let deadline = read.issuance_deadline.expect("deadline");
    let deadline = Date::from_calendar_date(
        deadline.year,
        time::Month::try_from(deadline.month as u8).expect("month"),
        deadline.day as u8,
    )
    .expect("date");
    let closed = read.closed_on.expect("closed on");
    assert_eq!(closed, to_proto_date(deadline + time::Duration::days(1)));
    let noticed = f.suite.clock.today();
    assert_ne!(closed, to_proto_date(noticed));
    let (_, event) = f
        .event::<pb::DivorceApplicationExpired>("civil.marriage.v1.DivorceApplicationExpired")
        .await;
    assert_eq!(event.deemed_withdrawn_on, Some(closed));
    assert_eq!(event.recorded_on, Some(to_proto_date(noticed)));
}

/// #14 Marriage: a re-issued certificate's remark links it to the original certificate number
/// (婚姻登记工作规范: the archive keeps the original, annotated).
#[tokio::test]
async fn a_reissued_certificates_remark_names_the_original_certificate() {
    let mut f = Fixture::start().await;
    let (man, woman) = couple(28);
    let m = f.marry(&man, &woman).await;
    let r = f
        .client
        .reissue_certificate(f.req(pb::ReissueCertificateRequest {
            request_id: rid(),
            office_id: OFFICE.into(),
            certificate_number: m.certificate_number.clone(),
            party: party(&woman, "李娜"),
        }))
        .await
        .expect("reissued")
        .into_inner();
    let read = f
        .client
        .get_marriage(f.req(pb::GetMarriageRequest {
            certificate_number: m.certificate_number.clone(),
        }))
        .await
        .expect("read")
        .into_inner();
    for remarks in [&r.marriage.expect("marriage").remarks, &read.remarks] {
        assert!(
            remarks
                .iter()
                .any(|remark| remark.contains(&r.reissued_certificate_number)
                    && remark.contains(&m.certificate_number)),
            "{remarks:?}"
        );
    }
}

/// #14 Marriage: every refusal at the desk is recorded with its reason, the parties (blind
/// index) and the registrar, and the office lists them, paged per AIP-158 (#12 item 9).
#[tokio::test]
async fn every_desk_refusal_is_recorded_with_reason_parties_and_registrar_and_listed_by_office() {
    let suite = testing::spawn(&[marriage::SERVICE]).await;
    let registrar = suite.token_for("registrar-wu", &[Role::Registrar], REGION);
    let mut f = Fixture::with_suite(suite).await;
    f.registrar = registrar;
    let sealer = kit::pii::Sealer::from_config(&f.suite.config).expect("suite key");
    let (man, woman) = couple(29);

    let young = id_number_seq(born_years_ago(22, -1), Sex::Male, 30);
    let underage = f.marriage_request(&young, &woman);
    for _ in 0..2 {
        // A retry of the same request records the refusal once.
        assert_refused(
            f.client.register_marriage(f.req(underage.clone())).await,
            "MARRIAGE_UNDERAGE",
        );
    }
    let mut relatives = f.marriage_request(&man, &woman);
    relatives.declaration_a = Some(pb::MarriageDeclaration {
        not_prohibited_relatives: false,
        ..signed().expect("declaration")
    });
    assert_refused(
        f.client.register_marriage(f.req(relatives)).await,
        "MARRIAGE_PROHIBITED_RELATIVES",
    );
    let m = f.marry(&man, &woman).await;
    let stranger = id_number_seq(born_years_ago(40, 0), Sex::Female, 31);
    assert_refused(
        f.client
            .reissue_certificate(f.req(pb::ReissueCertificateRequest {
                request_id: rid(),
                office_id: OFFICE.into(),
                certificate_number: m.certificate_number.clone(),
                party: party(&stranger, "王芳"),
            }))
            .await,
        "MARRIAGE_PARTIES_MISMATCH",
    );

    let list = |page_size: i32, page_token: String| pb::ListRefusalsRequest {
        office_id: OFFICE.into(),
        page_size,
        page_token,
    };
    let all = f
        .client
        .list_refusals(f.req(list(0, String::new())))
        .await
        .expect("listed")
        .into_inner();
    let reasons: Vec<_> = all.refusals.iter().map(|r| r.reason.as_str()).collect();
    assert_eq!(
        reasons,
        vec![
            "MARRIAGE_UNDERAGE",
            "MARRIAGE_PROHIBITED_RELATIVES",
            "MARRIAGE_PARTIES_MISMATCH"
        ]
    );
    let first = &all.refusals[0];
    assert_eq!(first.rpc, "RegisterMarriage");
    assert_eq!(first.registrar, "registrar-wu");
    assert_eq!(first.party_a_index, sealer.index(&young));
    assert_eq!(first.party_b_index, sealer.index(&woman));
    assert_eq!(first.refused_on, Some(to_proto_date(today())));
    assert_eq!(all.refusals[2].party_a_index, sealer.index(&stranger));
    assert!(all.next_page_token.is_empty());
    let text = format!("{all:?}");
    assert!(!text.contains(young.as_str()) && !text.contains(woman.as_str()));

    // Paging: one at a time; a token is bound to its office; sizes per AIP-158.
    let page = f
        .client
        .list_refusals(f.req(list(1, String::new())))
        .await
        .expect("page 1")
        .into_inner();
    assert_eq!(page.refusals.len(), 1);
    let page2 = f
        .client
        .list_refusals(f.req(list(100_000, page.next_page_token.clone())))
        .await
        .expect("page 2, size capped")
        .into_inner();
    assert_eq!(page2.refusals.len(), 2);
    assert!(page2.next_page_token.is_empty());
    f.create_office("other-office", REGION).await;
    let mut other_office = list(1, page.next_page_token.clone());
    other_office.office_id = "other-office".into();
    let status = f
        .client
        .list_refusals(f.req(other_office))
        .await
        .expect_err("token of another request");
    assert_eq!(violated_fields(&status), vec!["page_token"]);
    for (size, token) in [(-1, String::new()), (1, "garbage".to_owned())] {
        let status = f
            .client
            .list_refusals(f.req(list(size, token)))
            .await
            .expect_err("invalid");
        assert_eq!(status.code(), Code::InvalidArgument);
    }
    let request = f.as_role(list(0, String::new()), &[Role::Registrar], "512021");
    assert_eq!(
        f.client
            .list_refusals(request)
            .await
            .expect_err("other county")
            .code(),
        Code::PermissionDenied
    );
}

/// #14 Marriage, art. 1046: the registration records each party's consent (the declaration
/// each signed is kept with the record); a party who does not declare free will is refused.
#[tokio::test]
async fn the_registration_records_each_partys_consent_art_1046() {
    let mut f = Fixture::start().await;
    let (man, woman) = couple(32);
    let mut unwilling = f.marriage_request(&man, &woman);
    unwilling.declaration_b = Some(pb::MarriageDeclaration {
        consents: false,
        ..signed().expect("declaration")
    });
    assert_refused(
        f.client.register_marriage(f.req(unwilling)).await,
        "MARRIAGE_NO_CONSENT",
    );
    let m = f.marry(&man, &woman).await;
    let read = f
        .client
        .get_marriage(f.req(pb::GetMarriageRequest {
            certificate_number: m.certificate_number.clone(),
        }))
        .await
        .expect("read")
        .into_inner();
    for party in [&read.party_a, &read.party_b, &m.party_a, &m.party_b] {
        let declaration = party
            .as_ref()
            .and_then(|p| p.declaration)
            .expect("declaration recorded");
        assert!(declaration.consents, "{declaration:?}");
        assert_eq!(declaration, signed().expect("declaration"));
    }
}
