//! Idempotent writes (AIP-155). The key, a fingerprint of the request and the response are
//! stored in the same transaction as the effect, so a retry either finds the committed response
//! or finds nothing and runs again; never half of each.
//!
//! A key belongs to the caller who used it: `(rpc, caller subject, request id)`. Another caller
//! sending the same request id runs as a fresh request (authorised as such) and never receives
//! the first caller's answer. The stored answer is sealed (AES-GCM, [`Sealer`]): the table
//! holds no identity number or name in the clear.
//!
//! The key row is inserted first: on PostgreSQL a concurrent retry blocks on the unique index
//! until the first transaction ends, then sees its response; on SQLite writers are serialised.

use futures::future::BoxFuture;
use prost::Message;
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};

use crate::error::ServiceError;
use crate::pii::Sealer;
use crate::store::Db;

/// Stable reason when a request id comes back with a different request.
pub const REQUEST_ID_REUSED: &str = "REQUEST_ID_REUSED";

/// Prefix of a sealed stored answer (rows written before sealing hold plain base64).
const SEALED_PREFIX: &str = "sealed:v1:";

tokio::task_local! {
    /// The sealer of the server serving this call (set by `kit::server` around every call), so
    /// [`once`] seals without a parameter.
    pub(crate) static SEALER: Sealer;
}

/// Runs `work` with `sealer` sealing the answers [`once`] stores (what `kit::server` does
/// around every call; jobs and tests use it too).
pub async fn with_sealer<F: std::future::Future>(sealer: Sealer, work: F) -> F::Output {
    SEALER.scope(sealer, work).await
}

/// Whose key it is, and how its stored answer is sealed.
#[derive(Clone, Copy)]
pub struct Scope<'a> {
    /// The authenticated caller's subject.
    pub subject: &'a str,
    /// Seals the stored answer; `None` stores it in plain bytes (legacy).
    pub sealer: Option<&'a Sealer>,
}

/// Runs `effect` once per `(rpc, caller, request_id)`. A retry by the same caller with the same
/// request gets the first response; a different request under the same id is refused with
/// `REQUEST_ID_REUSED`. Inside `effect` use only the given connection (the transaction).
///
/// The caller and sealer are those of the call being served (the auth layer and the server set
/// them); new code uses `kit::rpc`, which passes them explicitly.
pub async fn once<Req, Resp, F>(
    db: &Db,
    rpc: &str,
    request_id: &str,
    request: &Req,
    effect: F,
) -> Result<Resp, ServiceError>
where
    Req: Message,
    Resp: Message + Default,
    F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<Resp, ServiceError>>,
{
    if let Some(problem) = request_id_problem(request_id) {
        return Err(ServiceError::invalid("request_id", problem));
    }
    let caller = auth::layer::current_caller();
    let sealer = SEALER.try_with(Clone::clone).ok();
    let scope = caller.as_ref().map(|p| Scope {
        subject: p.subject.as_str(),
        sealer: sealer.as_ref(),
    });
    let fingerprint = fingerprint(request);
    let mut tx = db.begin().await?;
    if let Some(stored) = claim(&mut tx, scope, rpc, request_id, &fingerprint).await? {
        tx.rollback().await?;
        return Ok(stored);
    }
    let response = effect(&mut tx).await?;
    store(&mut tx, scope, rpc, request_id, &response).await?;
    tx.commit().await?;
    Ok(response)
}

/// Why a request id cannot be used, if it cannot.
pub fn request_id_problem(request_id: &str) -> Option<&'static str> {
    if request_id.trim().is_empty() {
        Some("is required for every write (retry safety)")
    } else if request_id.chars().count() > 128 {
        Some("is longer than 128 characters")
    } else {
        None
    }
}

/// The fingerprint of a request: a retry must send the same bytes.
pub fn fingerprint<Req: Message>(request: &Req) -> String {
    hex::encode(Sha256::digest(request.encode_to_vec()))
}

/// The stored key: the request id within the caller's scope. The subject is hashed so the key
/// column names nobody.
fn key(scope: Option<Scope<'_>>, request_id: &str) -> String {
    match scope {
        Some(s) => {
            let who = hex::encode(Sha256::digest(s.subject.as_bytes()));
            format!("{}~{request_id}", &who[..32])
        }
        None => request_id.to_owned(),
    }
}

/// Inserts the key; returns the stored response when the key was already used by this caller.
pub async fn claim<Resp: Message + Default>(
    conn: &mut AnyConnection,
    scope: Option<Scope<'_>>,
    rpc: &str,
    request_id: &str,
    fingerprint: &str,
) -> Result<Option<Resp>, ServiceError> {
    let key = key(scope, request_id);
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (rpc, request_id, fingerprint, response, created_at_ms)
         VALUES ($1, $2, $3, '', $4) ON CONFLICT (rpc, request_id) DO NOTHING",
    )
    .bind(rpc)
    .bind(&key)
    .bind(fingerprint)
    .bind(crate::now_ms())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(None);
    }
    let row = sqlx::query(
        "SELECT fingerprint, response FROM idempotency_keys WHERE rpc = $1 AND request_id = $2",
    )
    .bind(rpc)
    .bind(&key)
    .fetch_one(&mut *conn)
    .await?;
    let stored_fp: String = row.try_get("fingerprint")?;
    if stored_fp != fingerprint {
        return Err(ServiceError::refused(
            REQUEST_ID_REUSED,
            "this request_id was already used for a different request",
        ));
    }
    let response: String = row.try_get("response")?;
    let bad =
        |e: &dyn std::fmt::Display| ServiceError::Internal(anyhow::anyhow!("stored response: {e}"));
    let text = match (
        response.strip_prefix(SEALED_PREFIX),
        scope.and_then(|s| s.sealer),
    ) {
        (Some(sealed), Some(sealer)) => sealer.open(sealed).map_err(|e| bad(&e))?,
        (Some(_), None) => return Err(bad(&"sealed, and no sealer to open it")),
        (None, _) => response,
    };
    let bytes = base64_decode(&text).map_err(|e| bad(&e))?;
    Resp::decode(bytes.as_slice())
        .map(Some)
        .map_err(|e| bad(&e))
}

/// Stores the response of a claimed key (sealed when the scope has a sealer).
pub async fn store<Resp: Message>(
    conn: &mut AnyConnection,
    scope: Option<Scope<'_>>,
    rpc: &str,
    request_id: &str,
    response: &Resp,
) -> Result<(), ServiceError> {
    let encoded = base64_encode(&response.encode_to_vec());
    let stored = match scope.and_then(|s| s.sealer) {
        Some(sealer) => format!("{SEALED_PREFIX}{}", sealer.seal(&encoded)),
        None => encoded,
    };
    sqlx::query("UPDATE idempotency_keys SET response = $1 WHERE rpc = $2 AND request_id = $3")
        .bind(stored)
        .bind(rpc)
        .bind(key(scope, request_id))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn base64_decode(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text)
}
