//! HTTP/JSON calls through the one tower stack: every RPC answers JSON, the same data as
//! gRPC, the same auth and audit, AIP-193 errors, and gRPC untouched beside it.

mod support;

use auth::Role;
use contracts::civil::marriage::v1 as pb;
use prost::Message as _;
use support::{Edge, REGION};

fn role_for(roles: &[String]) -> Role {
    roles
        .iter()
        .find(|r| *r != "*")
        .and_then(|r| Role::from_name(r))
        .unwrap_or(Role::Citizen)
}

#[tokio::test]
async fn every_rpc_answers_json_over_http_never_a_5xx() {
    let edge = Edge::start().await;
    let api = edge::docs::Api::civil();
    let mut failures = Vec::new();
    let mut called = 0;
    let mut refused_by_auth = Vec::new();
    for route in edge::Registry::civil().routes() {
        let token = edge.token(role_for(&api.roles(route)));
        let answer = edge.post(&route.json_path, "{}", Some(&token)).await;
        called += 1;
        let json_type = if route.streaming() {
            answer.content_type == edge::NDJSON || answer.content_type == "application/json"
        } else {
            answer.content_type == "application/json"
        };
        if answer.status >= 500 || !json_type {
            failures.push(format!(
                "{}: HTTP {} {} {}",
                route.json_path,
                answer.status,
                answer.content_type,
                String::from_utf8_lossy(&answer.body)
            ));
            continue;
        }
        if route.streaming() && answer.status == 200 {
            for line in answer.body.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                serde_json::from_slice::<serde_json::Value>(line).expect("each line is JSON");
            }
            continue;
        }
        let body = answer.json();
        if answer.reason().is_some_and(|r| r.starts_with("AUTH_")) {
            refused_by_auth.push(format!("{} {}", route.json_path, body["error"]["message"]));
        }
        if answer.status != 200
            && (body["error"]["code"] != answer.status || !body["error"]["status"].is_string())
        {
            failures.push(format!("{}: not an AIP-193 error: {body}", route.json_path));
        }
    }
    // The token carries a role the table allows: the call reaches the handler (which may still
    // refuse on the body, e.g. an amount above a clerk's limit, or the record's region).
    assert!(
        refused_by_auth.len() * 10 <= called,
        "{} of {called} refused by auth:\n{}",
        refused_by_auth.len(),
        refused_by_auth.join("\n")
    );
    eprintln!("{called} RPCs; refused by auth on the body: {refused_by_auth:?}");
    assert!(called >= 100, "only {called} RPCs");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The gRPC answer of `message`, as canonical JSON (to compare with the JSON answer).
fn as_json<M: prost::Message + prost::Name>(message: &M) -> serde_json::Value {
    let desc = edge::Registry::civil()
        .pool()
        .get_message_by_name(&M::full_name())
        .expect("descriptor");
    let dynamic = prost_reflect::DynamicMessage::decode(desc, message.encode_to_vec().as_slice())
        .expect("decodes");
    serde_json::to_value(&dynamic).expect("serialises")
}

const MARRIAGE: &str = "/v1/civil.marriage.v1.MarriageService";

