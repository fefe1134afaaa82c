//! A read answered from memory: an index or a cache the service keeps, never the store.

use auth::Principal;
use prost::Message;
use tonic::{Request, Response, Status};

use super::{Rpc, hidden_of, masked};
use crate::error::ServiceError;

impl Rpc {
    /// A read of public data the service holds in memory (the place-name index): the auth
    /// layer has checked the caller's role; the input is decoded with every violation at once
    /// and the answer masked for the caller's profile, as in [`Rpc::read`], but no store
    /// connection is taken and no read-audit row is written (no person's data is read; a
    /// refused or failed attempt is still audited). Taking no connection matters on the
    /// embedded store, which has one: concurrent lookups never queue behind each other or
    /// behind writes.
    pub async fn lookup<Req, In, Resp>(
        &self,
        request: Request<Req>,
        effect: impl AsyncFnOnce(&Principal, In) -> Result<Resp, ServiceError>,
    ) -> Result<Response<Resp>, Status>
    where
        In: TryFrom<Req>,
        In::Error: Into<ServiceError>,
        Resp: Message + prost::Name + Default,
    {
        let principal = auth::principal(&request)?.clone();
        let hidden = hidden_of(&request);
        let action = self.action(&request);
        let result = match In::try_from(request.into_inner()) {
            Ok(input) => effect(&principal, input).await,
            Err(e) => Err(e.into()),
        };
        self.finish(&principal, &action, "", "", "", result)
            .await
            .and_then(|r| masked(hidden.as_ref(), r))
    }
}
