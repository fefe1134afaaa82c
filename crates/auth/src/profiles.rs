//! Caller profiles (调用方档案): each outside system calling with a `service` token is a named
//! client with the RPCs it may call and the response fields it may not see
//! (`crates/auth/profiles.toml`, replaced by the county's file through
//! `CIVIL_CALLER_PROFILES_FILE`).
//!
//! [`Access`] is the one decision of the auth layer: the role table ([`Permissions`]) and then,
//! for a `service` caller, its profile. The layer calls [`Access::decide`] for every call; the
//! API reference's permission table ([`Access::table`]) is made by the same function, and the
//! authorisation walk (tests/tests/authorization_walk.rs) checks the running servers against
//! that table.
//!
//! Masking is decided here, per profile and RPC, and applied in one place: the layer puts the
//! [`Hidden`] field paths of the call in the request's extensions and `kit::rpc` clears them
//! from the response message by field path over the descriptor set (prost-reflect), whatever
//! the RPC. Handlers keep their own role-based minimal views; a profile can only take more away.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, LazyLock};

use tonic::{Code, Status};

use crate::permissions::{Allowed, Permissions};
use crate::{Principal, Role};

/// The committed profiles, compiled into every binary (the county's file replaces them).
pub const PROFILES_TOML: &str = include_str!("../profiles.toml");

/// A `service` token without a profile, or naming one the county has not configured.
pub const AUTH_PROFILE_REQUIRED: &str = "AUTH_PROFILE_REQUIRED";
/// The caller profile does not list the RPC (least privilege per calling system).
pub const AUTH_PROFILE_RPC_NOT_ALLOWED: &str = "AUTH_PROFILE_RPC_NOT_ALLOWED";

/// One calling system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    /// The organisation shown to citizens and auditors (never a person).
    pub organisation: String,
    /// `civil.x.v1.XService/Rpc` it may call.
    pub calls: BTreeSet<String>,
    /// Per RPC, the response field paths it may not see.
    pub hide: BTreeMap<String, Vec<String>>,
}

/// The field paths to clear from the response of the call being served (request extension).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hidden(pub Arc<[String]>);

/// The profile table.
#[derive(Clone, Debug, Default)]
pub struct Profiles {
    by_name: BTreeMap<String, Profile>,
}

impl Profiles {
    /// Parses a profile file and checks it against the role table: every RPC a profile calls
    /// must be open to `service` (or anyone) there, and every hidden field must belong to an
    /// RPC the profile calls.
    pub fn parse(text: &str, permissions: &Permissions) -> Result<Self, String> {
        let table: toml::Table = text.parse().map_err(|e| format!("{e}"))?;
        let mut by_name = BTreeMap::new();
        for (name, body) in table {
            let body = body
                .as_table()
                .ok_or_else(|| format!("[{name}] must be a table"))?;
            for key in body.keys() {
                if !["organisation", "calls", "hide"].contains(&key.as_str()) {
                    return Err(format!("[{name}]: unknown key {key}"));
                }
            }
            let organisation = body
                .get("organisation")
                .and_then(|v| v.as_str())
                .filter(|s| !s.trim().is_empty())
                .ok_or_else(|| format!("[{name}]: organisation is required"))?
                .to_owned();
            let strings = |v: &toml::Value, what: &str| -> Result<Vec<String>, String> {
                v.as_array()
                    .ok_or_else(|| format!("[{name}]: {what} must be a list"))?
                    .iter()
                    .map(|s| {
                        s.as_str()
                            .map(str::to_owned)
                            .ok_or_else(|| format!("[{name}]: {what} holds strings"))
                    })
                    .collect()
            };
            let mut calls = BTreeSet::new();
            if let Some(list) = body.get("calls") {
                for rpc in strings(list, "calls")? {
                    match permissions.allowed(&rpc) {
                        Some(Allowed::Anyone) => {}
                        Some(Allowed::Roles(roles)) if roles.contains(&Role::Service) => {}
                        Some(_) => {
                            return Err(format!(
                                "[{name}]: {rpc} is not open to the service role in permissions.toml"
                            ));
                        }
                        None => return Err(format!("[{name}]: {rpc} is not in permissions.toml")),
                    }
                    calls.insert(rpc);
                }
            }
            let mut hide = BTreeMap::new();
            if let Some(h) = body.get("hide") {
                let h = h
                    .as_table()
                    .ok_or_else(|| format!("[{name}.hide] must be a table"))?;
                for (rpc, fields) in h {
                    if !calls.contains(rpc) {
                        return Err(format!(
                            "[{name}.hide]: {rpc} is not among the profile's calls"
                        ));
                    }
                    let fields = strings(fields, &format!("hide of {rpc}"))?;
                    if fields.iter().any(|f| f.is_empty()) {
                        return Err(format!("[{name}.hide]: {rpc}: empty field path"));
                    }
                    hide.insert(rpc.clone(), fields);
                }
            }
            by_name.insert(
                name.clone(),
                Profile {
                    name,
                    organisation,
                    calls,
                    hide,
                },
            );
        }
        Ok(Self { by_name })
    }

