//! The OpenAPI 3.1 document.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use prost_reflect::{EnumDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value, json};

use super::reasons::CODES;
use super::reference::{first_sentence, roles_text};
use super::{Api, Comments};

impl Api<'_> {
    /// The OpenAPI 3.1 document.
    pub fn openapi(&self) -> Value {
        let mut paths = Map::new();
        let mut schemas = BTreeMap::new();
        let mut tags = Vec::new();
        for (service, routes) in self.services() {
            tags.push(json!({
                "name": service,
                "description": self.comments.get(&service),
            }));
            for route in routes {
                let input = route.method.input();
                let output = route.method.output();
                collect_schemas(&input, &self.comments, &mut schemas);
                collect_schemas(&output, &self.comments, &mut schemas);
                let roles = self.roles(route);
                let mut description = self.comments.get(route.method.full_name()).to_owned();
                let _ = write!(
                    description,
                    "\n\nRoles: {}. gRPC: `{}`.",
                    roles_text(&roles),
                    route.grpc_path
                );
                let (media, ok_description) = if route.streaming() {
                    (
                        crate::NDJSON,
                        "A stream of messages, one JSON document per line; a last line {\"error\": ...} when the stream ends with an error.",
                    )
                } else {
                    (
                        "application/json",
                        "The response message in canonical proto3 JSON.",
                    )
                };
                let op = json!({
                    "post": {
                        "operationId": format!("{}_{}", route.method.parent_service().name(), route.method.name()),
                        "tags": [service],
                        "summary": first_sentence(self.comments.get(route.method.full_name())),
                        "description": description,
                        "x-roles": roles,
                        "requestBody": {
                            "required": false,
                            "content": {"application/json": {"schema": schema_ref(&input)}},
                        },
                        "responses": {
                            "200": {
                                "description": ok_description,
                                "content": {media: {"schema": schema_ref(&output)}},
                            },
                            "default": {
                                "description": "An error (AIP-193); the HTTP code follows google.rpc.Code's mapping.",
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                            },
                        },
                    }
                });
                paths.insert(route.json_path.clone(), op);
            }
        }
        paths.insert(
            "/openapi.json".into(),
            json!({"get": {
                "operationId": "OpenApi",
                "summary": "This document.",
                "security": [],
                "responses": {"200": {"description": "The OpenAPI document.", "content": {"application/json": {"schema": {"type": "object"}}}}},
            }}),
        );
        let mut schema_map: Map<String, Value> = schemas.into_iter().collect();
        schema_map.insert("Error".into(), error_schema());
        json!({
            "openapi": "3.1.0",
            "info": {
                "title": "County civil affairs suite (civil.*) HTTP/JSON API",
                "version": "v1",
                "description": "Every RPC of the seven civil services over HTTP/JSON on the gRPC port: POST /v1/{package.Service}/{Method} with the request message in canonical proto3 JSON (lowerCamelCase or proto field names; 64-bit integers as strings; enums by name). The same handlers, authentication, authorisation and audit as gRPC. Generated from the protos by `cargo run -p edge --bin api-docs`; see docs/api/README.md.",
                "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
            },
            "servers": [{"url": "http://127.0.0.1:50051", "description": "a local `civil serve`"}],
            "security": [{"bearer": []}],
            "tags": tags,
            "paths": paths,
            "components": {
                "securitySchemes": {
                    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "An ES256 token of the county IdP (or `civil token` in development)."},
                },
                "schemas": schema_map,
            },
        })
    }
}

fn schema_ref(m: &MessageDescriptor) -> Value {
    json!({"$ref": format!("#/components/schemas/{}", m.full_name())})
}

fn wkt_schema(name: &str) -> Option<Value> {
    Some(match name {
        "google.protobuf.Timestamp" => json!({"type": "string", "format": "date-time"}),
        "google.protobuf.Duration" => {
            json!({"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?s$"})
        }
        "google.protobuf.Empty" => json!({"type": "object"}),
        "google.protobuf.FieldMask" => json!({"type": "string"}),
        "google.protobuf.Struct" => json!({"type": "object"}),
        "google.protobuf.Value" => json!({}),
        "google.protobuf.ListValue" => json!({"type": "array"}),
        "google.protobuf.Any" => {
            json!({"type": "object", "properties": {"@type": {"type": "string"}}, "required": ["@type"]})
        }
        "google.protobuf.StringValue" => json!({"type": ["string", "null"]}),
        "google.protobuf.BytesValue" => {
            json!({"type": ["string", "null"], "contentEncoding": "base64"})
        }
        "google.protobuf.BoolValue" => json!({"type": ["boolean", "null"]}),
        "google.protobuf.Int32Value" | "google.protobuf.UInt32Value" => {
            json!({"type": ["integer", "null"]})
        }
        "google.protobuf.Int64Value" | "google.protobuf.UInt64Value" => {
            json!({"type": ["string", "null"]})
        }
        "google.protobuf.FloatValue" | "google.protobuf.DoubleValue" => {
            json!({"type": ["number", "null"]})
        }
        _ => return None,
    })
}

