//! The client side: a service calling another presents its own credential and names the person
//! it acts for, so the callee authorises the service and audits the person.

use std::sync::Arc;

use tonic::metadata::MetadataValue;
use tonic::{Request, Status};

use crate::ON_BEHALF_OF_HEADER;

/// A service's own bearer token (from the identity provider, or minted by the dev issuer).
#[derive(Clone)]
pub struct ServiceCredential {
    bearer: Arc<MetadataValue<tonic::metadata::Ascii>>,
}

impl std::fmt::Debug for ServiceCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServiceCredential(..)")
    }
}

impl ServiceCredential {
    pub fn new(token: &str) -> Result<Self, Status> {
        let bearer = format!("Bearer {token}")
            .parse()
            .map_err(|_| Status::internal("service token is not valid ASCII"))?;
        Ok(Self {
            bearer: Arc::new(bearer),
        })
    }

    /// Adds the credential and the on-behalf-of subject to an outgoing request.
    pub fn authorize<T>(&self, request: &mut Request<T>, on_behalf_of: &str) {
        let md = request.metadata_mut();
        md.insert("authorization", (*self.bearer).clone());
        if !on_behalf_of.is_empty()
            && let Ok(v) = on_behalf_of.parse()
        {
            md.insert(ON_BEHALF_OF_HEADER, v);
        }
    }

    /// An interceptor for generated clients that always act as the service itself.
    pub fn interceptor(&self) -> impl tonic::service::Interceptor + Clone + use<> {
        let bearer = self.bearer.clone();
        move |mut req: Request<()>| {
            req.metadata_mut()
                .insert("authorization", (*bearer).clone());
            Ok(req)
        }
    }
}
