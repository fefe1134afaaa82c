//! AIP-193 JSON errors: `{"error": {"code": <HTTP code>, "message", "status", "details"}}`.

use http::{Method, StatusCode};
use serde_json::{Value, json};
use tonic::Code;
use tonic::body::Body;

/// `ErrorInfo.domain` of every civil.* refusal (as `kit::error::ERROR_DOMAIN`).
pub const ERROR_DOMAIN: &str = "civil.county.gov.cn";

/// The body is not JSON, or not the JSON of the RPC's request message.
pub const EDGE_INVALID_JSON: &str = "EDGE_INVALID_JSON";
/// No RPC at this path.
pub const EDGE_UNKNOWN_METHOD: &str = "EDGE_UNKNOWN_METHOD";
/// An RPC path called with another HTTP method than POST.
pub const EDGE_METHOD_NOT_ALLOWED: &str = "EDGE_METHOD_NOT_ALLOWED";
/// A body that is not `application/json`.
pub const EDGE_UNSUPPORTED_MEDIA_TYPE: &str = "EDGE_UNSUPPORTED_MEDIA_TYPE";
/// A body over [`crate::MAX_JSON_BODY`].
pub const EDGE_BODY_TOO_LARGE: &str = "EDGE_BODY_TOO_LARGE";
/// The gRPC answer could not be read back (a defect, never the caller's fault).
pub const EDGE_BAD_GRPC_ANSWER: &str = "EDGE_BAD_GRPC_ANSWER";

/// Every reason the edge itself answers with, and its meaning (for the API reference).
pub const EDGE_REASONS: &[(&str, &str)] = &[
    (
        EDGE_INVALID_JSON,
        "INVALID_ARGUMENT (HTTP 400): the body is not JSON, or not the canonical proto3 JSON of the RPC's request message (unknown field, wrong type); the message names the problem",
    ),
    (
        EDGE_UNKNOWN_METHOD,
        "NOT_FOUND (HTTP 404): no RPC is served at this path; paths are /v1/{package.Service}/{Method}",
    ),
    (
        EDGE_METHOD_NOT_ALLOWED,
        "HTTP 405: RPC paths take POST only",
    ),
    (
        EDGE_UNSUPPORTED_MEDIA_TYPE,
        "HTTP 415: the body must be application/json",
    ),
    (
        EDGE_BODY_TOO_LARGE,
        "RESOURCE_EXHAUSTED (HTTP 413): the body is over 4 MiB",
    ),
    (
        EDGE_BAD_GRPC_ANSWER,
        "INTERNAL (HTTP 500): the service's answer could not be turned into JSON (a defect; report it with the trace id)",
    ),
];

/// An error answer.
#[derive(Clone, Debug)]
pub struct ApiError {
    pub http: StatusCode,
    pub code: Code,
    pub message: String,
    /// google.rpc error details as JSON (`@type` first).
    pub details: Vec<Value>,
}

/// HTTP status of a gRPC code, as documented on `google.rpc.Code`.
pub fn http_status_of(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::Cancelled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
            StatusCode::BAD_REQUEST
        }
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// The `google.rpc.Code` enum name of a gRPC code (`INVALID_ARGUMENT`).
pub fn grpc_code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

fn error_info(reason: &str) -> Value {
    json!({
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": reason,
        "domain": ERROR_DOMAIN,
    })
}

impl ApiError {
    /// An error of the gRPC answer (its status, message and decoded details).
    pub fn from_grpc(code: Code, message: String, details: Vec<Value>) -> Self {
        ApiError {
            http: http_status_of(code),
            code,
            message,
            details,
        }
    }

    fn edge(http: StatusCode, code: Code, reason: &str, message: String) -> Self {
        ApiError {
            http,
            code,
            message,
            details: vec![error_info(reason)],
        }
    }

    pub fn invalid_json(message: String) -> Self {
        let mut e = Self::edge(
            StatusCode::BAD_REQUEST,
            Code::InvalidArgument,
            EDGE_INVALID_JSON,
            message.clone(),
        );
        e.details.push(json!({
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": [{"field": "body", "description": message}],
        }));
        e
    }

    pub fn unknown_method(path: &str) -> Self {
        Self::edge(
            StatusCode::NOT_FOUND,
            Code::NotFound,
            EDGE_UNKNOWN_METHOD,
            format!(
                "no RPC is served at {path}; RPC paths are /v1/{{package.Service}}/{{Method}}, see /openapi.json"
            ),
        )
    }

    pub fn method_not_allowed(method: &Method) -> Self {
        Self::edge(
            StatusCode::METHOD_NOT_ALLOWED,
            Code::InvalidArgument,
            EDGE_METHOD_NOT_ALLOWED,
            format!("RPC paths take POST, not {method}"),
        )
    }

    pub fn unsupported_media_type(found: &str) -> Self {
        Self::edge(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Code::InvalidArgument,
            EDGE_UNSUPPORTED_MEDIA_TYPE,
            format!("the body must be application/json, not {found}"),
        )
    }

    pub fn body_too_large() -> Self {
        Self::edge(
            StatusCode::PAYLOAD_TOO_LARGE,
            Code::ResourceExhausted,
            EDGE_BODY_TOO_LARGE,
            format!("the body is over {} bytes", crate::MAX_JSON_BODY),
        )
    }

    pub fn bad_grpc_answer(what: &str) -> Self {
        tracing::error!(what, "gRPC answer not transcodable");
        Self::edge(
            StatusCode::INTERNAL_SERVER_ERROR,
            Code::Internal,
            EDGE_BAD_GRPC_ANSWER,
            "the answer could not be turned into JSON".into(),
        )
    }

    /// The AIP-193 JSON document.
    pub fn to_json(&self) -> Value {
        json!({
            "error": {
                "code": self.http.as_u16(),
                "message": self.message,
                "status": grpc_code_name(self.code),
                "details": self.details,
            }
        })
    }

    pub fn into_response(self) -> http::Response<Body> {
        let mut r = crate::json_response(self.http, self.to_json().to_string().into_bytes());
        if self.http == StatusCode::METHOD_NOT_ALLOWED {
            r.headers_mut()
                .insert(http::header::ALLOW, http::HeaderValue::from_static("POST"));
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn google_rpc_code_mapping_as_documented() {
        assert_eq!(http_status_of(Code::InvalidArgument).as_u16(), 400);
        assert_eq!(http_status_of(Code::FailedPrecondition).as_u16(), 400);
        assert_eq!(http_status_of(Code::Unauthenticated).as_u16(), 401);
        assert_eq!(http_status_of(Code::PermissionDenied).as_u16(), 403);
        assert_eq!(http_status_of(Code::NotFound).as_u16(), 404);
        assert_eq!(http_status_of(Code::Aborted).as_u16(), 409);
        assert_eq!(http_status_of(Code::ResourceExhausted).as_u16(), 429);
        assert_eq!(http_status_of(Code::Cancelled).as_u16(), 499);
        assert_eq!(http_status_of(Code::Unimplemented).as_u16(), 501);
        assert_eq!(http_status_of(Code::Unavailable).as_u16(), 503);
        assert_eq!(http_status_of(Code::DeadlineExceeded).as_u16(), 504);
    }
}
