//! The national check (联网核对, 婚姻登记条例 2025 art. 4; RULES.md "Second round" §1) through
//! gRPC: the national marriage database is a real tonic server in the test ([`NationalDouble`]),
//! scripted to know some people as married elsewhere, to fail, or to hang. SQLite by default;
//! PostgreSQL + Redis when `CIVIL_TEST_PG` / `CIVIL_TEST_REDIS` are set.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use civil_id::{IdNumber, Sex};
use contracts::civil::common::v1::PersonRef;
use contracts::civil::external::v1 as ext;
use contracts::civil::marriage::v1::{self as pb, marriage_service_client::MarriageServiceClient};
use ext::national_marriage_service_server::{
    NationalMarriageService, NationalMarriageServiceServer,
};
use kit::error::reason_of;
use kit::testing::{self, Role, TestSuite};
use time::Date;
use tonic::transport::Channel;
use tonic::{Code, Request, Response, Status};
use tonic_types::StatusExt as _;

const REGION: &str = "330723";
const OFFICE: &str = "county-office";
/// The registrar's subject (maker) and the county approver's (checker).
const REGISTRAR: &str = "registrar-wang";
const APPROVER: &str = "approver-li";

// ------------------------------------------------------------------------- the double

/// How the national database behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Answer,
    /// UNAVAILABLE on every query.
    Fail,
    /// Never answers (longer than any test waits).
    Hang,
}

/// 全国婚姻登记信息系统 standing in: a real gRPC server knowing the people a test scripts.
#[derive(Clone)]
struct NationalDouble {
    known: Arc<Mutex<HashMap<String, ext::NationalMaritalStatus>>>,
    mode: Arc<Mutex<Mode>>,
    asked: Arc<Mutex<Vec<ext::QueryMaritalStatusRequest>>>,
}