fn kind_schema(k: &Kind, comments: &Comments, schemas: &mut BTreeMap<String, Value>) -> Value {
    match k {
        Kind::Double | Kind::Float => json!({"type": "number"}),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
            json!({"type": "integer", "format": "int32"})
        }
        Kind::Uint32 | Kind::Fixed32 => json!({"type": "integer", "format": "int32", "minimum": 0}),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => json!({"type": "string", "format": "int64"}),
        Kind::Uint64 | Kind::Fixed64 => json!({"type": "string", "format": "uint64"}),
        Kind::Bool => json!({"type": "boolean"}),
        Kind::String => json!({"type": "string"}),
        Kind::Bytes => json!({"type": "string", "contentEncoding": "base64"}),
        Kind::Enum(e) => {
            collect_enum(e, comments, schemas);
            json!({"$ref": format!("#/components/schemas/{}", e.full_name())})
        }
        Kind::Message(m) => {
            if let Some(s) = wkt_schema(m.full_name()) {
                return s;
            }
            collect_schemas(m, comments, schemas);
            schema_ref(m)
        }
    }
}

fn collect_enum(e: &EnumDescriptor, comments: &Comments, schemas: &mut BTreeMap<String, Value>) {
    if schemas.contains_key(e.full_name()) {
        return;
    }
    let values: Vec<String> = e.values().map(|v| v.name().to_owned()).collect();
    schemas.insert(
        e.full_name().to_owned(),
        json!({"type": "string", "enum": values, "description": comments.get(e.full_name())}),
    );
}

fn collect_schemas(
    m: &MessageDescriptor,
    comments: &Comments,
    schemas: &mut BTreeMap<String, Value>,
) {
    if schemas.contains_key(m.full_name()) || wkt_schema(m.full_name()).is_some() {
        return;
    }
    // Placeholder first: recursive messages stop here.
    schemas.insert(m.full_name().to_owned(), Value::Null);
    let mut properties = Map::new();
    for f in m.fields() {
        let mut schema = if f.is_map() {
            let value = match f.kind() {
                Kind::Message(entry) => {
                    kind_schema(&entry.map_entry_value_field().kind(), comments, schemas)
                }
                _ => json!({}),
            };
            json!({"type": "object", "additionalProperties": value})
        } else if f.is_list() {
            json!({"type": "array", "items": kind_schema(&f.kind(), comments, schemas)})
        } else {
            kind_schema(&f.kind(), comments, schemas)
        };
        let description = comments.get(f.full_name());
        if !description.is_empty() {
            if schema.get("$ref").is_some() {
                schema = json!({"allOf": [schema], "description": description});
            } else if let Some(o) = schema.as_object_mut() {
                o.insert("description".into(), Value::String(description.to_owned()));
            }
        }
        properties.insert(f.json_name().to_owned(), schema);
    }
    let mut schema = json!({
        "type": "object",
        "properties": properties,
    });
    let description = comments.get(m.full_name());
    if !description.is_empty()
        && let Some(o) = schema.as_object_mut()
    {
        o.insert("description".into(), Value::String(description.to_owned()));
    }
    schemas.insert(m.full_name().to_owned(), schema);
}

fn error_schema() -> Value {
    let codes: Vec<&str> = CODES.iter().copied().filter(|c| *c != "OK").collect();
    json!({
        "type": "object",
        "description": "AIP-193 error.",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "status"],
                "properties": {
                    "code": {"type": "integer", "description": "The HTTP status code (google.rpc.Code's HTTP mapping)."},
                    "message": {"type": "string", "description": "For people; branch on status and ErrorInfo.reason instead."},
                    "status": {"type": "string", "enum": codes},
                    "details": {
                        "type": "array",
                        "description": "google.rpc error details (ErrorInfo with the stable reason, BadRequest with field violations, RetryInfo, ...).",
                        "items": {
                            "type": "object",
                            "required": ["@type"],
                            "properties": {"@type": {"type": "string"}},
                            "additionalProperties": true,
                        },
                    },
                },
            },
        },
    })
}

/// The committed form of the OpenAPI document: pretty JSON with a final newline.
pub fn openapi_text(api: &Api<'_>) -> String {
    let mut text = serde_json::to_string_pretty(&api.openapi()).unwrap_or_default();
    text.push('\n');
    text
}
