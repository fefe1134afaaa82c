use super::*;

#[test]
fn frames_split_at_their_length_prefix() {
    let mut buf = Bytes::from_static(&[0, 0, 0, 0, 2, 8, 1, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(
        next_frame(&mut buf).and_then(Result::ok).as_deref(),
        Some(&[8u8, 1][..])
    );
    assert_eq!(
        next_frame(&mut buf).and_then(Result::ok).as_deref(),
        Some(&[][..])
    );
    assert!(next_frame(&mut buf).is_none(), "4 bytes left: no frame yet");
}

#[test]
fn lower_camel_and_proto_names_both_parse_and_unknown_fields_are_refused() {
    let r = Registry::civil();
    let route = r
        .route(
            &http::Method::POST,
            "/v1/civil.marriage.v1.MarriageService/GetMarriage",
        )
        .expect("route");
    let input = route.method.input();
    let field = input.fields().next().expect("a field");
    for name in [field.json_name(), field.name()] {
        let body = format!("{{\"{name}\": \"J330723-2026-000001\"}}");
        parse_json(&input, body.as_bytes()).expect("either name parses");
    }
    let e = parse_json(&input, b"{\"noSuchField\": 1}").expect_err("unknown field");
    assert_eq!(e.http, StatusCode::BAD_REQUEST);
    assert!(e.message.contains("noSuchField"), "{}", e.message);
    let e = parse_json(&input, b"{\"a\":").expect_err("truncated");
    assert_eq!(e.code, Code::InvalidArgument);
}

fn grpc_body(frames: Vec<Bytes>, status: &str, message: &str) -> Body {
    let mut trailers = HeaderMap::new();
    trailers.insert("grpc-status", HeaderValue::from_str(status).expect("ascii"));
    if !message.is_empty() {
        trailers.insert(
            "grpc-message",
            HeaderValue::from_str(message).expect("ascii"),
        );
    }
    let mut parts: Vec<Result<Frame<Bytes>, Infallible>> =
        frames.into_iter().map(|f| Ok(Frame::data(f))).collect();
    parts.push(Ok(Frame::trailers(trailers)));
    Body::new(http_body_util::StreamBody::new(futures::stream::iter(
        parts,
    )))
}

fn ndjson_lines(route: &Route, body: Body) -> (String, Vec<Value>) {
    futures::executor::block_on(async {
        let answer = super::answer(route, Response::new(body)).await;
        let ct = answer.headers()[header::CONTENT_TYPE]
            .to_str()
            .expect("ct")
            .to_owned();
        let bytes = answer.into_body().collect().await.expect("body").to_bytes();
        let lines = bytes
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).expect("each line is JSON"))
            .collect();
        (ct, lines)
    })
}

#[test]
fn a_server_stream_is_one_json_line_per_message_then_its_error() {
    let r = Registry::civil();
    let route = r
        .route(
            &http::Method::POST,
            "/v1/civil.onematter.v1.OneMatterService/WatchCase",
        )
        .expect("route");
    let output = route.method.output();
    let field = output
        .fields()
        .find(|f| f.kind() == prost_reflect::Kind::String && !f.is_list())
        .expect("a string field");
    let mut update = DynamicMessage::new(output.clone());
    update.set_field(&field, prost_reflect::Value::String("step started".into()));
    let encoded = update.encode_to_vec();
    let mut framed = vec![0, 0, 0, 0, encoded.len() as u8];
    framed.extend_from_slice(&encoded);
    let twice: Vec<u8> = [framed.clone(), framed].concat();
    // Two messages, cut mid-frame across data chunks, then OK.
    let (ct, lines) = ndjson_lines(
        route,
        grpc_body(
            vec![
                Bytes::copy_from_slice(&twice[..3]),
                Bytes::copy_from_slice(&twice[3..]),
            ],
            "0",
            "",
        ),
    );
    assert_eq!(ct, NDJSON);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0][field.json_name()], "step started");
    // One message, then NOT_FOUND: the last line is the AIP-193 error.
    let (_, lines) = ndjson_lines(
        route,
        grpc_body(
            vec![Bytes::from(twice[..twice.len() / 2].to_vec())],
            "5",
            "no%20such%20case",
        ),
    );
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[1]["error"]["status"], "NOT_FOUND");
    assert_eq!(lines[1]["error"]["code"], 404);
    assert_eq!(lines[1]["error"]["message"], "no such case");
}

#[test]
fn a_unary_error_answers_its_http_code_with_the_decoded_details() {
    use base64::Engine as _;
    let r = Registry::civil();
    let route = r
        .route(
            &http::Method::POST,
            "/v1/civil.marriage.v1.MarriageService/GetMarriage",
        )
        .expect("route");
    // google.rpc.Status { code: 9, message, details: [ErrorInfo { reason, domain }] }
    let status_desc = r.status_descriptor().expect("google.rpc.Status");
    let info_desc = r
        .pool()
        .get_message_by_name("google.rpc.ErrorInfo")
        .expect("ErrorInfo");
    let mut info = DynamicMessage::new(info_desc);
    info.set_field_by_name(
        "reason",
        prost_reflect::Value::String("MARRIAGE_UNDERAGE".into()),
    );
    info.set_field_by_name(
        "domain",
        prost_reflect::Value::String("civil.county.gov.cn".into()),
    );
    let any = prost_types::Any {
        type_url: "type.googleapis.com/google.rpc.ErrorInfo".into(),
        value: info.encode_to_vec(),
    };
    let mut status = DynamicMessage::new(status_desc);
    status.set_field_by_name("code", prost_reflect::Value::I32(9));
    let details = DynamicMessage::decode(
        r.pool()
            .get_message_by_name("google.protobuf.Any")
            .expect("Any"),
        any.encode_to_vec().as_slice(),
    )
    .expect("any");
    status.set_field_by_name(
        "details",
        prost_reflect::Value::List(vec![prost_reflect::Value::Message(details)]),
    );
    let bin = base64::engine::general_purpose::STANDARD_NO_PAD.encode(status.encode_to_vec());
    let mut response = Response::new(Body::empty());
    response
        .headers_mut()
        .insert("grpc-status", HeaderValue::from_static("9"));
    response
        .headers_mut()
        .insert("grpc-message", HeaderValue::from_static("too%20young"));
    response.headers_mut().insert(
        "grpc-status-details-bin",
        HeaderValue::from_str(&bin).expect("ascii"),
    );
    let answer = futures::executor::block_on(super::answer(route, response));
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    let body = futures::executor::block_on(answer.into_body().collect())
        .expect("body")
        .to_bytes();
    let json: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(json["error"]["status"], "FAILED_PRECONDITION");
    assert_eq!(json["error"]["message"], "too young");
    assert_eq!(
        json["error"]["details"][0],
        serde_json::json!({
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "MARRIAGE_UNDERAGE",
            "domain": "civil.county.gov.cn",
        })
    );
}
