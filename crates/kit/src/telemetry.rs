//! Telemetry: tracing subscriber (readable locally, JSON in production), OpenTelemetry spans
//! exported over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, W3C trace context extracted on
//! the server and injected on the client, and RED metrics per RPC.
//!
//! Span fields never carry identity numbers or names: handlers record ids and blind indexes.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use futures::future::BoxFuture;
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{Config, LogFormat};

/// Flushes spans on drop.
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(p) = self.provider.take() {
            let _ = p.shutdown();
        }
    }
}

static PROVIDER: std::sync::OnceLock<SdkTracerProvider> = std::sync::OnceLock::new();

/// The spans traced (and the default log level): ours and the libraries' at INFO, the chatty
/// libraries at WARN.
const SPAN_FILTER: &str =
    "info,sqlx=warn,h2=warn,tower=warn,opentelemetry=warn,opentelemetry_sdk=warn";

/// Exports every finished span now (tests, shutdown).
pub fn flush() {
    if let Some(p) = PROVIDER.get() {
        let _ = p.force_flush();
    }
}

/// Installs the global subscriber. Safe to call more than once (tests): later calls keep the
/// first subscriber. Spans are exported over OTLP/gRPC when `config.otlp_endpoint` is set
/// (`OTEL_EXPORTER_OTLP_ENDPOINT`).
pub fn init(service: &str, config: &Config) -> TelemetryGuard {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let filter =
        || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(SPAN_FILTER));
    // The log layer sees events only: spans go to OpenTelemetry, and formatting every span's
    // fields for the log layer as well cost a hot read RPC a tenth of its throughput. Log lines
    // carry what they need as fields (case_id, event_id, …).
    let events_only = || tracing_subscriber::filter::filter_fn(|meta| meta.is_event());
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let fmt_layer = match config.log_format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_filter(events_only())
            .with_filter(filter())
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .compact()
            .with_ansi(ansi)
            .with_filter(events_only())
            .with_filter(filter())
            .boxed(),
    };
    let mut builder = SdkTracerProvider::builder().with_resource(
        opentelemetry_sdk::Resource::builder()
            .with_service_name(service.to_owned())
            .build(),
    );
    // `Config::load` reads `OTEL_EXPORTER_OTLP_ENDPOINT` into `otlp_endpoint`; tests set it directly.
    if let Some(endpoint) = config.otlp_endpoint.clone().filter(|e| !e.is_empty()) {
        use opentelemetry_otlp::WithExportConfig as _;
        match opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .build()
        {
            Ok(exporter) => builder = builder.with_batch_exporter(exporter),
            Err(e) => eprintln!("OTLP exporter not started: {e}"),
        }
    }
    // A provider exists even without an exporter, so trace ids are real (audit rows, logs,
    // propagation to other services).
    let provider = builder.build();
    let tracer = provider.tracer("civil");
    opentelemetry::global::set_tracer_provider(provider.clone());
    // No per-span thread, source-location or busy/idle-time attributes: they cost allocations
    // and clock reads on every poll of every RPC, and the RPC attributes say what matters.
    // Spans follow their own filter, not RUST_LOG: an operator who quiets the logs with
    // RUST_LOG=warn must not lose trace ids, their propagation to other services, or the trace
    // id on audit rows and cases (every RPC span is INFO).
    let otel_layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_threads(false)
        .with_location(false)
        .with_tracked_inactivity(false)
        .with_filter(EnvFilter::new(SPAN_FILTER));
    let installed = tracing_subscriber::registry()
        .with(fmt_layer)
        .with(otel_layer)
        .try_init()
        .is_ok();
    if installed {
        // The provider behind the installed layer, for [`flush`].
        let _ = PROVIDER.set(provider.clone());
    }
    TelemetryGuard {
        provider: installed.then_some(provider),
    }
}

/// Adds the current span's trace context to an outgoing request.
pub fn inject<T>(request: &mut tonic::Request<T>) {
    let cx = tracing::Span::current().context();
    // tonic's metadata is an http::HeaderMap underneath; opentelemetry-http's carrier writes it.
    let mut headers = std::mem::take(request.metadata_mut()).into_headers();
    opentelemetry::global::get_text_map_propagator(|p| {
        p.inject_context(&cx, &mut HeaderInjector(&mut headers))
    });
    *request.metadata_mut() = tonic::metadata::MetadataMap::from_headers(headers);
}

