//! One after-death case is one trace: the funeral registration, the case started from its
//! event, every step, and every bureau's RPC the steps make, exported over OTLP/gRPC to a real
//! trace receiver started here (what Jaeger or an OpenTelemetry collector would receive).
//!
//! Alone in its file (its own process): the telemetry pipeline is installed once per process.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use auth::Role;
use common::*;
use contracts::civil::onematter::v1 as pb;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;

/// An OTLP/gRPC trace receiver keeping every span it is sent.
#[derive(Clone, Default)]
struct Receiver(Arc<Mutex<Vec<Span>>>);

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let spans = request
            .into_inner()
            .resource_spans
            .into_iter()
            .flat_map(|r| r.scope_spans)
            .flat_map(|s| s.spans);
        self.0.lock().expect("lock").extend(spans);
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

impl Receiver {
    async fn serve(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let service = TraceServiceServer::new(self.clone());
        tokio::spawn(async move {
            let _ = tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener))
                .await;
        });
        format!("http://{addr}")
    }

    fn spans(&self) -> Vec<Span> {
        self.0.lock().expect("lock").clone()
    }
}

fn attr(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
        .map(|v| match v {
            Value::StringValue(s) => s.clone(),
            Value::IntValue(i) => i.to_string(),
            Value::BoolValue(b) => b.to_string(),
            Value::DoubleValue(d) => d.to_string(),
            other => format!("{other:?}"),
        })
}

/// Every text a span carries: its name and each attribute (and event) value.
fn texts(span: &Span) -> Vec<String> {
    let mut out = vec![span.name.clone()];
    let values = span
        .attributes
        .iter()
        .chain(span.events.iter().flat_map(|e| e.attributes.iter()));
    for kv in values {
        out.push(format!("{}={:?}", kv.key, kv.value));
    }
    out.extend(span.events.iter().map(|e| e.name.clone()));
    out
}

const SERVER_RPCS: [&str; 9] = [
    "civil.funeral.v1.FuneralService/RegisterDeath",
    "civil.funeral.v1.FuneralService/GetDeathCase",
    "civil.funeral.v1.FuneralService/DecideFeeWaiver",
    "civil.assistance.v1.AssistanceService/GetRecipientStatus",
    "civil.assistance.v1.AssistanceService/TerminateForDeath",
    "civil.eldercare.v1.EldercareService/StopForDeath",
    "civil.marriage.v1.MarriageService/RecordDeath",
    "civil.socialorg.v1.SocialOrgService/ListByLegalRepresentative",
    "civil.socialorg.v1.SocialOrgService/OpenRepresentativeChangeTask",
];

