//! The JSON routes: one per unary or server-streaming RPC of every civil.* service this suite
//! serves, over the embedded descriptor set.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use http::Method;
use prost_reflect::{DescriptorPool, ExtensionDescriptor, MessageDescriptor, MethodDescriptor};

use crate::PREFIX;
use crate::error::ApiError;

/// Packages in the descriptor set that this suite does not serve (the other bureaus' systems
/// it calls): no JSON route, no OpenAPI path.
pub const NOT_SERVED: &[&str] = &["civil.external."];

/// The services of those packages that the suite serves itself: contracts between the bureau
/// and the departments that call it (signal intake of 低收入人口动态监测, served by assistance).
pub const SERVED_EXTERNAL: &[&str] = &["civil.external.v1.SignalIntakeService"];

/// Whether the suite serves `service` (a civil.* service not of the outside systems, or one
/// of [`SERVED_EXTERNAL`]).
pub fn served(service: &str) -> bool {
    service.starts_with("civil.")
        && (SERVED_EXTERNAL.contains(&service)
            || !NOT_SERVED.iter().any(|p| service.starts_with(p)))
}

/// One JSON route.
#[derive(Clone, Debug)]
pub struct Route {
    pub method: MethodDescriptor,
    /// `/civil.x.v1.XService/Rpc`: the gRPC path the call becomes.
    pub grpc_path: String,
    /// `/v1/civil.x.v1.XService/Rpc`: the JSON path.
    pub json_path: String,
}

impl Route {
    pub fn streaming(&self) -> bool {
        self.method.is_server_streaming()
    }
}

/// The descriptor pool (civil.* plus google.rpc for error details) and the JSON routes.
#[derive(Debug)]
pub struct Registry {
    pool: DescriptorPool,
    routes: BTreeMap<String, Route>,
}

impl Registry {
    /// The registry of the embedded `contracts::FILE_DESCRIPTOR_SET`. Should the set not decode
    /// (a unit test keeps that from shipping), there are no routes: every JSON call is 404 and
    /// gRPC is unaffected.
    pub fn civil() -> &'static Registry {
        static REGISTRY: LazyLock<Registry> = LazyLock::new(|| {
            Registry::from_descriptor_sets(&[
                contracts::FILE_DESCRIPTOR_SET,
                tonic_types::pb::FILE_DESCRIPTOR_SET,
            ])
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "descriptor set does not decode: no JSON routes");
                Registry {
                    pool: DescriptorPool::new(),
                    routes: BTreeMap::new(),
                }
            })
        });
        &REGISTRY
    }

    /// Builds the registry from encoded `FileDescriptorSet`s.
    pub fn from_descriptor_sets(sets: &[&[u8]]) -> Result<Self, prost_reflect::DescriptorError> {
        let mut pool = DescriptorPool::new();
        for set in sets {
            pool.decode_file_descriptor_set(*set)?;
        }
        let binding = pool.get_extension_by_name("google.api.http");
        let mut routes = BTreeMap::new();
        for service in pool.services() {
            let name = service.full_name();
            if !served(name) {
                continue;
            }
            for method in service.methods() {
                if method.is_client_streaming() {
                    continue; // none exist; a JSON body is one message
                }
                let Some(json_path) = binding.as_ref().and_then(|b| http_post_path(&method, b))
                else {
                    // No binding, no JSON route (a unit test keeps every served RPC bound).
                    continue;
                };
                let Some(key) = json_path.strip_prefix(PREFIX) else {
                    continue;
                };
                routes.insert(
                    key.to_owned(),
                    Route {
                        grpc_path: format!("/{name}/{}", method.name()),
                        json_path: json_path.clone(),
                        method,
                    },
                );
            }
        }
        Ok(Registry { pool, routes })
    }

    /// The served RPCs that carry no `google.api.http` POST binding (none should).
    pub fn unbound(&self) -> Vec<String> {
        let bound: std::collections::HashSet<&str> =
            self.routes.values().map(|r| r.grpc_path.as_str()).collect();
        self.pool
            .services()
            .filter(|s| served(s.full_name()))
            .flat_map(|s| s.methods().collect::<Vec<_>>())
            .map(|m| format!("/{}/{}", m.parent_service().full_name(), m.name()))
            .filter(|path| !bound.contains(path.as_str()))
            .collect()
    }

    pub fn pool(&self) -> &DescriptorPool {
        &self.pool
    }

    /// Every route, ordered by service then method name.
    pub fn routes(&self) -> impl Iterator<Item = &Route> {
        self.routes.values()
    }

    /// `google.rpc.Status`, to read `grpc-status-details-bin`.
    pub fn status_descriptor(&self) -> Option<MessageDescriptor> {
        self.pool.get_message_by_name("google.rpc.Status")
    }

    /// The route of a JSON request, or the JSON error to answer.
    pub fn route(&self, method: &Method, path: &str) -> Result<&Route, ApiError> {
        let key = path.strip_prefix(PREFIX).unwrap_or(path);
        let Some(route) = self.routes.get(key) else {
            return Err(ApiError::unknown_method(path));
        };
        if method != Method::POST {
            return Err(ApiError::method_not_allowed(method));
        }
        Ok(route)
    }
}

/// The `post` path of a method's `google.api.http` binding, when it has one with the whole
/// request as its body (the only binding the suite uses: `proto/annotate_http.py`).
fn http_post_path(method: &MethodDescriptor, binding: &ExtensionDescriptor) -> Option<String> {
    let options = method.options();
    if !options.has_extension(binding) {
        return None;
    }
    let rule = options.get_extension(binding);
    let rule = rule.as_message()?;
    let body = rule.get_field_by_name("body")?;
    if body.as_str() != Some("*") {
        return None;
    }
    let post = rule.get_field_by_name("post")?;
    post.as_str().filter(|p| !p.is_empty()).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_descriptor_set_gives_a_route_to_every_served_rpc() {
        let r = Registry::civil();
        assert!(r.routes().count() >= 100, "{}", r.routes().count());
        assert!(r.status_descriptor().is_some());
        assert!(r.routes().all(|route| {
            !route.grpc_path.starts_with("/civil.external.")
                || route
                    .grpc_path
                    .starts_with("/civil.external.v1.SignalIntakeService/")
        }));
        let watch = r
            .route(
                &Method::POST,
                "/v1/civil.onematter.v1.OneMatterService/WatchCase",
            )
            .expect("WatchCase routed");
        assert!(watch.streaming());
    }

    #[test]
    fn every_served_rpc_is_bound_by_google_api_http_to_its_canonical_post_path() {
        let r = Registry::civil();
        assert_eq!(
            r.unbound(),
            Vec::<String>::new(),
            "RPCs without a google.api.http binding: run `python3 proto/annotate_http.py`"
        );
        for route in r.routes() {
            assert_eq!(
                route.json_path,
                format!("{PREFIX}{}", &route.grpc_path[1..])
            );
        }
    }

    #[test]
    fn an_unknown_method_is_not_found_and_a_get_is_not_allowed() {
        let r = Registry::civil();
        let e = r
            .route(&Method::POST, "/v1/civil.marriage.v1.MarriageService/Nope")
            .expect_err("unknown");
        assert_eq!(e.http, http::StatusCode::NOT_FOUND);
        let e = r
            .route(
                &Method::GET,
                "/v1/civil.marriage.v1.MarriageService/GetMarriage",
            )
            .expect_err("GET");
        assert_eq!(e.http, http::StatusCode::METHOD_NOT_ALLOWED);
    }
}