/// The current span's W3C `traceparent`, for durable records (outbox events, workflow steps).
pub fn current_traceparent() -> String {
    let cx = tracing::Span::current().context();
    let mut map = HashMap::new();
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&cx, &mut map));
    map.remove("traceparent").unwrap_or_default()
}

/// The current trace id (hex), for audit rows and error logs.
pub fn current_trace_id() -> String {
    let cx = tracing::Span::current().context();
    let sc = cx.span().span_context().clone();
    if sc.is_valid() {
        sc.trace_id().to_string()
    } else {
        String::new()
    }
}

/// Makes `span` a child of a stored `traceparent` (event consumers, workflow steps resuming).
pub fn set_parent_from_traceparent(span: &tracing::Span, traceparent: &str) {
    if traceparent.is_empty() {
        return;
    }
    let mut map = HashMap::new();
    map.insert("traceparent".to_owned(), traceparent.to_owned());
    let cx = opentelemetry::global::get_text_map_propagator(|p| p.extract(&map));
    let _ = span.set_parent(cx);
}

/// The label value of every path that is not a method this process serves: a caller sending
/// random paths (authenticated or not) adds no metric series and no span names.
pub const UNKNOWN_LABEL: &str = "unknown";

/// Outermost server layer: one span per RPC, parented on the caller's trace context, and the
/// RED metrics (`civil_rpc_requests_total{service,method,code}`, `civil_rpc_duration_seconds`).
/// Labels come only from the known methods ([`ObserveLayer::serving`]); any other path is
/// labelled [`UNKNOWN_LABEL`].
#[derive(Clone, Default)]
pub struct ObserveLayer {
    known: Arc<HashSet<String>>,
}

impl ObserveLayer {
    /// Knows the methods of the gRPC services named (fully qualified, e.g.
    /// `civil.funeral.v1.FuneralService`), of health and of reflection.
    pub fn serving(services: &[&str]) -> Self {
        let mut known = HashSet::new();
        let mut add_set = |bytes: &[u8]| {
            if let Ok(set) = <prost_types::FileDescriptorSet as prost::Message>::decode(bytes) {
                for file in set.file {
                    let package = file.package.unwrap_or_default();
                    for service in file.service {
                        let full = format!("{package}.{}", service.name.unwrap_or_default());
                        if full.starts_with("grpc.health.") || services.contains(&full.as_str()) {
                            for method in service.method {
                                known
                                    .insert(format!("/{full}/{}", method.name.unwrap_or_default()));
                            }
                        }
                    }
                }
            }
        };
        add_set(contracts::FILE_DESCRIPTOR_SET);
        add_set(tonic_health::pb::FILE_DESCRIPTOR_SET);
        for reflection in [
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        ] {
            known.insert(reflection.to_owned());
        }
        Self {
            known: Arc::new(known),
        }
    }

    /// The (service, method) labels of `path`: its own when known, else [`UNKNOWN_LABEL`].
    fn labels(&self, path: &str) -> (String, String) {
        if self.known.contains(path) {
            let mut parts = path.trim_start_matches('/').splitn(2, '/');
            let service = parts.next().unwrap_or(UNKNOWN_LABEL).to_owned();
            let method = parts.next().unwrap_or(UNKNOWN_LABEL).to_owned();
            (service, method)
        } else {
            (UNKNOWN_LABEL.to_owned(), UNKNOWN_LABEL.to_owned())
        }
    }
}

impl<S> tower::Layer<S> for ObserveLayer {
    type Service = ObserveService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        ObserveService {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Clone)]
pub struct ObserveService<S> {
    inner: S,
    layer: ObserveLayer,
}

impl<S, B, RB> tower::Service<http::Request<B>> for ObserveService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<RB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let (service, method) = self.layer.labels(req.uri().path());
        let span = tracing::info_span!(
            "grpc.server",
            otel.name = %format_args!("{service}/{method}"),
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.service = %service,
            rpc.method = %method,
            rpc.grpc.status_code = tracing::field::Empty,
        );
        let parent = opentelemetry::global::get_text_map_propagator(|p| {
            p.extract(&HeaderExtractor(req.headers()))
        });
        let _ = span.set_parent(parent);
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let start = Instant::now();
        let fut = inner.call(req).instrument(span.clone());
        Box::pin(async move {
            let result = fut.await;
            // Unary errors are trailers-only responses: the code is in the headers. A missing
            // header means the call succeeded (or failed later in a stream).
            let code = match &result {
                Ok(resp) => resp
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("0")
                    .to_owned(),
                Err(_) => "14".to_owned(),
            };
            span.record("rpc.grpc.status_code", code.as_str());
            let labels = [("service", service), ("method", method), ("code", code)];
            metrics::counter!("civil_rpc_requests_total", &labels).increment(1);
            let labels = [
                ("service", labels[0].1.clone()),
                ("method", labels[1].1.clone()),
            ];
            metrics::histogram!("civil_rpc_duration_seconds", &labels)
                .record(start.elapsed().as_secs_f64());
            result
        })
    }
}

