//! ES256 bearer tokens: verification against a JWKS, and a dev issuer for local use.
//!
//! Claims: `sub`, `name`, `roles`, `region` (division-code prefix), `org`, `amr`
//! (authentication methods; administrative roles need a second factor there), `iss`, `aud`, `exp`.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use serde::{Deserialize, Serialize};

use crate::{Principal, Role};

/// Issuer name of the dev issuer; production tokens come from the county identity provider.
pub const DEV_ISSUER: &str = "civil-dev-issuer";
/// Audience every civil service expects.
pub const AUDIENCE: &str = "civil";

/// Authentication methods that count as a second factor (RFC 8176 values).
const SECOND_FACTORS: &[&str] = &["mfa", "otp", "hwk", "sms", "swk", "fpt"];

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("token rejected: {0}")]
    Invalid(#[from] jsonwebtoken::errors::Error),
    #[error("token signed with an unknown key")]
    UnknownKey,
    #[error("administrative roles need a second authentication factor")]
    SecondFactorRequired,
    #[error("bad key material: {0}")]
    Key(String),
    #[error("a caller profile is only for a token whose only role is service")]
    ProfileWithoutService,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub region: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// The caller profile of a `service` token (`crate::profiles`): which calling system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// 实名认证: the identity number the identity provider verified (citizen tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idn: Option<String>,
    #[serde(default)]
    pub amr: Vec<String>,
    pub iss: String,
    pub aud: String,
    pub exp: u64,
    pub iat: u64,
}

/// Verifies bearer tokens against a set of ES256 public keys.
#[derive(Clone)]
pub struct Verifier {
    keys: Vec<(Option<String>, DecodingKey)>,
    validation: Validation,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("keys", &self.keys.len())
            .finish()
    }
}

impl Verifier {
    /// Builds a verifier from a JWKS document (`{"keys":[{"kty":"EC","crv":"P-256",...}]}`).
    pub fn from_jwks_json(jwks: &str, issuer: &str, audience: &str) -> Result<Self, TokenError> {
        let set: JwkSet = serde_json::from_str(jwks).map_err(|e| TokenError::Key(e.to_string()))?;
        let mut keys = Vec::new();
        for jwk in &set.keys {
            keys.push((jwk.common.key_id.clone(), DecodingKey::from_jwk(jwk)?));
        }
        if keys.is_empty() {
            return Err(TokenError::Key("the JWKS holds no key".into()));
        }
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.leeway = 30;
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        Ok(Self { keys, validation })
    }

    /// Verifies signature, issuer, audience and expiry, then maps the claims to a principal.
    pub fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        self.verify_with_lifetime(token).map(|(p, _)| p)
    }

    /// Like [`Verifier::verify`], also returning how long the token stays valid.
    pub fn verify_with_lifetime(&self, token: &str) -> Result<(Principal, Duration), TokenError> {
        let header = jsonwebtoken::decode_header(token)?;
        let candidates = self
            .keys
            .iter()
            .filter(|(kid, _)| header.kid.is_none() || kid.is_none() || *kid == header.kid);
        let mut last = TokenError::UnknownKey;
        for (_, key) in candidates {
            match jsonwebtoken::decode::<Claims>(token, key, &self.validation) {
                Ok(data) => {
                    let now = SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .map(|d| d.as_secs())
                        .unwrap_or(0);
                    let left = Duration::from_secs(data.claims.exp.saturating_sub(now));
                    return principal_from_claims(data.claims).map(|p| (p, left));
                }
                Err(e) => last = TokenError::Invalid(e),
            }
        }
        Err(last)
    }
}

fn principal_from_claims(claims: Claims) -> Result<Principal, TokenError> {
    let roles: Vec<Role> = claims
        .roles
        .iter()
        .filter_map(|r| serde_json::from_value(serde_json::Value::String(r.clone())).ok())
        .collect();
    let second_factor = claims
        .amr
        .iter()
        .any(|m| SECOND_FACTORS.contains(&m.as_str()));
    if roles.iter().any(|r| r.is_administrative()) && !second_factor {
        return Err(TokenError::SecondFactorRequired);
    }
    // A profile names a calling system; a person's roles never ride along with it.
    if claims.profile.is_some() && roles != [Role::Service] {
        return Err(TokenError::ProfileWithoutService);
    }
    Ok(Principal {
        subject: claims.sub,
        name: claims.name,
        roles,
        region: claims.region,
        organisation: claims.org,
        on_behalf_of: None,
        profile: claims.profile,
        id_number: claims.idn.map(crate::principal::ClaimedIdNumber),
    })
}

