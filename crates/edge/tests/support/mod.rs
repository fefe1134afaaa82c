//! The suite with the JSON layer in front, and a plain HTTP client.
//!
//! When `crates/kit/src/server.rs` stacks `edge::JsonLayer` itself, tests call the suite's port
//! directly. Until then they build the same stack around it: a front server whose only layer is
//! `JsonLayer` over a gRPC channel to the suite, so a JSON call still goes through the suite's
//! own CORS, gRPC-Web, observe and auth layers and its handlers.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use kit::testing::TestSuite;

/// Whether the kit server stacks the JSON layer (the lead adds the line).
pub fn integrated() -> bool {
    include_str!("../../../kit/src/server.rs").contains("edge::JsonLayer")
}

pub const REGION: &str = "330723";

/// A suite of the seven services and the address that answers JSON for it.
pub struct Edge {
    pub suite: TestSuite,
    pub addr: SocketAddr,
    client: hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        Full<Bytes>,
    >,
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: Bytes,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): HTTP {} {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The `ErrorInfo.reason` of an AIP-193 error body.
    pub fn reason(&self) -> Option<String> {
        self.json()["error"]["details"]
            .as_array()?
            .iter()
            .find(|d| d["@type"] == "type.googleapis.com/google.rpc.ErrorInfo")
            .and_then(|d| d["reason"].as_str().map(str::to_owned))
    }
}

impl Edge {
    pub async fn start() -> Edge {
        let suite = kit::testing::spawn(&suite::ALL).await;
        let addr = if integrated() {
            suite.addr
        } else {
            front(suite.channel.clone()).await
        };
        let client = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .build_http::<Full<Bytes>>();
        Edge {
            suite,
            addr,
            client,
        }
    }

    pub fn token(&self, role: auth::Role) -> String {
        self.suite.token(&[role], REGION)
    }

    /// `POST path` with a JSON body and (if given) a bearer token.
    pub async fn post(&self, path: &str, body: &str, token: Option<&str>) -> Answer {
        self.send(http::Method::POST, path, body, token, "application/json")
            .await
    }

    pub async fn send(
        &self,
        method: http::Method,
        path: &str,
        body: &str,
        token: Option<&str>,
        content_type: &str,
    ) -> Answer {
        let mut request = http::Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.addr))
            .header("content-type", content_type);
        if let Some(t) = token {
            request = request.header("authorization", format!("Bearer {t}"));
        }
        let request = request
            .body(Full::new(Bytes::from(body.to_owned())))
            .expect("request");
        let response = tokio::time::timeout(Duration::from_secs(20), self.client.request(request))
            .await
            .expect("answer within 20 s")
            .expect("HTTP answer");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = tokio::time::timeout(Duration::from_secs(20), response.into_body().collect())
            .await
            .expect("body within 20 s")
            .expect("body")
            .to_bytes();
        Answer {
            status,
            content_type,
            body,
        }
    }
}

/// A server on a free port: `JsonLayer` over a gRPC channel to the suite.
pub async fn front(channel: tonic::transport::Channel) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let service = tower::ServiceBuilder::new()
        .map_request(|r: http::Request<hyper::body::Incoming>| r.map(tonic::body::Body::new))
        .layer(edge::JsonLayer::new())
        .service(channel);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let _ = stream.set_nodelay(true);
            let service = hyper_util::service::TowerToHyperService::new(service.clone());
            tokio::spawn(async move {
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}