#[tokio::test]
async fn an_office_made_over_json_answers_the_same_data_as_grpc_and_is_audited_as_the_caller() {
    let edge = Edge::start().await;
    let registrar = edge
        .suite
        .token_for("json-registrar", &[Role::Registrar], REGION);
    let created = edge
        .post(
            &format!("{MARRIAGE}/CreateOffice"),
            r#"{"requestId": "edge-1", "officeId": "edge-office", "displayName": "城关婚姻登记处", "region_code": "330723"}"#,
            Some(&registrar),
        )
        .await;
    assert_eq!(created.status, 200, "{:?}", created);
    let office = created.json();
    assert_eq!(office["name"], "offices/edge-office");
    assert_eq!(
        office["regionCode"], "330723",
        "lowerCamelCase out, either form in"
    );

    let quotas = edge
        .post(
            &format!("{MARRIAGE}/SetSlotQuotas"),
            r#"{"requestId": "edge-2", "officeId": "edge-office", "date": {"year": 2099, "month": 3, "day": 2}, "slots": [{"slot": "09:00-09:30", "quota": 3}]}"#,
            Some(&registrar),
        )
        .await;
    assert_eq!(quotas.status, 200, "{:?}", quotas);

    let citizen = edge.token(Role::Citizen);
    let over_json = edge
        .post(
            &format!("{MARRIAGE}/ListFreeSlots"),
            r#"{"officeId": "edge-office", "date": {"year": 2099, "month": 3, "day": 2}}"#,
            Some(&citizen),
        )
        .await;
    assert_eq!(over_json.status, 200, "{:?}", over_json);
    let mut client =
        pb::marriage_service_client::MarriageServiceClient::new(edge.suite.channel.clone());
    let over_grpc = client
        .list_free_slots(edge.suite.request(
            pb::ListFreeSlotsRequest {
                office_id: "edge-office".into(),
                date: Some(contracts::civil::common::v1::Date {
                    year: 2099,
                    month: 3,
                    day: 2,
                }),
            },
            &citizen,
        ))
        .await
        .expect("gRPC call")
        .into_inner();
    assert_eq!(over_grpc.slots.len(), 1);
    assert_eq!(over_json.json(), as_json(&over_grpc), "same data both ways");

    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let db = edge.suite.db("marriage").await;
    let records = auth::audit::list(&db.pool, 0, 100).await.expect("audit");
    let audited = records
        .iter()
        .find(|r| r.entry.action == "marriage.CreateOffice")
        .expect("the JSON write is audited");
    assert_eq!(audited.entry.actor, "json-registrar");
}