/// Starts the Prometheus scrape endpoint on `addr` (`CIVIL_METRICS_LISTEN`), with HELP text on
/// every metric the suite records and the standard process metrics (`process_cpu_seconds_total`,
/// `process_resident_memory_bytes`, `process_open_fds`, ..., from the `metrics-process` crate,
/// refreshed every few seconds).
pub fn serve_metrics(addr: &str) -> anyhow::Result<()> {
    let addr: std::net::SocketAddr = addr.parse()?;
    metrics_exporter_prometheus::PrometheusBuilder::new()
        .with_http_listener(addr)
        .set_buckets(&[
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ])?
        .install()?;
    describe();
    let collector = metrics_process::Collector::default();
    collector.describe();
    collector.collect();
    std::thread::Builder::new()
        .name("process-metrics".into())
        .spawn(move || {
            loop {
                std::thread::sleep(PROCESS_METRICS_EVERY);
                collector.collect();
            }
        })?;
    Ok(())
}

/// How often the process metrics are read (a scrape sees values at most this old).
const PROCESS_METRICS_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// HELP text of every metric the suite records (a metric without one fails
/// `promtool check metrics`). A new metric adds its line here.
pub const METRICS: &[(&str, MetricKind, &str)] = &[
    (
        "civil_rpc_requests_total",
        MetricKind::Counter,
        "RPCs answered, by gRPC service, method (unknown for a path this process does not serve) and status code.",
    ),
    (
        "civil_rpc_duration_seconds",
        MetricKind::Histogram,
        "Time to answer an RPC (to its response headers), by gRPC service and method.",
    ),
    (
        "civil_outbox_lag_seconds",
        MetricKind::Gauge,
        "Age of the oldest event in a service's outbox not yet published.",
    ),
    (
        "civil_onematter_step_duration_seconds",
        MetricKind::Histogram,
        "Time one workflow step of a one-matter case took, by workflow, step and outcome.",
    ),
    (
        "civil_onematter_step_retries_total",
        MetricKind::Counter,
        "Workflow steps retried after a failure, by workflow and step.",
    ),
    (
        "civil_onematter_stale_results_total",
        MetricKind::Counter,
        "Step results dropped because the step had been claimed again meanwhile.",
    ),
    (
        "civil_onematter_cases",
        MetricKind::Gauge,
        "One-matter cases by state.",
    ),
    (
        "civil_grievances_filed_total",
        MetricKind::Counter,
        "Assistance grievances filed, by category (objection, complaint, petition, review).",
    ),
    (
        "civil_grievances_escalated_total",
        MetricKind::Counter,
        "Overdue assistance grievances escalated to the county level.",
    ),
    (
        "civil_grievances_overdue",
        MetricKind::Gauge,
        "Unresolved assistance grievances past their deadline (counted every minute).",
    ),
    (
        "civil_assistance_monitoring_warnings",
        MetricKind::Gauge,
        "Low-income monitoring warnings (assistance): open, and of them overdue (past their visit due date).",
    ),
    (
        "civil_rate_limited_total",
        MetricKind::Counter,
        "Calls refused RESOURCE_EXHAUSTED because the caller was over its rate, by gRPC service.",
    ),
    (
        "civil_load_shed_total",
        MetricKind::Counter,
        "Calls refused UNAVAILABLE at once because the process had too many calls in progress.",
    ),
];

/// What a metric in [`METRICS`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    Counter,
    Gauge,
    Histogram,
}

fn describe() {
    for &(name, kind, help) in METRICS {
        match kind {
            MetricKind::Counter => metrics::describe_counter!(name, help),
            MetricKind::Gauge => metrics::describe_gauge!(name, help),
            MetricKind::Histogram => metrics::describe_histogram!(name, help),
        }
    }
}