impl NationalDouble {
    async fn start() -> (NationalDouble, String) {
        let double = NationalDouble {
            known: Arc::default(),
            mode: Arc::new(Mutex::new(Mode::Answer)),
            asked: Arc::default(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = NationalMarriageServiceServer::new(double.clone());
        tokio::spawn(async move {
            let incoming = tonic::transport::server::TcpIncoming::from(listener);
            let _ = tonic::transport::Server::builder()
                .add_service(server)
                .serve_with_incoming(incoming)
                .await;
        });
        (double, format!("http://{addr}"))
    }

    /// The database records `id` as married at an office of another province.
    fn married_elsewhere(&self, id: &IdNumber, since: Date) {
        let status = ext::NationalMaritalStatus {
            state: ext::NationalMaritalState::Married.into(),
            since: Some(kit::error::to_proto_date(since)),
            registering_office_region: "110105".into(),
            registering_office_name: "北京市朝阳区婚姻登记处".into(),
            certificate_number: "J110105-2024-000123".into(),
        };
        self.known
            .lock()
            .expect("lock")
            .insert(id.as_str().to_owned(), status);
    }

    fn set_mode(&self, mode: Mode) {
        *self.mode.lock().expect("lock") = mode;
    }

    fn asked(&self) -> Vec<ext::QueryMaritalStatusRequest> {
        self.asked.lock().expect("lock").clone()
    }
}

#[tonic::async_trait]
impl NationalMarriageService for NationalDouble {
    async fn query_marital_status(
        &self,
        request: Request<ext::QueryMaritalStatusRequest>,
    ) -> Result<Response<ext::NationalMaritalStatus>, Status> {
        let request = request.into_inner();
        self.asked.lock().expect("lock").push(request.clone());
        let mode = *self.mode.lock().expect("lock");
        match mode {
            Mode::Fail => return Err(Status::unavailable("national system down")),
            Mode::Hang => tokio::time::sleep(Duration::from_secs(60)).await,
            Mode::Answer => {}
        }
        let known = self.known.lock().expect("lock");
        Ok(Response::new(
            known
                .get(&request.id_number)
                .cloned()
                .unwrap_or(ext::NationalMaritalStatus {
                    state: ext::NationalMaritalState::NoRecord.into(),
                    ..Default::default()
                }),
        ))
    }

    async fn report_registration(
        &self,
        _: Request<ext::ReportRegistrationRequest>,
    ) -> Result<Response<ext::RegistrationAcknowledgement>, Status> {
        Err(Status::unimplemented("not scripted"))
    }
}

// ------------------------------------------------------------------------- the fixture

struct Fixture {
    suite: TestSuite,
    client: MarriageServiceClient<Channel>,
    national: NationalDouble,
}

impl Fixture {
    /// The registry with the national database configured (300 ms bound).
    async fn start() -> Fixture {
        let (national, url) = NationalDouble::start().await;
        let suite = testing::spawn_with(&[marriage::SERVICE], |cfg| {
            cfg.extra.insert("marriage_national_db".into(), url);
            cfg.extra
                .insert("marriage_national_timeout_ms".into(), "300".into());
        })
        .await;
        Self::with(suite, national).await
    }

    async fn with(suite: TestSuite, national: NationalDouble) -> Fixture {
        let client = MarriageServiceClient::new(suite.channel.clone());
        let mut f = Fixture {
            suite,
            client,
            national,
        };
        let request = f.registrar(pb::CreateOfficeRequest {
            request_id: rid(),
            office_id: OFFICE.into(),
            display_name: "县婚姻登记处".into(),
            region_code: REGION.into(),
        });
        f.client.create_office(request).await.expect("office");
        f
    }

    fn registrar<T>(&self, message: T) -> Request<T> {
        let token = self.suite.token_for(REGISTRAR, &[Role::Registrar], REGION);
        self.suite.request(message, &token)
    }

    fn approver<T>(&self, message: T) -> Request<T> {
        let token = self
            .suite
            .token_for(APPROVER, &[Role::CountyApprover], REGION);
        self.suite.request(message, &token)
    }

    async fn register(
        &mut self,
        request: pb::RegisterMarriageRequest,
    ) -> Result<pb::Marriage, Status> {
        let request = self.registrar(request);
        self.client
            .register_marriage(request)
            .await
            .map(Response::into_inner)
    }

    async fn status(&mut self, id: &IdNumber, roles: &[Role]) -> Result<pb::MaritalStatus, Status> {
        let token = self.suite.token(roles, REGION);
        let request = self.suite.request(
            pb::GetMaritalStatusRequest {
                id_number: id.as_str().into(),
                purpose: "test".into(),
            },
            &token,
        );
        self.client
            .get_marital_status(request)
            .await
            .map(Response::into_inner)
    }

    fn override_request(
        &self,
        man: &IdNumber,
        woman: &IdNumber,
    ) -> pb::RecordNationalCheckOverrideRequest {
        pb::RecordNationalCheckOverrideRequest {
            request_id: rid(),
            office_id: OFFICE.into(),
            party_a: Some(person(woman, "李娜")),
            party_b: Some(person(man, "张伟")),
            reason: "national system down all day; the couple leaves the country tomorrow".into(),
        }
    }
}

fn rid() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn today() -> Date {
    kit::today_cst()
}

/// A valid identity number of someone born `years` ago, registered in `region`.
fn id_in(region: &str, years: i32, sex: Sex, seq: u16) -> IdNumber {
    let t = today();
    let birth = civil_calendar::birthday_in_year(t, t.year() - years);
    let parity = match sex {
        Sex::Male => 1,
        Sex::Female => 0,
    };
    let first17 = format!(
        "{region}{:04}{:02}{:02}{:03}",
        birth.year(),
        u8::from(birth.month()),
        birth.day(),
        100 + (seq % 50) * 2 + parity
    );
    IdNumber::parse(&format!("{first17}{}", IdNumber::check_char(&first17))).expect("valid id")
}

fn couple(seq: u16) -> (IdNumber, IdNumber) {
    (
        id_in(REGION, 30, Sex::Male, seq),
        id_in(REGION, 28, Sex::Female, seq),
    )
}

fn person(id: &IdNumber, name: &str) -> PersonRef {
    PersonRef {
        id_number: id.as_str().to_owned(),
        name: name.to_owned(),
    }
}

fn party(id: &str, name: &str, document: pb::IdentityDocument) -> Option<pb::Party> {
    Some(pb::Party {
        person: Some(PersonRef {
            id_number: id.to_owned(),
            name: name.to_owned(),
        }),
        in_person: true,
        document: document.into(),
    })
}

fn marriage_request(man: &IdNumber, woman: &IdNumber) -> pb::RegisterMarriageRequest {
    let signed = Some(pb::MarriageDeclaration {
        no_spouse: true,
        not_prohibited_relatives: true,
        consents: true,
    });
    pb::RegisterMarriageRequest {
        request_id: rid(),
        office_id: OFFICE.into(),
        party_a: party(man.as_str(), "张伟", pb::IdentityDocument::Unspecified),
        party_b: party(woman.as_str(), "李娜", pb::IdentityDocument::Unspecified),
        declaration_a: signed,
        declaration_b: signed,
    }
}

fn assert_reason(status: &Status, code: Code, reason: &str) {
    assert_eq!(status.code(), code, "{status:?}");
    assert_eq!(reason_of(status).as_deref(), Some(reason), "{status:?}");
}

/// Retryable: UNAVAILABLE with its reason and a RetryInfo telling when.
fn assert_national_unavailable(status: &Status) {
    assert_reason(
        status,
        Code::Unavailable,
        "MARRIAGE_NATIONAL_CHECK_UNAVAILABLE",
    );
    let retry = status.get_details_retry_info().expect("RetryInfo");
    assert!(retry.retry_delay.is_some_and(|d| d > Duration::ZERO));
}

// ------------------------------------------------------------------------- the tests

/// Art. 1042 with the 2025 national check: a marriage registered in another province refuses
/// a local registration, and the refusal says the record is national without the other
/// office's record (no certificate number, no office name).
#[tokio::test]
async fn art_1042_a_marriage_in_the_national_database_refuses_registration() {
    let mut f = Fixture::start().await;
    let (man, woman) = couple(1);
    f.national
        .married_elsewhere(&woman, today() - time::Duration::days(400));
    let status = f
        .register(marriage_request(&man, &woman))
        .await
        .expect_err("refused");
    assert_reason(
        &status,
        Code::FailedPrecondition,
        "MARRIAGE_ALREADY_MARRIED",
    );
    let message = status.message();
    assert!(message.contains("national"), "{message}");
    assert!(message.contains("woman"), "{message}");
    assert!(message.contains("110000"), "the province only: {message}");
    assert!(
        !message.contains("J110105") && !message.contains("朝阳") && !message.contains("110105"),
        "no other office's record: {message}"
    );
    assert!(!message.contains(woman.as_str()), "{message}");
    // Both parties were asked, with the full number and the asking office.
    let asked = f.national.asked();
    assert_eq!(asked.len(), 2);
    assert!(asked.iter().all(|q| q.asking_office_id == OFFICE));
    assert!(asked.iter().any(|q| q.id_number == woman.as_str()));
}

/// 全国通办 (婚姻登记条例 2025 art. 2): a mainland resident whose 户籍 is in another province
/// registers here; the answer says the national check passed, and so does the event.
#[tokio::test]
async fn art_2_a_mainland_resident_from_another_province_registers_after_the_national_check() {
    let mut f = Fixture::start().await;
    let man = id_in("110101", 30, Sex::Male, 2);
    let woman = id_in(REGION, 28, Sex::Female, 2);
    let m = f
        .register(marriage_request(&man, &woman))
        .await
        .expect("registered");
    assert_eq!(m.national_check(), pb::NationalCheck::Passed);
    assert!(m.national_check_override_id.is_empty());
    assert_eq!(f.national.asked().len(), 2);
    // Now married here: the archive answers (the national database does not know it yet).
    let status = f.status(&woman, &[Role::Registrar]).await.expect("status");
    assert_eq!(status.state(), pb::MaritalState::Married);
    assert_eq!(status.source(), pb::StatusSource::LocalRegistry);
}

/// The national system down: refused with a retryable reason (fail closed); a county approver's
/// override for this couple today, audited, then lets the same request pass, marked overridden;
/// another couple stays refused.
#[tokio::test]
async fn national_system_down_refuses_then_the_audited_override_passes() {
    let mut f = Fixture::start().await;
    f.national.set_mode(Mode::Fail);
    let (man, woman) = couple(3);
    let request = marriage_request(&man, &woman);
    let status = f.register(request.clone()).await.expect_err("fail closed");
    assert_national_unavailable(&status);

    // Only a county approver may override; a reason is required.
    let by_registrar = f.registrar(f.override_request(&man, &woman));
    let denied = f
        .client
        .record_national_check_override(by_registrar)
        .await
        .expect_err("registrar");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let mut blank = f.override_request(&man, &woman);
    blank.reason = "  ".into();
    let blank = f
        .client
        .record_national_check_override(f.approver(blank))
        .await
        .expect_err("blank reason");
    assert_eq!(blank.code(), Code::InvalidArgument);

    let approved = f
        .client
        .record_national_check_override(f.approver(f.override_request(&man, &woman)))
        .await
        .expect("override recorded")
        .into_inner();
    assert_eq!(approved.approved_by, APPROVER);
    assert_eq!(approved.valid_on, Some(kit::error::to_proto_date(today())));

    // The same request (same request id: nothing was stored) now passes, marked.
    let m = f.register(request).await.expect("overridden");
    assert_eq!(m.national_check(), pb::NationalCheck::Overridden);
    assert_eq!(m.national_check_override_id, approved.override_id);

    // Another couple is not covered.
    let (other_man, other_woman) = couple(4);
    let status = f
        .register(marriage_request(&other_man, &other_woman))
        .await
        .expect_err("not covered");
    assert_national_unavailable(&status);

    // Audited with its approver; the registration is kept as overridden (reported upstream).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let db = f.suite.db("marriage").await;
    let records = auth::audit::list(&db.pool, 0, 100).await.expect("audit");
    let audited = records
        .iter()
        .find(|r| {
            r.entry.action == "marriage.RecordNationalCheckOverride" && r.entry.outcome == "ok"
        })
        .expect("override audited");
    assert_eq!(audited.entry.actor, APPROVER);
    assert_eq!(audited.entry.object, format!("offices/{OFFICE}"));
    let outcome: (String, Option<String>) = sqlx::query_as(
        "SELECT outcome, override_id FROM national_checks WHERE certificate_number = $1",
    )
    .bind(&m.certificate_number)
    .fetch_one(&db.pool)
    .await
    .expect("outcome kept");
    assert_eq!(outcome, ("overridden".into(), Some(approved.override_id)));
    // The event (the upstream report's source) says the registration went unchecked.
    use base64::Engine as _;
    let payload: (String,) =
        sqlx::query_as("SELECT payload FROM outbox WHERE event_type = $1 AND event_key = $2")
            .bind("civil.marriage.v1.MarriageRegistered")
            .bind(&m.certificate_number)
            .fetch_one(&db.pool)
            .await
            .expect("event");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(payload.0)
        .expect("base64");
    let event =
        <pb::MarriageRegistered as prost::Message>::decode(bytes.as_slice()).expect("event");
    assert_eq!(event.national_check(), pb::NationalCheck::Overridden);
}

/// Maker-checker: an override approved by the registrar who registers does not count.
#[tokio::test]
async fn an_override_by_the_registering_registrar_does_not_count() {
    let mut f = Fixture::start().await;
    f.national.set_mode(Mode::Fail);
    let (man, woman) = couple(5);
    let both = f.suite.token_for(
        "dual-zhao",
        &[Role::Registrar, Role::CountyApprover],
        REGION,
    );
    let request = f.suite.request(f.override_request(&man, &woman), &both);
    f.client
        .record_national_check_override(request)
        .await
        .expect("override recorded");
    let request = f.suite.request(marriage_request(&man, &woman), &both);
    let status = f
        .client
        .register_marriage(request)
        .await
        .expect_err("own override");
    assert_national_unavailable(&status);
    assert!(
        status.message().contains("registering registrar"),
        "{status:?}"
    );
    // Another registrar registers on the same override.
    let m = f
        .register(marriage_request(&man, &woman))
        .await
        .expect("another registrar");
    assert_eq!(m.national_check(), pb::NationalCheck::Overridden);
}

/// No answer within the bound is no answer: refused quickly, never passed.
#[tokio::test]
async fn a_hanging_national_system_is_refused_within_the_bound() {
    let mut f = Fixture::start().await;
    f.national.set_mode(Mode::Hang);
    let (man, woman) = couple(6);
    let started = Instant::now();
    let status = f
        .register(marriage_request(&man, &woman))
        .await
        .expect_err("fail closed");
    assert_national_unavailable(&status);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

/// Divorce registration checks online too: refused while the national system is down, passes
/// once it answers.
#[tokio::test]
async fn divorce_registration_fails_closed_while_the_national_system_is_down() {
    let mut f = Fixture::start().await;
    let (man, woman) = couple(7);
    let m = f
        .register(marriage_request(&man, &woman))
        .await
        .expect("married");
    let apply = f.registrar(pb::ApplyForDivorceRequest {
        request_id: rid(),
        office_id: OFFICE.into(),
        marriage_certificate_number: m.certificate_number.clone(),
        party_a: party(man.as_str(), "张伟", pb::IdentityDocument::Unspecified),
        party_b: party(woman.as_str(), "李娜", pb::IdentityDocument::Unspecified),
        agreement_summary: "no children".into(),
        both_of_full_civil_capacity: true,
    });
    let app = f
        .client
        .apply_for_divorce(apply)
        .await
        .expect("applied")
        .into_inner();
    f.suite.clock.advance(time::Duration::days(31));
    let divorce = pb::RegisterDivorceRequest {
        request_id: rid(),
        application_id: app.application_id.clone(),
        office_id: OFFICE.into(),
        party_a: party(man.as_str(), "张伟", pb::IdentityDocument::Unspecified),
        party_b: party(woman.as_str(), "李娜", pb::IdentityDocument::Unspecified),
    };
    f.national.set_mode(Mode::Fail);
    let status = f
        .client
        .register_divorce(f.registrar(divorce.clone()))
        .await
        .expect_err("fail closed");
    assert_national_unavailable(&status);
    f.national.set_mode(Mode::Answer);
    let done = f
        .client
        .register_divorce(f.registrar(divorce))
        .await
        .expect("registered")
        .into_inner();
    assert_eq!(done.state(), pb::DivorceApplicationState::Registered);
}

/// Status for other bureaus names its source: married in another province shows as married
/// from the national database (nothing of the other office's record); unknown to both is
/// NO_RECORD with source NONE; the national system down, a person the archive holds no
/// marriage in force of cannot be answered (retryable), one married here still can.
#[tokio::test]
async fn marital_status_names_the_national_database_as_its_source() {
    let mut f = Fixture::start().await;
    let elsewhere = id_in(REGION, 35, Sex::Male, 8);
    let since = today() - time::Duration::days(100);
    f.national.married_elsewhere(&elsewhere, since);

    let full = f
        .status(&elsewhere, &[Role::Registrar])
        .await
        .expect("status");
    assert_eq!(full.state(), pb::MaritalState::Married);
    assert_eq!(full.source(), pb::StatusSource::NationalDatabase);
    assert_eq!(full.since, Some(kit::error::to_proto_date(since)));
    assert!(full.spouse.is_none());
    assert!(full.marriage_certificate_number.is_empty() && full.office_id.is_empty());
    let minimal = f
        .status(&elsewhere, &[Role::Service])
        .await
        .expect("status");
    assert_eq!(minimal.state(), pb::MaritalState::Married);
    assert_eq!(minimal.source(), pb::StatusSource::NationalDatabase);

    let unknown = id_in(REGION, 40, Sex::Female, 9);
    let none = f
        .status(&unknown, &[Role::Registrar])
        .await
        .expect("status");
    assert_eq!(none.state(), pb::MaritalState::NoRecord);
    assert_eq!(none.source(), pb::StatusSource::None);

    let (man, woman) = couple(10);
    f.register(marriage_request(&man, &woman))
        .await
        .expect("married");
    f.national.set_mode(Mode::Fail);
    let stranger = id_in(REGION, 41, Sex::Female, 11);
    let status = f
        .status(&stranger, &[Role::Registrar])
        .await
        .expect_err("cannot say");
    assert_national_unavailable(&status);
    let married = f
        .status(&man, &[Role::Registrar])
        .await
        .expect("married here");
    assert_eq!(married.state(), pb::MaritalState::Married);
    assert_eq!(married.source(), pb::StatusSource::LocalRegistry);
}

/// 婚姻登记条例 2025 art. 2: a marriage with a Hong Kong, Macao or Taiwan resident or a
/// foreigner is the provincial department's (this office is not designated); two non-mainland
/// parties are the ministry's. Neither is sent to the national database.
#[tokio::test]
async fn art_2_non_mainland_documents_are_refused_where_only_provincial_offices_register() {
    let mut f = Fixture::start().await;
    let man = id_in(REGION, 30, Sex::Male, 12);
    let mut request = marriage_request(&man, &man);
    request.party_b = party("H12345678", "陈美玲", pb::IdentityDocument::HkMacaoTaiwan);
    let status = f.register(request).await.expect_err("not competent");
    assert_reason(
        &status,
        Code::FailedPrecondition,
        "MARRIAGE_OFFICE_NOT_COMPETENT",
    );
    assert!(status.message().contains("provincial"), "{status:?}");

    let mut request = marriage_request(&man, &man);
    request.party_a = party("E98765432", "John Smith", pb::IdentityDocument::Foreign);
    request.party_b = party("M1234567", "林美", pb::IdentityDocument::HkMacaoTaiwan);
    let status = f.register(request).await.expect_err("ministry's");
    assert_reason(
        &status,
        Code::FailedPrecondition,
        "MARRIAGE_NON_MAINLAND_PARTIES",
    );

    // A missing document number is malformed input, not a refusal.
    let mut request = marriage_request(&man, &man);
    request.party_b = party("", "陈美玲", pb::IdentityDocument::OverseasChinesePassport);
    let status = f.register(request).await.expect_err("malformed");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(f.national.asked().is_empty());
}

/// Without a national database configured (the embedded default) only the archive is
/// consulted, and the registration says so.
#[tokio::test]
async fn without_a_national_database_only_the_archive_is_consulted() {
    let (national, _) = NationalDouble::start().await;
    let suite = testing::spawn(&[marriage::SERVICE]).await;
    let mut f = Fixture::with(suite, national).await;
    let (man, woman) = couple(13);
    let m = f
        .register(marriage_request(&man, &woman))
        .await
        .expect("registered");
    assert_eq!(m.national_check(), pb::NationalCheck::LocalOnly);
    let unknown = id_in(REGION, 40, Sex::Female, 14);
    let none = f
        .status(&unknown, &[Role::Registrar])
        .await
        .expect("status");
    assert_eq!(none.state(), pb::MaritalState::NoRecord);
    assert_eq!(none.source(), pb::StatusSource::None);
}
