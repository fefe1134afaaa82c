//! One tonic server standing in for every service of the contracts (the suite's services and the
//! outside systems of `proto/civil/external/v1`): `contracts::doubles`, generated from the
//! descriptor set at build time, routes every RPC to `Double::dispatch`, so a contract gaining an
//! RPC needs no edit here. A test scripts the RPCs it needs (the rest answer UNIMPLEMENTED); every
//! call is recorded with the metadata the aggregator sent.

#![allow(dead_code)]

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tonic::{Request, Response, Status};

type Handler =
    Arc<dyn Fn(Box<dyn Any + Send>) -> Result<Box<dyn Any + Send>, Status> + Send + Sync>;

/// A call as the double saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub on_behalf_of: String,
    pub traceparent: String,
    pub authorized: bool,
}

#[derive(Clone, Default)]
pub struct Double {
    handlers: Arc<Mutex<HashMap<String, Handler>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Double {
    /// Scripts `method` ("Service/Rpc", e.g. "FuneralService/RegisterDeath").
    pub fn on<Req, Resp>(
        &self,
        method: &str,
        f: impl Fn(Req) -> Result<Resp, Status> + Send + Sync + 'static,
    ) -> &Self
    where
        Req: Send + 'static,
        Resp: Send + 'static,
    {
        let handler: Handler = Arc::new(move |req: Box<dyn Any + Send>| {
            let req = *req
                .downcast::<Req>()
                .map_err(|_| Status::internal("double: request type"))?;
            f(req).map(|r| Box::new(r) as Box<dyn Any + Send>)
        });
        self.handlers
            .lock()
            .expect("lock")
            .insert(method.to_owned(), handler);
        self
    }

    async fn answer<Req, Resp>(
        &self,
        method: &str,
        request: Request<Req>,
    ) -> Result<Response<Resp>, Status>
    where
        Req: Send + 'static,
        Resp: Send + 'static,
    {
        let md = request.metadata();
        let text = |k: &str| {
            md.get(k)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        self.seen.lock().expect("lock").push(Seen {
            method: method.to_owned(),
            on_behalf_of: text(auth::ON_BEHALF_OF_HEADER),
            traceparent: text("traceparent"),
            authorized: md.get("authorization").is_some(),
        });
        let handler = self.handlers.lock().expect("lock").get(method).cloned();
        let Some(handler) = handler else {
            return Err(Status::unimplemented(format!(
                "double: {method} not scripted"
            )));
        };
        let out = handler(Box::new(request.into_inner()))?;
        let out = out
            .downcast::<Resp>()
            .map_err(|_| Status::internal("double: response type"))?;
        Ok(Response::new(*out))
    }

    /// Calls of `method` so far.
    pub fn calls(&self, method: &str) -> usize {
        self.seen
            .lock()
            .expect("lock")
            .iter()
            .filter(|s| s.method == method)
            .count()
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }

    /// Serves every double on a free port; returns its URL.
    pub async fn serve(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let routes = contracts::doubles::routes(self);
        tokio::spawn(async move {
            let incoming = tonic::transport::server::TcpIncoming::from(listener);
            let _ = tonic::transport::Server::builder()
                .add_routes(routes)
                .serve_with_incoming(incoming)
                .await;
        });
        format!("http://{addr}")
    }
}

/// Every RPC of every contract (generated at build time, `contracts::doubles`) lands here.
impl contracts::doubles::Dispatch for Double {
    fn dispatch<Req: Send + 'static, Resp: Send + 'static>(
        &self,
        method: &'static str,
        request: Request<Req>,
    ) -> impl Future<Output = Result<Response<Resp>, Status>> + Send {
        self.answer(method, request)
    }
}

/// Stores key -> first response, like every receiver of the suite (exactly once at the receiver).
#[derive(Clone, Default)]
pub struct Keyed<T: Clone>(Arc<Mutex<HashMap<String, T>>>);

impl<T: Clone> Keyed<T> {
    pub fn once(&self, key: &str, make: impl FnOnce() -> T) -> T {
        self.0
            .lock()
            .expect("lock")
            .entry(key.to_owned())
            .or_insert_with(make)
            .clone()
    }
    pub fn len(&self) -> usize {
        self.0.lock().expect("lock").len()
    }
}