const STEPS: [&str; 9] = [
    "funeral_death_case",
    "funeral_fee_waiver",
    "assistance_terminate",
    "eldercare_stop",
    "marriage_record_death",
    "socialorg_representatives",
    "household_deregistration",
    "pension_stop",
    "medical_insurance_end",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_after_death_case_is_one_connected_trace_across_every_service_without_identity_numbers()
{
    let receiver = Receiver::default();
    let endpoint = receiver.serve().await;
    let outside = Outside::start().await;
    let suite = spawn_suite(&outside, |c| c.otlp_endpoint = Some(endpoint)).await;
    let staff = Staff::of(&suite);
    let people = People::new(5);
    seed(&suite, &staff, &people).await;
    register_death(&suite, &staff, &people).await;
    let name = wait_for_cases(&suite, &staff, 1).await[0].name.clone();
    let son = suite.token_for("citizen-wang-xiaoming", &[Role::Citizen], COUNTY);
    onematter(&suite)
        .start_case(suite.request(people.start_case("family-1"), &son))
        .await
        .expect("the family joins");
    let done = settle(&suite, &son, &name).await;
    assert_eq!(done.state(), pb::CaseState::Completed, "{done:#?}");
    let case_id = case_id(&name).to_owned();

    // Export everything now, and wait until the receiver holds the whole case.
    tokio::task::spawn_blocking(kit::telemetry::flush)
        .await
        .expect("flush");
    let deadline = Instant::now() + Duration::from_secs(20);
    let spans = loop {
        let spans = receiver.spans();
        let steps_seen = spans
            .iter()
            .filter(|s| attr(s, "case_id").as_deref() == Some(case_id.as_str()))
            .filter(|s| s.name.starts_with("onematter.step"))
            .count();
        if steps_seen >= STEPS.len() {
            break spans;
        }
        assert!(
            Instant::now() < deadline,
            "the receiver got {} spans, {steps_seen} of the case's steps",
            spans.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        tokio::task::spawn_blocking(kit::telemetry::flush)
            .await
            .expect("flush");
    };

    // The trace starts at the funeral home's registration of the death.
    let roots: Vec<&Span> = spans
        .iter()
        .filter(|s| s.name == "civil.funeral.v1.FuneralService/RegisterDeath")
        .collect();
    assert_eq!(roots.len(), 1, "one death registration");
    let root = roots[0];
    assert!(
        root.parent_span_id.is_empty(),
        "the caller sent no trace context"
    );
    let trace: Vec<&Span> = spans
        .iter()
        .filter(|s| s.trace_id == root.trace_id)
        .collect();
    let ids: HashSet<&[u8]> = trace.iter().map(|s| s.span_id.as_slice()).collect();

    // Every span of the case hangs off another span of the same trace, up to the root.
    for s in &trace {
        if s.span_id == root.span_id {
            continue;
        }
        assert!(
            ids.contains(s.parent_span_id.as_slice()),
            "span {:?} (case_id {:?}) has parent {} which is not in the trace",
            s.name,
            attr(s, "case_id"),
            hex(&s.parent_span_id)
        );
    }

    // Each step is a span of the trace carrying the case, and so is every RPC the steps made.
    let by_name: HashMap<&str, Vec<&&Span>> = trace.iter().fold(HashMap::new(), |mut m, s| {
        m.entry(s.name.as_str()).or_default().push(s);
        m
    });
    for step in STEPS {
        let span_name = format!("onematter.step {step}");
        let found = by_name
            .get(span_name.as_str())
            .unwrap_or_else(|| panic!("no span {span_name} in the trace: {:?}", by_name.keys()));
        for s in found {
            assert_eq!(
                attr(s, "case_id").as_deref(),
                Some(case_id.as_str()),
                "{span_name}"
            );
            assert_eq!(attr(s, "step").as_deref(), Some(step));
        }
    }
    for rpc in SERVER_RPCS {
        let found = by_name
            .get(rpc)
            .unwrap_or_else(|| panic!("no server span {rpc} in the trace: {:?}", by_name.keys()));
        let (service, method) = rpc.split_once('/').expect("service/method");
        for s in found {
            assert_eq!(s.kind, SpanKind::Server as i32, "{rpc}");
            assert_eq!(attr(s, "rpc.system").as_deref(), Some("grpc"), "{rpc}");
            assert_eq!(attr(s, "rpc.service").as_deref(), Some(service), "{rpc}");
            assert_eq!(attr(s, "rpc.method").as_deref(), Some(method), "{rpc}");
            assert!(attr(s, "rpc.grpc.status_code").is_some(), "{rpc}");
        }
        // (A step retried after a transient error has an earlier, failed call too.)
        assert!(
            found
                .iter()
                .any(|s| attr(s, "rpc.grpc.status_code").as_deref() == Some("0")),
            "{rpc} answered OK"
        );
    }
    // The case started from funeral's event, in the same trace, and says which case it started.
    let started = by_name
        .get("onematter.death_registered")
        .expect("the event consumer's span is in the trace");
    assert!(
        started.iter().any(|s| s.events.iter().any(|e| e
            .attributes
            .iter()
            .any(|kv| kv.key == "case_id" && format!("{:?}", kv.value).contains(&case_id)))),
        "the consumer records the case it started"
    );
    // The steps' RPCs are children of the step that made them.
    let step_ids: HashSet<&[u8]> = trace
        .iter()
        .filter(|s| s.name.starts_with("onematter.step "))
        .map(|s| s.span_id.as_slice())
        .collect();
    for rpc in [
        "civil.marriage.v1.MarriageService/RecordDeath",
        "civil.eldercare.v1.EldercareService/StopForDeath",
    ] {
        for s in &by_name[rpc] {
            assert!(
                step_ids.contains(s.parent_span_id.as_slice()),
                "{rpc} under its step"
            );
        }
    }

    // No identity number in any span of the whole run, in names or attribute values.
    for s in &spans {
        for text in texts(s) {
            for number in people.id_numbers() {
                assert!(
                    !text.contains(&number),
                    "span {:?} carries an identity number: {text}",
                    s.name
                );
            }
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
