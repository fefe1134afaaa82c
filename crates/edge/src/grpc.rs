//! JSON request -> gRPC request, gRPC answer -> JSON answer.

use std::convert::Infallible;

use base64::Engine as _;
use bytes::{Buf as _, Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, Uri, Version, header};
use http_body::Frame;
use http_body_util::BodyExt as _;
use prost::Message as _;
use prost_reflect::{DynamicMessage, MessageDescriptor};
use serde_json::Value;
use tonic::Code;
use tonic::body::Body;

use crate::error::ApiError;
use crate::registry::{Registry, Route};
use crate::{BoxError, MAX_JSON_BODY, NDJSON};

/// Headers of the JSON request that do not carry over to the gRPC request: hop-by-hop ones,
/// the body's own framing and encodings (the gRPC body is new), and gRPC's own.
const DROPPED: &[&str] = &[
    "host",
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "te",
    "content-type",
    "content-length",
    "content-encoding",
    "accept-encoding",
    "grpc-encoding",
    "grpc-accept-encoding",
];

/// Reads the JSON body and builds the gRPC request of `route` (caller's headers and request
/// extensions kept).
pub async fn prepare(route: &Route, request: Request<Body>) -> Result<Request<Body>, ApiError> {
    let (mut parts, body) = request.into_parts();
    if let Some(ct) = parts.headers.get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or("?");
        let essence = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if essence != "application/json" && !essence.ends_with("+json") {
            return Err(ApiError::unsupported_media_type(ct));
        }
    }
    let bytes = match http_body_util::Limited::new(body, MAX_JSON_BODY)
        .collect()
        .await
    {
        Ok(c) => c.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(ApiError::body_too_large());
        }
        Err(e) => {
            return Err(ApiError::invalid_json(format!(
                "the body could not be read: {e}"
            )));
        }
    };
    let input = route.method.input();
    let message = parse_json(&input, &bytes)?;
    let mut framed = BytesMut::with_capacity(5 + message.encoded_len());
    framed.extend_from_slice(&[0]);
    framed.extend_from_slice(
        &u32::try_from(message.encoded_len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    message
        .encode(&mut framed)
        .map_err(|_| ApiError::bad_grpc_answer("request encoding"))?;

    let mut uri = Uri::builder().path_and_query(route.grpc_path.as_str());
    if let Some(s) = parts.uri.scheme() {
        uri = uri.scheme(s.clone());
    }
    if let Some(a) = parts.uri.authority() {
        uri = uri.authority(a.clone());
    }
    parts.uri = uri
        .build()
        .map_err(|_| ApiError::bad_grpc_answer("request uri"))?;
    parts.version = Version::HTTP_2;
    for h in DROPPED {
        parts.headers.remove(*h);
    }
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    parts
        .headers
        .insert(header::TE, HeaderValue::from_static("trailers"));
    let body =
        Body::new(http_body_util::Full::new(framed.freeze()).map_err(|e: Infallible| match e {}));
    Ok(Request::from_parts(parts, body))
}

/// Canonical proto3 JSON (either field-name form; an empty body is the empty message).
fn parse_json(input: &MessageDescriptor, bytes: &[u8]) -> Result<DynamicMessage, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(DynamicMessage::new(input.clone()));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let message = DynamicMessage::deserialize(input.clone(), &mut de)
        .and_then(|m| de.end().map(|()| m))
        .map_err(|e| {
            ApiError::invalid_json(format!(
                "the body is not a valid JSON {}: {e}",
                input.full_name()
            ))
        })?;
    Ok(message)
}

/// The JSON answer of a gRPC answer.
pub async fn answer<B>(route: &Route, response: Response<B>) -> Response<Body>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let registry = Registry::civil();
    let (parts, body) = response.into_parts();
    if parts.status != StatusCode::OK {
        return ApiError::from_grpc(
            http_to_grpc(parts.status),
            format!("HTTP {}", parts.status),
            vec![],
        )
        .into_response();
    }
    // Trailers-only answer: the status is in the headers.
    if let Some(error) = status_error(registry, &parts.headers) {
        return error.into_response();
    }
    let output = route.method.output();
    if route.streaming() {
        return stream(output, parts.headers, body);
    }
    let collected = match body.collect().await {
        Ok(c) => c,
        Err(_) => {
            return ApiError::from_grpc(Code::Unavailable, "the answer was cut off".into(), vec![])
                .into_response();
        }
    };
    let trailers = collected.trailers().cloned().unwrap_or_default();
    if let Some(error) = status_error(registry, &trailers) {
        return error.into_response();
    }
    if trailers.get("grpc-status").is_none() {
        return ApiError::from_grpc(Code::Unknown, "the answer carried no status".into(), vec![])
            .into_response();
    }
    let mut data = collected.to_bytes();
    let json = match next_frame(&mut data) {
        Some(Ok(frame)) => match to_json_line(&output, frame) {
            Ok(json) => json,
            Err(e) => return e.into_response(),
        },
        Some(Err(e)) => return e.into_response(),
        None => return ApiError::bad_grpc_answer("no message in an OK answer").into_response(),
    };
    let mut r = crate::json_response(StatusCode::OK, json);
    copy_metadata(&parts.headers, r.headers_mut());
    r
}

