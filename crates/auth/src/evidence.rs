//! The evidence log: signed, time-stamped chain heads over the audit trail, its export, and the
//! offline verifier (`civil audit-verify --file`).
//!
//! The sealer of each service signs the chain head (`seq`, `hash`, the signing time) at an
//! interval with the county's audit signing key ([`HeadSigner`]); a head that does not move is
//! re-signed in place, so the newest signature's time says the signer is alive. Writes are
//! refused while the newest signature is older than the configured bound (`kit::trust`).
//!
//! The algorithm sits behind [`SignatureAlg`] (`CIVIL_AUDIT_SIGNATURE_ALG`):
//! `ecdsa-p256-sha256` (the default); `sm2-sm3` (GB/T 39786 level 3) is the named seam, refused
//! at start until an SM2 implementation is built in; any other value is refused.

use std::path::Path;

use base64::Engine as _;
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use sqlx::{AnyConnection, AnyPool, Row};

use crate::audit::{AuditRecord, GENESIS, chain_hash};

mod row;
pub use row::ExportRow;

/// The algorithm suite signing chain heads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureAlg {
    /// ECDSA over P-256 with SHA-256 (FIPS 186-4).
    EcdsaP256Sha256,
}

/// The values `CIVIL_AUDIT_SIGNATURE_ALG` knows.
pub const SIGNATURE_ALGS: &[&str] = &["ecdsa-p256-sha256", "sm2-sm3"];

impl SignatureAlg {
    /// Parses the setting; empty is the default. Unknown values are refused, and so is
    /// `sm2-sm3` while no SM2 implementation is built into the binary.
    pub fn parse(value: &str) -> Result<Self, String> {
        match value.trim() {
            "" | "ecdsa-p256-sha256" => Ok(Self::EcdsaP256Sha256),
            "sm2-sm3" => Err(
                "sm2-sm3: the SM2/SM3 signer is not built into this binary; \
                 use ecdsa-p256-sha256 until it is"
                    .into(),
            ),
            other => Err(format!(
                "{other:?}: unknown audit signature algorithm; known: {}",
                SIGNATURE_ALGS.join(", ")
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::EcdsaP256Sha256 => "ecdsa-p256-sha256",
        }
    }
}

/// Key material that could not be used.
#[derive(Debug, thiserror::Error)]
#[error("audit signing key: {0}")]
pub struct KeyError(pub String);

/// Signs chain heads.
#[derive(Clone)]
pub struct HeadSigner {
    key: SigningKey,
    key_id: String,
    public_pem: String,
}

impl std::fmt::Debug for HeadSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeadSigner")
            .field("key_id", &self.key_id)
            .finish()
    }
}

/// Name of the dev signing key in the data directory.
pub const DEV_KEY_FILE: &str = "audit-signing-key.pem";

impl HeadSigner {
    pub fn generate() -> Self {
        Self::from_key(SigningKey::random(&mut rand::rngs::OsRng))
    }

    /// From `CIVIL_AUDIT_SIGNING_KEY`: the private scalar as 64 hex characters.
    pub fn from_hex(hex_key: &str) -> Result<Self, KeyError> {
        let bytes = hex::decode(hex_key.trim())
            .map_err(|_| KeyError("must be 64 hex characters".into()))?;
        SigningKey::from_slice(&bytes)
            .map(Self::from_key)
            .map_err(|_| KeyError("not a valid P-256 private key".into()))
    }

    /// Loads the dev key `audit-signing-key.pem` from `dir`, creating it on first use.
    pub fn load_or_create(dir: &Path) -> Result<Self, KeyError> {
        let path = dir.join(DEV_KEY_FILE);
        if path.exists() {
            let pem = std::fs::read_to_string(&path).map_err(|e| KeyError(e.to_string()))?;
            let key = SigningKey::from_pkcs8_pem(&pem)
                .map_err(|_| KeyError(format!("{} is not a PKCS#8 P-256 key", path.display())))?;
            return Ok(Self::from_key(key));
        }
        std::fs::create_dir_all(dir).map_err(|e| KeyError(e.to_string()))?;
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        let pem = key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| KeyError(e.to_string()))?;
        std::fs::write(&path, pem.as_bytes()).map_err(|e| KeyError(e.to_string()))?;
        Ok(Self::from_key(key))
    }

    fn from_key(key: SigningKey) -> Self {
        let public_pem = VerifyingKey::from(&key)
            .to_public_key_pem(LineEnding::LF)
            .unwrap_or_default();
        let key_id = key_id_of(&public_pem);
        Self {
            key,
            key_id,
            public_pem,
        }
    }

    /// The public key (SPKI PEM) verifiers pin.
    pub fn public_key_pem(&self) -> &str {
        &self.public_pem
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Signs the head `seq`/`hash` at `signed_at_ms`.
    pub fn sign(&self, seq: i64, hash: &str, signed_at_ms: i64) -> SignedHead {
        let mut head = SignedHead {
            seq,
            hash: hash.to_owned(),
            signed_at_ms,
            alg: SignatureAlg::EcdsaP256Sha256.name().into(),
            key_id: self.key_id.clone(),
            public_key: self.public_pem.clone(),
            signature: String::new(),
        };
        let sig: Signature = self.key.sign(&head.message());
        head.signature = base64::engine::general_purpose::STANDARD.encode(sig.to_der().as_bytes());
        head
    }
}

