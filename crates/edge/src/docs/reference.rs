//! The API reference (Markdown).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use prost_reflect::{Cardinality, FieldDescriptor, Kind, MessageDescriptor};

use super::{Api, Comments, is_wkt};

impl Api<'_> {
    /// The API reference (Markdown).
    pub fn reference(&self) -> String {
        let mut md = String::new();
        let w = &mut md;
        let _ = writeln!(w, "# civil.* API reference\n");
        let _ = writeln!(
            w,
            "Generated from the protos (`proto/civil/*/v1/*.proto`), the permission table \
             (`crates/auth/permissions.toml`) and the reasons named in the RPC comments by \
             `cargo run -p edge --bin api-docs`; do not edit by hand (a test fails when this file \
             is stale). The OpenAPI 3.1 document is [`openapi.json`](openapi.json), also served at \
             `GET /openapi.json`.\n"
        );
        let _ = writeln!(w, "## Calling\n");
        let _ = writeln!(
            w,
            "Every RPC is served on the one port over gRPC, gRPC-Web and HTTP/JSON, by the same \
             handler with the same authentication, roles, audit, metrics and traces.\n\n\
             - gRPC: `/{{package.Service}}/{{Method}}`.\n\
             - JSON: `POST /v1/{{package.Service}}/{{Method}}` (each RPC's `google.api.http` \
             binding in the proto; `proto/annotate_http.py` adds it to a new RPC), body the request message in \
             canonical proto3 JSON (field names in lowerCamelCase or as in the proto; 64-bit \
             integers as strings; enums by name; an empty body is the empty message). The answer \
             is `200` with the response message in canonical proto3 JSON (fields at their default \
             value are left out). A server-streaming RPC answers `application/x-ndjson`, one \
             message per line.\n\n\
             ```sh\n\
             curl -s -X POST -H 'content-type: application/json' \\\n  \
             -H \"authorization: Bearer $TOKEN\" \\\n  \
             -d '{{\"certificateNumber\": \"J330723-2026-000001\"}}' \\\n  \
             http://127.0.0.1:50051/v1/civil.marriage.v1.MarriageService/GetMarriage\n\
             ```\n"
        );
        let _ = writeln!(w, "## Errors\n");
        let _ = writeln!(
            w,
            "A JSON error is AIP-193: `{{\"error\": {{\"code\": <HTTP code>, \"message\": \"...\", \
             \"status\": \"FAILED_PRECONDITION\", \"details\": [{{\"@type\": \
             \"type.googleapis.com/google.rpc.ErrorInfo\", \"reason\": \"MARRIAGE_UNDERAGE\", \
             \"domain\": \"civil.county.gov.cn\"}}]}}}}`. Over gRPC the same details travel in \
             `grpc-status-details-bin`. Malformed input is INVALID_ARGUMENT with a \
             `google.rpc.BadRequest` naming every bad field; a business refusal is \
             FAILED_PRECONDITION with an `ErrorInfo` whose `reason` is stable (branch on it, not \
             on the message).\n"
        );
        let _ = writeln!(w, "| gRPC status | HTTP |\n| --- | --- |");
        for code in [
            tonic::Code::InvalidArgument,
            tonic::Code::FailedPrecondition,
            tonic::Code::OutOfRange,
            tonic::Code::Unauthenticated,
            tonic::Code::PermissionDenied,
            tonic::Code::NotFound,
            tonic::Code::AlreadyExists,
            tonic::Code::Aborted,
            tonic::Code::ResourceExhausted,
            tonic::Code::Cancelled,
            tonic::Code::Unknown,
            tonic::Code::Internal,
            tonic::Code::DataLoss,
            tonic::Code::Unimplemented,
            tonic::Code::Unavailable,
            tonic::Code::DeadlineExceeded,
        ] {
            let _ = writeln!(
                w,
                "| {} | {} |",
                crate::error::grpc_code_name(code),
                crate::error::http_status_of(code).as_u16()
            );
        }
        let _ = writeln!(w, "\n### Error reasons\n");
        let _ = writeln!(
            w,
            "Every `ErrorInfo.reason` the suite answers with. The code is FAILED_PRECONDITION \
             unless given otherwise.\n"
        );
        let _ = writeln!(
            w,
            "| reason | code | meaning | where |\n| --- | --- | --- | --- |"
        );
        for (reason, (code, meaning, at)) in self.reason_index() {
            let at = at.into_iter().collect::<Vec<_>>().join(", ");
            let _ = writeln!(
                w,
                "| `{reason}` | {code} | {} | {} |",
                cell(if meaning.is_empty() {
                    "see the RPC's description"
                } else {
                    &meaning
                }),
                cell(&at)
            );
        }
        let _ = writeln!(w, "\n## Services\n");
        let services = self.services();
        for service in services.keys() {
            let _ = writeln!(w, "- [{service}](#{})", anchor(service));
        }
        let mut types = BTreeSet::new();
        for (service, routes) in &services {
            let _ = writeln!(w, "\n## {service}\n");
            let service_comment = self.comments.get(service);
            if !service_comment.is_empty() {
                let _ = writeln!(w, "{service_comment}\n");
            }
            let package = routes
                .first()
                .map(|r| r.method.parent_service().package_name().to_owned())
                .unwrap_or_default();
            let package_comment = self.comments.get(&package);
            if !package_comment.is_empty() {
                let _ = writeln!(w, "{}\n", quote(package_comment));
            }
            for route in routes {
                let m = &route.method;
                let _ = writeln!(w, "### {}.{}\n", m.parent_service().name(), m.name());
                let _ = writeln!(
                    w,
                    "`POST {}`{} · gRPC `{}`\n",
                    route.json_path,
                    if route.streaming() {
                        " (server stream, NDJSON)"
                    } else {
                        ""
                    },
                    route.grpc_path
                );
                let _ = writeln!(w, "**Roles:** {}\n", roles_text(&self.roles(route)));
                let _ = writeln!(w, "{}\n", self.comments.get(m.full_name()));
                let reasons = self.rpc_reasons(route);
                if !reasons.is_empty() {
                    let list = reasons
                        .iter()
                        .map(|r| format!("`{}` ({})", r.reason, r.code))
                        .collect::<Vec<_>>()
                        .join(", ");
                    let _ = writeln!(w, "**Error reasons:** {list}\n");
                }
                for (label, message) in [("Request", m.input()), ("Response", m.output())] {
                    let _ = writeln!(w, "**{label}** `{}`:\n", message.full_name());
                    fields_table(w, &message, &self.comments, &mut types);
                }
            }
        }
        let _ = writeln!(w, "\n## Types\n");
        for name in &types {
            if let Some(message) = self.registry.pool().get_message_by_name(name) {
                let _ = writeln!(w, "### {name}\n");
                let c = self.comments.get(name);
                if !c.is_empty() {
                    let _ = writeln!(w, "{c}\n");
                }
                let mut more = BTreeSet::new();
                fields_table(w, &message, &self.comments, &mut more);
            } else if let Some(e) = self.registry.pool().get_enum_by_name(name) {
                let _ = writeln!(w, "### {name} (enum)\n");
                let c = self.comments.get(name);
                if !c.is_empty() {
                    let _ = writeln!(w, "{c}\n");
                }
                let _ = writeln!(w, "| value | meaning |\n| --- | --- |");
                for v in e.values() {
                    let _ = writeln!(
                        w,
                        "| `{}` | {} |",
                        v.name(),
                        cell(self.comments.get(v.full_name()))
                    );
                }
                let _ = writeln!(w);
            }
        }
        md
    }
}