/// What a minted token says about its holder.
#[derive(Debug, Clone)]
pub struct TokenSpec {
    pub subject: String,
    pub name: String,
    pub roles: Vec<Role>,
    pub region: String,
    pub organisation: Option<String>,
    /// Whether the holder passed a second factor (sets `amr: ["pwd","otp"]`).
    pub second_factor: bool,
    /// The caller profile of a calling system (roles must then be `service` only).
    pub profile: Option<String>,
    /// The verified identity number (claim `idn`) of a citizen.
    pub id_number: Option<String>,
}

impl TokenSpec {
    pub fn new(subject: &str, roles: &[Role], region: &str) -> Self {
        Self {
            subject: subject.into(),
            name: subject.into(),
            roles: roles.to_vec(),
            region: region.into(),
            organisation: None,
            second_factor: false,
            profile: None,
            id_number: None,
        }
    }

    /// A calling system's token: role `service`, the named caller profile.
    pub fn for_profile(subject: &str, profile: &str, region: &str) -> Self {
        Self {
            profile: Some(profile.to_owned()),
            ..Self::new(subject, &[Role::Service], region)
        }
    }
}

/// Mints ES256 tokens for local use and tests. Its key lives in the data directory so tokens
/// survive restarts of `civil serve`.
#[derive(Clone)]
pub struct DevIssuer {
    encoding: EncodingKey,
    kid: String,
    jwks_json: String,
}

impl DevIssuer {
    /// A fresh key pair, kept in memory only.
    pub fn generate() -> Self {
        let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
        Self::from_secret(&secret).expect("a fresh P-256 key encodes")
    }

    /// Loads `dev-issuer-key.pem` from `dir`, creating it on first use.
    pub fn load_or_create(dir: &Path) -> Result<Self, TokenError> {
        let path = dir.join("dev-issuer-key.pem");
        let secret = if path.exists() {
            let pem = std::fs::read_to_string(&path).map_err(|e| TokenError::Key(e.to_string()))?;
            p256::SecretKey::from_pkcs8_pem(&pem).map_err(|e| TokenError::Key(e.to_string()))?
        } else {
            std::fs::create_dir_all(dir).map_err(|e| TokenError::Key(e.to_string()))?;
            let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
            let pem = secret
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|e| TokenError::Key(e.to_string()))?;
            std::fs::write(&path, pem.as_bytes()).map_err(|e| TokenError::Key(e.to_string()))?;
            secret
        };
        Self::from_secret(&secret)
    }

    fn from_secret(secret: &p256::SecretKey) -> Result<Self, TokenError> {
        use base64::Engine as _;
        let pem = secret
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| TokenError::Key(e.to_string()))?;
        let encoding = EncodingKey::from_ec_pem(pem.as_bytes())?;
        let point = secret.public_key().to_encoded_point(false);
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let x = b64.encode(point.x().ok_or_else(|| TokenError::Key("no x".into()))?);
        let y = b64.encode(point.y().ok_or_else(|| TokenError::Key("no y".into()))?);
        let kid = format!(
            "dev-{}",
            &hex::encode(sha2::Digest::finalize(sha2::Sha256::new_with_prefix(
                x.as_bytes()
            )))[..12]
        );
        let jwk: Jwk = serde_json::from_value(serde_json::json!({
            "kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": kid, "alg": "ES256", "use": "sig"
        }))
        .map_err(|e| TokenError::Key(e.to_string()))?;
        let jwks_json = serde_json::to_string(&JwkSet { keys: vec![jwk] })
            .map_err(|e| TokenError::Key(e.to_string()))?;
        Ok(Self {
            encoding,
            kid,
            jwks_json,
        })
    }

    /// The public keys, as a JWKS document services can be configured with.
    pub fn jwks_json(&self) -> &str {
        &self.jwks_json
    }

    /// A verifier that accepts this issuer's tokens.
    pub fn verifier(&self) -> Verifier {
        Verifier::from_jwks_json(&self.jwks_json, DEV_ISSUER, AUDIENCE).expect("own JWKS is valid")
    }

    /// Mints a token valid for `ttl`.
    pub fn mint(&self, spec: &TokenSpec, ttl: Duration) -> String {
        self.mint_claims(&self.claims(spec, ttl))
    }

    /// Builds the claims `mint` would sign (tests alter them to forge bad tokens).
    pub fn claims(&self, spec: &TokenSpec, ttl: Duration) -> Claims {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Claims {
            sub: spec.subject.clone(),
            name: spec.name.clone(),
            roles: spec
                .roles
                .iter()
                .filter_map(|r| {
                    serde_json::to_value(r)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                })
                .collect(),
            region: spec.region.clone(),
            org: spec.organisation.clone(),
            profile: spec.profile.clone(),
            idn: spec.id_number.clone(),
            amr: if spec.second_factor {
                vec!["pwd".into(), "otp".into()]
            } else {
                vec!["pwd".into()]
            },
            iss: DEV_ISSUER.into(),
            aud: AUDIENCE.into(),
            exp: now + ttl.as_secs(),
            iat: now,
        }
    }

    /// Signs arbitrary claims with this issuer's key.
    pub fn mint_claims(&self, claims: &Claims) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .expect("ES256 signing with a valid key")
    }
}