    /// The committed profiles. A file that does not parse allows no profile (fail closed); a
    /// unit test keeps that from ever shipping.
    pub fn committed() -> &'static Profiles {
        static TABLE: LazyLock<Profiles> = LazyLock::new(|| {
            Profiles::parse(PROFILES_TOML, Permissions::committed()).unwrap_or_else(|e| {
                tracing::error!(error = %e, "profiles.toml does not parse: no profile is allowed");
                Profiles::default()
            })
        });
        &TABLE
    }

    pub fn get(&self, name: &str) -> Option<&Profile> {
        self.by_name.get(name)
    }

    /// Every profile, by name.
    pub fn all(&self) -> impl Iterator<Item = &Profile> {
        self.by_name.values()
    }
}

/// The auth layer's decision: the role table, then the caller profile.
#[derive(Clone, Debug)]
pub struct Access {
    pub permissions: Arc<Permissions>,
    pub profiles: Arc<Profiles>,
    /// Hidden fields per (profile, method), shared by every call.
    hidden: Arc<HashMap<(String, String), Hidden>>,
}

impl Default for Access {
    fn default() -> Self {
        Self::new(
            Arc::new(Permissions::committed().clone()),
            Arc::new(Profiles::committed().clone()),
        )
    }
}

impl Access {
    pub fn new(permissions: Arc<Permissions>, profiles: Arc<Profiles>) -> Self {
        let hidden = profiles
            .all()
            .flat_map(|p| {
                p.hide.iter().map(|(rpc, fields)| {
                    ((p.name.clone(), rpc.clone()), Hidden(fields.clone().into()))
                })
            })
            .collect();
        Self {
            permissions,
            profiles,
            hidden: Arc::new(hidden),
        }
    }

    /// May `principal` call the HTTP path `/pkg.Service/Rpc`? On yes, the response fields its
    /// profile may not see (none for a person's token).
    pub fn decide(&self, path: &str, principal: &Principal) -> Result<Option<Hidden>, Status> {
        self.permissions.check(path, principal)?;
        if !principal.has_role(Role::Service) {
            return Ok(None);
        }
        let method = path.strip_prefix('/').unwrap_or(path);
        let Some(profile) = principal
            .profile
            .as_deref()
            .and_then(|name| self.profiles.get(name))
        else {
            return Err(profile_required(principal.profile.as_deref()));
        };
        if !profile.calls.contains(method) {
            return Err(profile_rpc_not_allowed(&profile.name));
        }
        Ok(self
            .hidden
            .get(&(profile.name.clone(), method.to_owned()))
            .cloned())
    }

    /// The callers of the permission table: every role except `service` (which only exists
    /// through a profile), then every profile.
    pub fn callers(&self) -> Vec<(String, Principal)> {
        let mut out: Vec<(String, Principal)> = Role::ALL
            .iter()
            .filter(|r| **r != Role::Service)
            .map(|r| (r.name(), caller_of(&[*r], None)))
            .collect();
        for p in self.profiles.all() {
            out.push((
                format!("profile:{}", p.name),
                caller_of(&[Role::Service], Some(&p.name)),
            ));
        }
        out
    }