fn key_id_of(public_pem: &str) -> String {
    hex::encode(sha2::Sha256::digest(public_pem.trim().as_bytes()))[..16].to_owned()
}

/// A signed chain head.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedHead {
    pub seq: i64,
    pub hash: String,
    pub signed_at_ms: i64,
    pub alg: String,
    pub key_id: String,
    /// SPKI PEM of the key that signed (convenience; verifiers pin their own copy).
    pub public_key: String,
    /// Base64 DER signature over [`SignedHead::message`].
    pub signature: String,
}

impl SignedHead {
    /// What is signed: domain tag, sequence number, head hash, signing time.
    pub fn message(&self) -> Vec<u8> {
        format!(
            "civil-audit-head/v1\n{}\n{}\n{}\n{}",
            self.alg, self.seq, self.hash, self.signed_at_ms
        )
        .into_bytes()
    }

    /// Whether the signature verifies with `public_pem`.
    pub fn verifies_with(&self, public_pem: &str) -> bool {
        if self.alg != SignatureAlg::EcdsaP256Sha256.name() {
            return false;
        }
        let Ok(key) = VerifyingKey::from_public_key_pem(public_pem.trim()) else {
            return false;
        };
        let Ok(der) = base64::engine::general_purpose::STANDARD.decode(&self.signature) else {
            return false;
        };
        let Ok(sig) = Signature::from_der(&der) else {
            return false;
        };
        key.verify(&self.message(), &sig).is_ok()
    }

    /// Whether the signature verifies with the key the row names (consistency, not trust).
    pub fn verifies_with_own_key(&self) -> bool {
        key_id_of(&self.public_key) == self.key_id && self.verifies_with(&self.public_key)
    }
}

/// Every signed head, by sequence number.
pub async fn signatures(pool: &AnyPool) -> Result<Vec<SignedHead>, sqlx::Error> {
    signatures_on(&mut *pool.acquire().await?).await
}

/// [`signatures`] on a connection the caller holds.
pub async fn signatures_on(conn: &mut AnyConnection) -> Result<Vec<SignedHead>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT seq, hash, signed_at_ms, alg, key_id, public_key, signature
         FROM audit_signature ORDER BY seq",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(SignedHead {
                seq: r.try_get("seq")?,
                hash: r.try_get("hash")?,
                signed_at_ms: r.try_get("signed_at_ms")?,
                alg: r.try_get("alg")?,
                key_id: r.try_get("key_id")?,
                public_key: r.try_get("public_key")?,
                signature: r.try_get("signature")?,
            })
        })
        .collect()
}

/// Seals pending rows and signs the head at `now_ms` (re-signing in place a head that has not
/// moved).
pub async fn sign_head(
    pool: &AnyPool,
    signer: &HeadSigner,
    now_ms: i64,
) -> Result<SignedHead, sqlx::Error> {
    sign_head_on(&mut *pool.acquire().await?, signer, now_ms).await
}

/// [`sign_head`] on a connection the caller holds.
pub async fn sign_head_on(
    conn: &mut AnyConnection,
    signer: &HeadSigner,
    now_ms: i64,
) -> Result<SignedHead, sqlx::Error> {
    let head = crate::audit::seal_on(conn).await?;
    let signed = signer.sign(head.seq, &head.hash, now_ms);
    sqlx::query(
        "INSERT INTO audit_signature (seq, hash, signed_at_ms, alg, key_id, public_key, signature)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (seq) DO UPDATE SET hash = $2, signed_at_ms = $3, alg = $4, key_id = $5,
             public_key = $6, signature = $7",
    )
    .bind(signed.seq)
    .bind(&signed.hash)
    .bind(signed.signed_at_ms)
    .bind(&signed.alg)
    .bind(&signed.key_id)
    .bind(&signed.public_key)
    .bind(&signed.signature)
    .execute(&mut *conn)
    .await?;
    Ok(signed)
}

/// An exported trail: every sealed row and every signed head, verifiable offline.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Export {
    pub format: String,
    pub service: String,
    pub exported_at_ms: i64,
    pub rows: Vec<ExportRow>,
    pub signatures: Vec<SignedHead>,
}

/// Format tag of [`Export`].
pub const EXPORT_FORMAT: &str = "civil-audit-export/v1";