use sha2::Digest as _;

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> TokenSpec {
        TokenSpec::new("registrar-1", &[Role::Registrar], "330723")
    }

    #[test]
    fn a_minted_token_verifies_to_its_principal() {
        let issuer = DevIssuer::generate();
        let token = issuer.mint(&spec(), Duration::from_secs(60));
        let p = issuer.verifier().verify(&token).expect("valid");
        assert_eq!(p.subject, "registrar-1");
        assert_eq!(p.roles, vec![Role::Registrar]);
        assert_eq!(p.region, "330723");
    }

    #[test]
    fn an_expired_token_is_rejected() {
        let issuer = DevIssuer::generate();
        let mut claims = issuer.claims(&spec(), Duration::from_secs(60));
        claims.exp -= 3600;
        let token = issuer.mint_claims(&claims);
        assert!(issuer.verifier().verify(&token).is_err());
    }

    #[test]
    fn a_token_from_another_key_is_rejected() {
        let forger = DevIssuer::generate();
        let real = DevIssuer::generate();
        let token = forger.mint(&spec(), Duration::from_secs(60));
        assert!(real.verifier().verify(&token).is_err());
    }

    #[test]
    fn a_token_for_another_audience_is_rejected() {
        let issuer = DevIssuer::generate();
        let mut claims = issuer.claims(&spec(), Duration::from_secs(60));
        claims.aud = "payroll".into();
        assert!(
            issuer
                .verifier()
                .verify(&issuer.mint_claims(&claims))
                .is_err()
        );
    }

    #[test]
    fn a_tampered_payload_is_rejected() {
        let issuer = DevIssuer::generate();
        let token = issuer.mint(&spec(), Duration::from_secs(60));
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let other = issuer.mint(
            &TokenSpec::new("x", &[Role::CountyApprover], "33"),
            Duration::from_secs(60),
        );
        parts[1] = other.split('.').nth(1).unwrap_or_default().to_owned();
        assert!(issuer.verifier().verify(&parts.join(".")).is_err());
    }

    #[test]
    fn an_auditor_without_second_factor_is_refused() {
        let issuer = DevIssuer::generate();
        let mut s = TokenSpec::new("aud-1", &[Role::Auditor], "330723");
        let token = issuer.mint(&s, Duration::from_secs(60));
        assert!(matches!(
            issuer.verifier().verify(&token),
            Err(TokenError::SecondFactorRequired)
        ));
        s.second_factor = true;
        let token = issuer.mint(&s, Duration::from_secs(60));
        assert!(issuer.verifier().verify(&token).is_ok());
    }

    #[test]
    fn the_key_survives_a_reload_from_disk() {
        let dir = tempfile::tempdir().expect("tmp");
        let a = DevIssuer::load_or_create(dir.path()).expect("create");
        let b = DevIssuer::load_or_create(dir.path()).expect("load");
        let token = a.mint(&spec(), Duration::from_secs(60));
        assert!(b.verifier().verify(&token).is_ok());
    }
}
