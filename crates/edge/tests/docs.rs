//! The committed OpenAPI document and API reference are what the generator makes now, and the
//! reference documents every error reason the code can answer with.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn the_committed_openapi_document_and_reference_are_current() {
    let api = edge::docs::Api::civil();
    let dir = root().join("docs/api");
    let openapi = std::fs::read_to_string(dir.join("openapi.json")).expect("docs/api/openapi.json");
    let reference = std::fs::read_to_string(dir.join("README.md")).expect("docs/api/README.md");
    let fix = "stale: run `cargo run -p edge --bin api-docs` and commit docs/api";
    assert!(
        openapi == edge::docs::openapi_text(&api),
        "openapi.json {fix}"
    );
    assert!(reference == api.reference(), "README.md {fix}");
    let table =
        std::fs::read_to_string(dir.join("permissions.md")).expect("docs/api/permissions.md");
    assert!(
        table == edge::docs::permission_table(),
        "permissions.md {fix}"
    );
    assert_eq!(
        edge::OPENAPI_JSON,
        openapi,
        "the served document is the committed one"
    );
}

#[test]
fn the_openapi_document_has_every_served_rpc_with_its_schemas() {
    let api = edge::docs::Api::civil();
    let doc = api.openapi();
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    for route in edge::Registry::civil().routes() {
        let op = &doc["paths"][&route.json_path]["post"];
        assert!(op.is_object(), "{} missing", route.json_path);
        for m in [route.method.input(), route.method.output()] {
            assert!(
                schemas.contains_key(m.full_name()),
                "{} missing",
                m.full_name()
            );
        }
        assert!(
            !api.roles(route).is_empty(),
            "{} has no roles in permissions.toml",
            route.grpc_path
        );
    }
    assert!(schemas.contains_key("Error"));
    let paths = doc["paths"].as_object().expect("paths");
    assert!(
        paths
            .keys()
            .all(|p| !p.contains("civil.external.") || p.contains("SignalIntakeService")),
        "not served here (but the signal intake assistance serves)"
    );
}

/// Reason-shaped string literals (see `edge::docs::is_reason`) in the code before any
/// `#[cfg(test)]`, with the first file using each.
fn reasons_in_code() -> std::collections::BTreeMap<String, String> {
    let mut found = std::collections::BTreeMap::new();
    for f in edge::docs::rust_sources(&root()) {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for (i, literal) in code.split('"').enumerate() {
            if i % 2 == 1 && edge::docs::is_reason(literal) {
                found
                    .entry(literal.to_owned())
                    .or_insert_with(|| f.display().to_string());
            }
        }
    }
    found
}

#[test]
fn every_reason_used_in_code_is_in_the_reference() {
    let reasons = reasons_in_code();
    assert!(
        reasons.len() >= 100,
        "the scan found only {}",
        reasons.len()
    );
    assert!(reasons.contains_key("MARRIAGE_UNDERAGE"));
    let reference = std::fs::read_to_string(root().join("docs/api/README.md")).expect("reference");
    let missing: Vec<_> = reasons
        .iter()
        .filter(|(r, _)| !reference.contains(&format!("| `{r}` |")))
        .map(|(r, at)| format!("{r} (used in {at})"))
        .collect();
    assert!(
        missing.is_empty(),
        "reasons missing from docs/api/README.md: name them in the RPC's proto comment (or in \
         edge::docs::OTHER_REASONS) and run `cargo run -p edge --bin api-docs`:\n{}",
        missing.join("\n")
    );
}

#[test]
fn a_reason_named_in_a_comment_is_read_with_its_code_and_meaning() {
    let none = Default::default();
    let r = edge::docs::reasons_in(
        "Refusals: RESOURCE_EXHAUSTED `MARRIAGE_SLOT_FULL` when no seat is left (a seat freed \
         elsewhere); FAILED_PRECONDITION MARRIAGE_SLOT_NOT_OFFERED (no such slot that day), \
         MARRIAGE_SLOT_IN_PAST.",
        &none,
    );
    let got: Vec<_> = r
        .iter()
        .map(|r| (r.reason.as_str(), r.code.as_str(), r.meaning.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "MARRIAGE_SLOT_FULL",
                "RESOURCE_EXHAUSTED",
                "when no seat is left (a seat freed elsewhere)"
            ),
            (
                "MARRIAGE_SLOT_NOT_OFFERED",
                "FAILED_PRECONDITION",
                "no such slot that day"
            ),
            ("MARRIAGE_SLOT_IN_PAST", "FAILED_PRECONDITION", ""),
        ]
    );
}