/// Every message and enum a message uses, transitively (the Types section lists them all).
fn referenced(message: &MessageDescriptor, out: &mut BTreeSet<String>) {
    for f in message.fields() {
        match f.kind() {
            Kind::Message(m) if m.is_map_entry() => {
                if let Some(v) = m.map_entry_value_field().kind().as_message() {
                    if is_wkt(v.full_name()) {
                        continue;
                    }
                    if out.insert(v.full_name().to_owned()) {
                        referenced(v, out);
                    }
                }
            }
            Kind::Message(m) => {
                if is_wkt(m.full_name()) {
                    continue;
                }
                if out.insert(m.full_name().to_owned()) {
                    referenced(&m, out);
                }
            }
            Kind::Enum(e) => {
                out.insert(e.full_name().to_owned());
            }
            _ => {}
        }
    }
}

fn fields_table(
    w: &mut String,
    message: &MessageDescriptor,
    comments: &Comments,
    types: &mut BTreeSet<String>,
) {
    referenced(message, types);
    if message.fields().len() == 0 {
        let _ = writeln!(w, "(no fields)\n");
        return;
    }
    let _ = writeln!(w, "| field | type | description |\n| --- | --- | --- |");
    for f in message.fields() {
        let _ = writeln!(
            w,
            "| `{}` | {} | {} |",
            f.json_name(),
            cell(&type_text(&f)),
            cell(comments.get(f.full_name()))
        );
    }
    let _ = writeln!(w);
}

fn type_text(f: &FieldDescriptor) -> String {
    if f.is_map()
        && let Kind::Message(entry) = f.kind()
    {
        return format!(
            "map<{}, {}>",
            kind_text(&entry.map_entry_key_field().kind()),
            kind_text(&entry.map_entry_value_field().kind())
        );
    }
    let base = kind_text(&f.kind());
    if f.is_list() {
        format!("repeated {base}")
    } else if f.cardinality() == Cardinality::Optional
        && f.supports_presence()
        && f.kind().as_message().is_none()
    {
        format!("optional {base}")
    } else {
        base
    }
}

fn kind_text(k: &Kind) -> String {
    match k {
        Kind::Message(m) => format!("`{}`", m.full_name()),
        Kind::Enum(e) => format!("`{}` (enum)", e.full_name()),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => "int64 (string in JSON)".into(),
        Kind::Uint64 | Kind::Fixed64 => "uint64 (string in JSON)".into(),
        Kind::Bytes => "bytes (base64 in JSON)".into(),
        other => format!("{other:?}").to_lowercase(),
    }
}

fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

fn quote(text: &str) -> String {
    text.lines()
        .map(|l| format!("> {l}").trim_end().to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

fn anchor(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == ' ')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

pub(super) fn roles_text(roles: &[String]) -> String {
    if roles.is_empty() {
        "none (not in the permission table: denied)".into()
    } else if roles.iter().any(|r| r == "*") {
        "any authenticated caller".into()
    } else {
        roles
            .iter()
            .map(|r| format!("`{r}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

pub(super) fn first_sentence(comment: &str) -> String {
    let flat = comment.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.find(". ") {
        Some(i) => flat[..=i].to_owned(),
        None => flat,
    }
}
