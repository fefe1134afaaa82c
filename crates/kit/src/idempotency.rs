//! Idempotent writes (AIP-155). The key, a fingerprint of the request and the response are
//! stored in the same transaction as the effect, so a retry either finds the committed response
//! or finds nothing and runs again; never half of each.
//!
//! The key row is inserted first: on PostgreSQL a concurrent retry blocks on the unique index
//! until the first transaction ends, then sees its response; on SQLite writers are serialised.

use futures::future::BoxFuture;
use prost::Message;
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};

use crate::error::ServiceError;
use crate::store::Db;

/// Stable reason when a request id comes back with a different request.
pub const REQUEST_ID_REUSED: &str = "REQUEST_ID_REUSED";

/// Runs `effect` once per `(rpc, request_id)`. A retry with the same request gets the first
/// response; a different request under the same id is refused with `REQUEST_ID_REUSED`.
/// Inside `effect` use only the given connection (the transaction).
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
    if request_id.trim().is_empty() {
        return Err(ServiceError::invalid(
            "request_id",
            "is required for every write (retry safety)",
        ));
    }
    if request_id.len() > 128 {
        return Err(ServiceError::invalid(
            "request_id",
            "is longer than 128 characters",
        ));
    }
    let fingerprint = hex::encode(Sha256::digest(request.encode_to_vec()));
    let mut tx = db.begin().await?;
    if let Some(stored) = claim(&mut tx, rpc, request_id, &fingerprint).await? {
        tx.rollback().await?;
        return Ok(stored);
    }
    let response = effect(&mut tx).await?;
    let encoded = base64_encode(&response.encode_to_vec());
    sqlx::query("UPDATE idempotency_keys SET response = $1 WHERE rpc = $2 AND request_id = $3")
        .bind(encoded)
        .bind(rpc)
        .bind(request_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(response)
}

/// Inserts the key; returns the stored response when the key was already used.
async fn claim<Resp: Message + Default>(
    conn: &mut AnyConnection,
    rpc: &str,
    request_id: &str,
    fingerprint: &str,
) -> Result<Option<Resp>, ServiceError> {
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (rpc, request_id, fingerprint, response, created_at_ms)
         VALUES ($1, $2, $3, '', $4) ON CONFLICT (rpc, request_id) DO NOTHING",
    )
    .bind(rpc)
    .bind(request_id)
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
    .bind(request_id)
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
    let bytes = base64_decode(&response)
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("stored response: {e}")))?;
    Resp::decode(bytes.as_slice())
        .map(Some)
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("stored response: {e}")))
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn base64_decode(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text)
}