/// Seals, signs the head now (so the export ends in a signed head) and exports everything.
pub async fn export(
    pool: &AnyPool,
    service: &str,
    signer: &HeadSigner,
    now_ms: i64,
) -> Result<Export, sqlx::Error> {
    export_on(&mut *pool.acquire().await?, service, signer, now_ms).await
}

/// [`export`] on a connection the caller holds.
pub async fn export_on(
    conn: &mut AnyConnection,
    service: &str,
    signer: &HeadSigner,
    now_ms: i64,
) -> Result<Export, sqlx::Error> {
    sign_head_on(conn, signer, now_ms).await?;
    let mut rows = Vec::new();
    let mut after = 0;
    loop {
        let page = crate::audit::list_sealed_on(conn, after, 10_000).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        rows.extend(page.into_iter().map(ExportRow::from));
    }
    Ok(Export {
        format: EXPORT_FORMAT.into(),
        service: service.into(),
        exported_at_ms: now_ms,
        rows,
        signatures: signatures_on(conn).await?,
    })
}

/// What the offline check found intact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub rows: i64,
    pub signatures: usize,
    /// Time of the newest signature.
    pub last_signed_at_ms: i64,
}

/// Tolerated clock difference between the process that wrote a row and the one that signed.
const CLOCK_SKEW_MS: i64 = 5_000;

/// Checks an export offline: the hash chain (a changed, deleted or inserted row), every signed
/// head against the chain and against `trusted_public_pem` (a head re-signed with another key),
/// signing times (never before the rows they cover, never going back, gaps at most
/// `max_gap_ms` when given), and that the newest row is covered by a signature. Returns every
/// problem found, or what was verified.
pub fn verify_export(
    export: &Export,
    trusted_public_pem: &str,
    max_gap_ms: Option<i64>,
) -> Result<Verified, Vec<String>> {
    let mut problems = Vec::new();
    if export.format != EXPORT_FORMAT {
        problems.push(format!("unknown export format {:?}", export.format));
    }
    let mut prev = GENESIS.to_owned();
    let mut hashes = std::collections::HashMap::from([(0_i64, GENESIS.to_owned())]);
    let mut latest_row_at = std::collections::BTreeMap::new();
    let mut newest_at = i64::MIN;
    let records: std::collections::HashMap<i64, AuditRecord> =
        export.rows.iter().map(|r| (r.seq, r.record())).collect();
    for (i, r) in export.rows.iter().enumerate() {
        let expected_seq = i as i64 + 1;
        if r.seq != expected_seq {
            problems.push(format!(
                "row {}: expected row {expected_seq} here (a row was deleted or inserted)",
                r.seq
            ));
            break;
        }
        let intact = if r.purged_by == 0 {
            chain_hash(&prev, r.seq, r.at_ms, &r.entry()) == r.hash
        } else {
            let purge = records.get(&r.purged_by);
            crate::audit::purge::tombstone_allowed(r.seq, r.at_ms, &r.action, &r.purpose, purge)
        };
        if r.prev_hash != prev || !intact {
            problems.push(format!("row {}: does not match its hash (changed)", r.seq));
            break;
        }
        prev = r.hash.clone();
        hashes.insert(r.seq, r.hash.clone());
        newest_at = newest_at.max(r.at_ms);
        latest_row_at.insert(r.seq, newest_at);
    }
    let last_row = export.rows.last().map(|r| r.seq).unwrap_or(0);
    let mut last_time = i64::MIN;
    for s in &export.signatures {
        if hashes.get(&s.seq) != Some(&s.hash) {
            problems.push(format!(
                "signed head at row {}: its hash is not the chain's (rows changed after signing)",
                s.seq
            ));
        }
        if !s.verifies_with(trusted_public_pem) {
            problems.push(format!(
                "signed head at row {}: signature does not verify with the trusted key (re-signed \
                 or altered)",
                s.seq
            ));
        }
        if let Some(at) = latest_row_at.get(&s.seq)
            && s.signed_at_ms + CLOCK_SKEW_MS < *at
        {
            problems.push(format!(
                "signed head at row {}: signed before the rows it covers were written",
                s.seq
            ));
        }
        if s.signed_at_ms < last_time {
            problems.push(format!(
                "signed head at row {}: signed before the previous head",
                s.seq
            ));
        }
        if let Some(gap) = max_gap_ms
            && last_time != i64::MIN
            && s.signed_at_ms - last_time > gap
        {
            problems.push(format!(
                "signed head at row {}: {} ms after the previous signature (bound {gap} ms)",
                s.seq,
                s.signed_at_ms - last_time
            ));
        }
        last_time = last_time.max(s.signed_at_ms);
    }
    if export.signatures.iter().all(|s| s.seq != last_row) {
        problems.push(format!(
            "the newest row {last_row} is not covered by a signed head (rows deleted at the end, \
             or an unsigned export)"
        ));
    }
    if problems.is_empty() {
        Ok(Verified {
            rows: last_row,
            signatures: export.signatures.len(),
            last_signed_at_ms: last_time,
        })
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests;
