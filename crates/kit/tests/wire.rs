//! Status codes for what arrives on the wire (Defects #12 item 8): bytes that are not a valid
//! protobuf message are the caller's fault (INVALID_ARGUMENT, not INTERNAL), and a message over
//! the size limit is RESOURCE_EXHAUSTED (not OUT_OF_RANGE).

use kit::testing::Role;
use tonic::Code;

const GET: &str = "/civil.socialorg.v1.SocialOrgService/GetOrganisation";
const REGISTER: &str = "/civil.socialorg.v1.SocialOrgService/RegisterOrganisation";

async fn suite() -> kit::testing::TestSuite {
    kit::testing::spawn_with(&[socialorg::SERVICE], |cfg| {
        cfg.extra.insert("socialorg_sweep".into(), "off".into());
        cfg.max_message_bytes = 64 * 1024;
    })
    .await
}

#[tokio::test]
async fn malformed_protobuf_is_invalid_argument_not_internal() {
    let suite = suite().await;
    let token = suite.token(&[Role::SocialOrgOfficer], "330723");
    let cases: [(&str, Vec<u8>); 4] = [
        // field 1 (string) holding bytes that are not UTF-8
        ("invalid UTF-8", vec![0x0a, 0x02, 0xff, 0xfe]),
        // field 1 announces 5 bytes, 1 follows
        ("truncated", vec![0x0a, 0x05, b'a']),
        // field 1 (a string) sent as a varint
        ("wrong wire type", vec![0x08, 0x01]),
        // a tag with field number 0
        ("field number 0", vec![0x02, 0x00]),
    ];
    for path in [GET, REGISTER] {
        for (what, bytes) in &cases {
            let status = suite
                .raw_call(path, bytes.clone(), &token)
                .await
                .expect_err(what);
            assert_eq!(
                status.code(),
                Code::InvalidArgument,
                "{path} {what}: {status:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_message_over_the_size_limit_is_resource_exhausted() {
    let suite = suite().await;
    let token = suite.token(&[Role::SocialOrgOfficer], "330723");
    // A well-formed GetOrganisationRequest whose id makes it 100 KiB (the limit is 64 KiB).
    let id = "a".repeat(100 * 1024);
    let mut bytes = vec![0x0a];
    let mut len = id.len();
    while len >= 0x80 {
        bytes.push(u8::try_from(len & 0x7f).expect("7 bits") | 0x80);
        len >>= 7;
    }
    bytes.push(u8::try_from(len).expect("7 bits"));
    bytes.extend_from_slice(id.as_bytes());
    let status = suite
        .raw_call(GET, bytes, &token)
        .await
        .expect_err("too large");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
}
