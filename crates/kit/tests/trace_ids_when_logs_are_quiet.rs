//! RUST_LOG quiets the logs, never the traces: with RUST_LOG=warn an RPC's INFO span still
//! has a trace id (audit rows, cases and propagation to other services carry it).

/// The check itself, run by [`rust_log_warn_keeps_the_trace_id_of_an_info_span`] in a child
/// process whose environment holds RUST_LOG=warn (the subscriber reads it once, at start).
#[test]
fn child_checks_the_trace_id_under_its_rust_log() {
    if std::env::var("CIVIL_TRACE_CHILD").is_err() {
        return; // only meaningful in the child
    }
    let _guard = kit::telemetry::init("trace-test", &kit::config::Config::default());
    let span = tracing::info_span!("rpc", rpc.method = "GetCase");
    let _entered = span.enter();
    let trace_id = kit::telemetry::current_trace_id();
    assert_eq!(
        trace_id.len(),
        32,
        "no trace id under RUST_LOG=warn: {trace_id:?}"
    );
    assert!(kit::telemetry::current_traceparent().contains(&trace_id));
}

#[test]
fn rust_log_warn_keeps_the_trace_id_of_an_info_span() {
    let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "child_checks_the_trace_id_under_its_rust_log",
            "--nocapture",
        ])
        .env("RUST_LOG", "warn")
        .env("CIVIL_TRACE_CHILD", "1")
        .output()
        .expect("the child runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