#[tokio::test]
async fn errors_are_aip193_json_with_the_grpc_details() {
    let edge = Edge::start().await;
    let registrar = edge.token(Role::Registrar);
    let path = format!("{MARRIAGE}/CreateOffice");

    // Malformed input: the handler's BadRequest, as JSON with @type.
    let bad = edge
        .post(
            &path,
            r#"{"requestId": "edge-3", "officeId": "X", "regionCode": "1"}"#,
            Some(&registrar),
        )
        .await;
    assert_eq!(bad.status, 400, "{:?}", bad);
    let body = bad.json();
    assert_eq!(body["error"]["status"], "INVALID_ARGUMENT");
    assert_eq!(body["error"]["code"], 400);
    let violations = body["error"]["details"]
        .as_array()
        .expect("details")
        .iter()
        .find(|d| d["@type"] == "type.googleapis.com/google.rpc.BadRequest")
        .expect("BadRequest detail")["fieldViolations"]
        .as_array()
        .expect("violations")
        .len();
    assert!(violations >= 2, "every violation at once: {body}");

    // No token: the auth layer answers, as JSON.
    let anonymous = edge.post(&path, "{}", None).await;
    assert_eq!(anonymous.status, 401, "{:?}", anonymous);
    assert_eq!(anonymous.json()["error"]["status"], "UNAUTHENTICATED");

    // A role the table does not allow: refused before the body is looked at.
    let citizen = edge.token(Role::Citizen);
    let denied = edge
        .post(&path, r#"{"officeId": "X"}"#, Some(&citizen))
        .await;
    assert_eq!(denied.status, 403, "{:?}", denied);
    assert_eq!(denied.reason().as_deref(), Some("AUTH_ROLE_REQUIRED"));

    // Bad JSON, an unknown field, an unknown method, a GET, a form body.
    let broken = edge.post(&path, r#"{"officeId": "#, Some(&registrar)).await;
    assert_eq!(broken.status, 400);
    assert_eq!(broken.reason().as_deref(), Some("EDGE_INVALID_JSON"));
    let unknown_field = edge
        .post(&path, r#"{"officeIdx": "a"}"#, Some(&registrar))
        .await;
    assert_eq!(unknown_field.status, 400);
    assert!(
        unknown_field.json()["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("officeIdx"),
        "{:?}",
        unknown_field
    );
    let unknown = edge
        .post(&format!("{MARRIAGE}/Marry"), "{}", Some(&registrar))
        .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.json()["error"]["status"], "NOT_FOUND");
    let get = edge
        .send(
            http::Method::GET,
            &path,
            "",
            Some(&registrar),
            "application/json",
        )
        .await;
    assert_eq!(get.status, 405);
    let form = edge
        .send(
            http::Method::POST,
            &path,
            "a=b",
            Some(&registrar),
            "application/x-www-form-urlencoded",
        )
        .await;
    assert_eq!(form.status, 415);
    assert_eq!(form.content_type, "application/json");
}

#[tokio::test]
async fn a_refusal_carries_its_reason_like_grpc() {
    let edge = Edge::start().await;
    let registrar = edge.token(Role::Registrar);
    let made = edge
        .post(
            &format!("{MARRIAGE}/CreateOffice"),
            r#"{"requestId": "edge-4", "officeId": "edge-refuse", "displayName": "x 婚姻登记处", "regionCode": "330723"}"#,
            Some(&registrar),
        )
        .await;
    assert_eq!(made.status, 200, "{:?}", made);
    // No slot is offered that day: the handler's refusal, the same over JSON as over gRPC.
    let over_json = edge
        .post(
            &format!("{MARRIAGE}/BookAppointment"),
            r#"{"requestId": "edge-5", "officeId": "edge-refuse", "date": {"year": 2099, "month": 3, "day": 2}, "slot": "09:00-09:30", "purpose": "APPOINTMENT_PURPOSE_MARRIAGE"}"#,
            Some(&registrar),
        )
        .await;
    let grpc = edge
        .suite
        .raw_call(
            "/civil.marriage.v1.MarriageService/BookAppointment",
            pb::BookAppointmentRequest {
                request_id: "edge-5b".into(),
                office_id: "edge-refuse".into(),
                date: Some(contracts::civil::common::v1::Date {
                    year: 2099,
                    month: 3,
                    day: 2,
                }),
                slot: "09:00-09:30".into(),
                purpose: pb::AppointmentPurpose::Marriage as i32,
            }
            .encode_to_vec(),
            &registrar,
        )
        .await
        .expect_err("no slot offered");
    assert_eq!(grpc.code(), tonic::Code::FailedPrecondition, "{grpc:?}");
    assert_eq!(over_json.status, 400, "{:?}", over_json);
    assert_eq!(over_json.json()["error"]["status"], "FAILED_PRECONDITION");
    assert_eq!(over_json.reason(), kit::error::reason_of(&grpc));
    assert_eq!(
        over_json.reason().as_deref(),
        Some("MARRIAGE_SLOT_NOT_OFFERED")
    );
    assert_eq!(over_json.json()["error"]["message"], grpc.message());
}

#[tokio::test]
async fn grpc_and_the_openapi_document_share_the_port() {
    let edge = Edge::start().await;
    // A gRPC call through the same address (the JSON layer passes it through untouched).
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", edge.addr))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    let status = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "civil.marriage.v1.MarriageService".into(),
        })
        .await
        .expect("health over gRPC")
        .into_inner();
    assert_eq!(status.status, 1, "SERVING");
    let registrar = edge.token(Role::Registrar);
    let mut client = pb::marriage_service_client::MarriageServiceClient::new(channel);
    let office = client
        .create_office(edge.suite.request(
            pb::CreateOfficeRequest {
                request_id: "edge-6".into(),
                office_id: "edge-grpc".into(),
                display_name: "x 婚姻登记处".into(),
                region_code: REGION.into(),
            },
            &registrar,
        ))
        .await
        .expect("gRPC through the JSON layer")
        .into_inner();
    assert_eq!(office.name, "offices/edge-grpc");

    let doc = edge
        .send(
            http::Method::GET,
            "/openapi.json",
            "",
            None,
            "application/json",
        )
        .await;
    assert_eq!(doc.status, 200);
    let doc = doc.json();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(
        doc["paths"]
            .get("/v1/civil.marriage.v1.MarriageService/CreateOffice")
            .is_some()
    );
}