    /// The API reference's permission section: one row per method (`civil.x.v1.XService/Rpc`,
    /// in the order given), one column per role and caller profile; `Y` may call, `·` is
    /// refused by the auth layer, `Y*` may call with fields hidden (listed below the table).
    pub fn table(&self, methods: &[String]) -> String {
        let callers = self.callers();
        let mut out = String::from(PERMISSION_TABLE_HEAD);
        out.push_str("| RPC |");
        for (name, _) in &callers {
            out.push_str(&format!(" {} |", name.trim_start_matches("profile:")));
        }
        out.push_str("\n|---|");
        for _ in &callers {
            out.push_str("---|");
        }
        out.push('\n');
        for m in methods {
            out.push_str(&format!("| `{}` |", short(m)));
            for (_, p) in &callers {
                out.push_str(&format!(" {} |", cell(&self.decide(&format!("/{m}"), p))));
            }
            out.push('\n');
        }
        out.push_str("\n## Caller profiles\n\n");
        out.push_str(
            "Column headers after `security_admin` are caller profiles (crates/auth/profiles.toml): \
             a `service` token must name one.\n\n",
        );
        for p in self.profiles.all() {
            out.push_str(&format!("### {} — {}\n\n", p.name, p.organisation));
            if p.hide.is_empty() {
                out.push_str("Sees every field of the RPCs it may call.\n\n");
            }
            for (rpc, fields) in &p.hide {
                out.push_str(&format!(
                    "- `{}` hides {}\n",
                    short(rpc),
                    fields
                        .iter()
                        .map(|f| format!("`{f}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            if !p.hide.is_empty() {
                out.push('\n');
            }
        }
        out
    }
}

/// Heading and legend of the permission table.
pub const PERMISSION_TABLE_HEAD: &str = "# Who may call what\n\n\
Generated by `cargo run -p edge --bin api-docs` from crates/auth/permissions.toml and \
crates/auth/profiles.toml; the authorisation walk (tests/tests/authorization_walk.rs) calls every \
RPC with every role and caller profile, with a token of the county and one of another county, \
and fails when the running servers answer otherwise.\n\n\
`Y`: the auth layer lets the call through; `Y*`: through, with the fields listed under the \
profile cleared from the answer; `·`: refused before the service sees the request \
(PERMISSION_DENIED, AUTH_ROLE_REQUIRED, AUTH_METHOD_UNLISTED or AUTH_PROFILE_RPC_NOT_ALLOWED). \
The layer's answer does not depend on the region: region scope (AUTH_REGION_OUT_OF_SCOPE) is \
decided by each RPC on the record it reads, so a caller of another county gets the same row here \
and then sees only what lies in its region.\n\n";

/// A table cell for a decision.
pub fn cell(decision: &Result<Option<Hidden>, Status>) -> &'static str {
    match decision {
        Ok(None) => "Y",
        Ok(Some(_)) => "Y*",
        Err(_) => "·",
    }
}

/// `marriage.MarriageService/GetMarriage` of `civil.marriage.v1.MarriageService/GetMarriage`.
fn short(method: &str) -> String {
    let (service, rpc) = method.split_once('/').unwrap_or((method, ""));
    let name = service.rsplit('.').next().unwrap_or(service);
    format!("{name}/{rpc}")
}

/// A synthetic caller of the table (subject `table`, county scope).
fn caller_of(roles: &[Role], profile: Option<&str>) -> Principal {
    Principal {
        subject: "table".into(),
        name: "table".into(),
        roles: roles.to_vec(),
        region: "330723".into(),
        organisation: None,
        on_behalf_of: None,
        profile: profile.map(str::to_owned),
        id_number: None,
    }
}

pub fn profile_required(named: Option<&str>) -> Status {
    let (message, zh) = match named {
        None => (
            "a service token must name its caller profile (claim `profile`): ask the county \
             for one, or in development use `civil token --profile NAME`"
                .to_owned(),
            "系统调用令牌须注明调用方档案（profile），请向县民政局申请".to_owned(),
        ),
        Some(name) => (
            format!("the caller profile {name} is not configured in this county"),
            format!("调用方档案 {name} 未在本县配置"),
        ),
    };
    crate::reasons::status(
        Code::PermissionDenied,
        AUTH_PROFILE_REQUIRED,
        &message,
        &zh,
        HashMap::new(),
    )
}

pub fn profile_rpc_not_allowed(profile: &str) -> Status {
    crate::reasons::status(
        Code::PermissionDenied,
        AUTH_PROFILE_RPC_NOT_ALLOWED,
        &format!("the caller profile {profile} may not call this method"),
        &format!("调用方档案 {profile} 无权调用此接口"),
        HashMap::from([("profile".to_owned(), profile.to_owned())]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic_types::StatusExt;

    fn reason(s: &Status) -> String {
        s.get_details_error_info()
            .map(|i| i.reason)
            .unwrap_or_default()
    }

    fn service(profile: Option<&str>) -> Principal {
        caller_of(&[Role::Service], profile)
    }

    const MARITAL: &str = "/civil.marriage.v1.MarriageService/GetMaritalStatus";

    #[test]
    fn the_committed_profiles_parse_against_the_committed_permissions() {
        let p = Profiles::parse(PROFILES_TOML, Permissions::committed()).expect("parses");
        for name in [
            "onematter",
            "household_register",
            "medical_insurance",
            "social_insurance",
            "other_county_civil_affairs",
        ] {
            assert!(p.get(name).is_some(), "{name}");
        }
    }

    #[test]
    fn a_service_token_without_a_profile_is_refused() {
        let err = Access::default()
            .decide(MARITAL, &service(None))
            .expect_err("no profile");
        assert_eq!(err.code(), Code::PermissionDenied);
        assert_eq!(reason(&err), AUTH_PROFILE_REQUIRED);
        let err = Access::default()
            .decide(MARITAL, &service(Some("tax_bureau")))
            .expect_err("unknown profile");
        assert_eq!(reason(&err), AUTH_PROFILE_REQUIRED);
    }

    #[test]
    fn the_household_register_sees_the_marital_state_without_the_spouse() {
        let hidden = Access::default()
            .decide(MARITAL, &service(Some("household_register")))
            .expect("listed")
            .expect("fields hidden");
        assert!(hidden.0.iter().any(|f| f == "spouse"), "{hidden:?}");
        let full = Access::default()
            .decide(MARITAL, &service(Some("onematter")))
            .expect("listed");
        assert_eq!(full, None);
    }

    #[test]
    fn a_profile_calls_only_the_rpcs_it_lists() {
        let err = Access::default()
            .decide(
                "/civil.assistance.v1.AssistanceService/GetApplication",
                &service(Some("household_register")),
            )
            .expect_err("not listed for the household register");
        assert_eq!(err.code(), Code::PermissionDenied);
        assert_eq!(reason(&err), AUTH_PROFILE_RPC_NOT_ALLOWED);
    }

    #[test]
    fn a_profile_cannot_list_an_rpc_closed_to_the_service_role() {
        let err = Profiles::parse(
            "[x]\norganisation = \"X\"\ncalls = [\"civil.marriage.v1.MarriageService/RegisterMarriage\"]\n",
            Permissions::committed(),
        )
        .expect_err("RegisterMarriage is for registrars");
        assert!(err.contains("not open to the service role"), "{err}");
    }

    #[test]
    fn a_profile_cannot_hide_fields_of_an_rpc_it_does_not_call() {
        let err = Profiles::parse(
            "[x]\norganisation = \"X\"\ncalls = []\n[x.hide]\n\"civil.marriage.v1.MarriageService/GetMaritalStatus\" = [\"spouse\"]\n",
            Permissions::committed(),
        )
        .expect_err("hide without call");
        assert!(err.contains("not among the profile's calls"), "{err}");
    }

    #[test]
    fn a_person_is_decided_by_the_role_table_alone() {
        let registrar = caller_of(&[Role::Registrar], None);
        assert_eq!(
            Access::default().decide(MARITAL, &registrar).ok(),
            Some(None)
        );
        let citizen = caller_of(&[Role::Citizen], None);
        assert!(Access::default().decide(MARITAL, &citizen).is_err());
    }
}