/// Response metadata a caller may want (e.g. a request id), without gRPC's own headers.
fn copy_metadata(from: &HeaderMap, to: &mut HeaderMap) {
    for (name, value) in from {
        let n = name.as_str();
        if n.starts_with("grpc-") || n == "content-type" || n == "content-length" || n == "te" {
            continue;
        }
        to.append(name.clone(), value.clone());
    }
}

/// The gRPC status of these headers or trailers when it is not OK.
fn status_error(registry: &Registry, headers: &HeaderMap) -> Option<ApiError> {
    let status = headers.get("grpc-status")?;
    let code = status
        .to_str()
        .ok()
        .and_then(|s| s.parse::<i32>().ok())
        .map(Code::from)
        .unwrap_or(Code::Unknown);
    if code == Code::Ok {
        return None;
    }
    let message = headers
        .get("grpc-message")
        .map(|m| {
            percent_encoding::percent_decode(m.as_bytes())
                .decode_utf8_lossy()
                .into_owned()
        })
        .unwrap_or_default();
    let details = headers
        .get("grpc-status-details-bin")
        .and_then(|v| details_json(registry, v.as_bytes()))
        .unwrap_or_default();
    Some(ApiError::from_grpc(code, message, details))
}

/// `grpc-status-details-bin` (a base64 `google.rpc.Status`) -> its details as JSON.
fn details_json(registry: &Registry, value: &[u8]) -> Option<Vec<Value>> {
    const LENIENT: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let raw = LENIENT.decode(value).ok()?;
    let status = DynamicMessage::decode(registry.status_descriptor()?, raw.as_slice()).ok()?;
    let json = serde_json::to_value(&status).ok()?;
    match json.get("details") {
        Some(Value::Array(details)) => Some(details.clone()),
        _ => Some(Vec::new()),
    }
}

/// The next complete gRPC message frame of `buf`, removed from it.
fn next_frame(buf: &mut Bytes) -> Option<Result<Bytes, ApiError>> {
    if buf.len() < 5 {
        return None;
    }
    if buf[0] != 0 {
        return Some(Err(ApiError::bad_grpc_answer("compressed message")));
    }
    let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
    if buf.len() < 5 + len {
        return None;
    }
    buf.advance(5);
    Some(Ok(buf.split_to(len)))
}

fn to_json_line(output: &MessageDescriptor, frame: Bytes) -> Result<Vec<u8>, ApiError> {
    let message = DynamicMessage::decode(output.clone(), frame)
        .map_err(|_| ApiError::bad_grpc_answer("undecodable message"))?;
    serde_json::to_vec(&message).map_err(|_| ApiError::bad_grpc_answer("unserialisable message"))
}

/// The HTTP -> gRPC code mapping of the gRPC spec, for an answer that is not gRPC at all.
fn http_to_grpc(status: StatusCode) -> Code {
    match status.as_u16() {
        400 => Code::Internal,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::Unimplemented,
        429 | 502 | 503 | 504 => Code::Unavailable,
        _ => Code::Unknown,
    }
}

struct StreamState<B> {
    body: std::pin::Pin<Box<B>>,
    buf: Bytes,
    pending: BytesMut,
    done: bool,
    output: MessageDescriptor,
}

/// A server stream as newline-delimited JSON: one message per line, then an `{"error": ..}`
/// line when the stream ends with a non-OK status.
fn stream<B>(output: MessageDescriptor, headers: HeaderMap, body: B) -> Response<Body>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let state = StreamState {
        body: Box::pin(body),
        buf: Bytes::new(),
        pending: BytesMut::new(),
        done: false,
        output,
    };
    let lines = futures::stream::unfold(state, |mut s| async move {
        loop {
            if s.done {
                return None;
            }
            if let Some(frame) = next_frame(&mut s.buf) {
                let mut line = match frame.and_then(|f| to_json_line(&s.output, f)) {
                    Ok(line) => line,
                    Err(e) => {
                        s.done = true;
                        e.to_json().to_string().into_bytes()
                    }
                };
                line.push(b'\n');
                return Some((Ok::<_, Infallible>(Frame::data(Bytes::from(line))), s));
            }
            match s.body.frame().await {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => {
                        s.pending.extend_from_slice(&s.buf);
                        s.pending.extend_from_slice(&data);
                        s.buf = s.pending.split().freeze();
                    }
                    Err(frame) => {
                        s.done = true;
                        let trailers = frame.into_trailers().unwrap_or_default();
                        if let Some(e) = status_error(Registry::civil(), &trailers) {
                            let mut line = e.to_json().to_string().into_bytes();
                            line.push(b'\n');
                            return Some((Ok(Frame::data(Bytes::from(line))), s));
                        }
                    }
                },
                Some(Err(_)) | None => {
                    s.done = true;
                    let e = ApiError::from_grpc(
                        Code::Unavailable,
                        "the stream ended without a status".into(),
                        vec![],
                    );
                    let mut line = e.to_json().to_string().into_bytes();
                    line.push(b'\n');
                    return Some((Ok(Frame::data(Bytes::from(line))), s));
                }
            }
        }
    });
    let mut r = Response::new(Body::new(http_body_util::StreamBody::new(lines)));
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(NDJSON));
    copy_metadata(&headers, r.headers_mut());
    r
}

#[cfg(test)]
mod tests;
