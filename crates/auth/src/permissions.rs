//! The permission table: which roles may call which gRPC method, checked by the auth layer
//! before the service sees the request (so a role that may not call an RPC learns nothing
//! about what the request would have needed). The table is `crates/auth/permissions.toml`.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use tonic::{Code, Status};

use crate::{Principal, Role};

/// The committed table, compiled into every binary.
pub const PERMISSIONS_TOML: &str = include_str!("../permissions.toml");

/// Reason of the PERMISSION_DENIED answered to a role the method does not allow.
pub const AUTH_ROLE_REQUIRED: &str = "AUTH_ROLE_REQUIRED";
/// Reason of the PERMISSION_DENIED answered for a method the table does not list.
pub const AUTH_METHOD_UNLISTED: &str = "AUTH_METHOD_UNLISTED";
/// `ErrorInfo.domain` of auth refusals (the same domain as every civil.* refusal).
pub const ERROR_DOMAIN: &str = "civil.county.gov.cn";

/// Who may call a method.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Allowed {
    /// Any authenticated caller (`"*"`).
    Anyone,
    Roles(Vec<Role>),
}

/// Method path (`civil.x.v1.XService/Rpc`) -> allowed roles.
#[derive(Clone, Debug, Default)]
pub struct Permissions {
    methods: HashMap<String, Allowed>,
}

impl Permissions {
    /// Parses a table; an unknown role name or a malformed entry is an error.
    pub fn parse(text: &str) -> Result<Self, String> {
        let table: toml::Table = text.parse().map_err(|e| format!("{e}"))?;
        let mut methods = HashMap::new();
        for (service, rpcs) in table {
            let rpcs = rpcs
                .as_table()
                .ok_or_else(|| format!("[{service}] must be a table"))?;
            for (rpc, roles) in rpcs {
                let names = roles
                    .as_array()
                    .ok_or_else(|| format!("{service}/{rpc} must list roles"))?;
                let mut list = Vec::new();
                let mut anyone = false;
                for n in names {
                    let n = n
                        .as_str()
                        .ok_or_else(|| format!("{service}/{rpc}: roles are strings"))?;
                    if n == "*" {
                        anyone = true;
                    } else {
                        list.push(
                            Role::from_name(n)
                                .ok_or_else(|| format!("{service}/{rpc}: unknown role {n}"))?,
                        );
                    }
                }
                let allowed = if anyone {
                    Allowed::Anyone
                } else {
                    Allowed::Roles(list)
                };
                methods.insert(format!("{service}/{rpc}"), allowed);
            }
        }
        Ok(Self { methods })
    }

    /// The committed table. A table that does not parse denies everything (fail closed); a
    /// unit test keeps that from ever shipping.
    pub fn committed() -> &'static Permissions {
        static TABLE: LazyLock<Permissions> = LazyLock::new(|| {
            Permissions::parse(PERMISSIONS_TOML).unwrap_or_else(|e| {
                tracing::error!(error = %e, "permissions.toml does not parse: every call is denied");
                Permissions::default()
            })
        });
        &TABLE
    }

    /// Every listed method (`civil.x.v1.XService/Rpc`).
    pub fn methods(&self) -> HashSet<&str> {
        self.methods.keys().map(String::as_str).collect()
    }

    /// Who may call `method` (`civil.x.v1.XService/Rpc`, without the leading slash).
    pub fn allowed(&self, method: &str) -> Option<&Allowed> {
        self.methods.get(method)
    }

    /// Checks the caller's roles against the table for the HTTP path `/pkg.Service/Rpc`.
    pub fn check(&self, path: &str, principal: &Principal) -> Result<(), Status> {
        let method = path.strip_prefix('/').unwrap_or(path);
        match self.methods.get(method) {
            None => Err(denied(
                AUTH_METHOD_UNLISTED,
                "this method is not in the permission table",
            )),
            Some(Allowed::Anyone) => Ok(()),
            Some(Allowed::Roles(roles)) if roles.iter().any(|r| principal.has_role(*r)) => Ok(()),
            Some(Allowed::Roles(roles)) => Err(crate::reasons::role_required(
                &roles
                    .iter()
                    .map(|r| r.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            )),
        }
    }
}

fn denied(reason: &str, message: &str) -> Status {
    crate::reasons::status(
        Code::PermissionDenied,
        reason,
        message,
        "此方法未列入权限表，任何角色均不可调用",
        HashMap::new(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic_types::StatusExt;

    fn caller(roles: &[Role]) -> Principal {
        Principal {
            subject: "u".into(),
            name: "u".into(),
            roles: roles.to_vec(),
            region: "330723".into(),
            organisation: None,
            on_behalf_of: None,
            profile: None,
            id_number: None,
        }
    }

    #[test]
    fn the_committed_table_parses_with_known_roles_only() {
        let table = Permissions::parse(PERMISSIONS_TOML).expect("permissions.toml parses");
        assert!(table.methods().len() >= 89, "{}", table.methods().len());
    }

    #[test]
    fn a_role_not_listed_is_denied_with_its_reason() {
        let t = Permissions::parse("[\"a.v1.S\"]\nGet = [\"registrar\"]\n").expect("parses");
        let err = t
            .check("/a.v1.S/Get", &caller(&[Role::Citizen]))
            .expect_err("citizen is not listed");
        assert_eq!(err.code(), Code::PermissionDenied);
        assert_eq!(
            err.get_details_error_info().map(|i| i.reason).as_deref(),
            Some(AUTH_ROLE_REQUIRED)
        );
        assert!(t.check("/a.v1.S/Get", &caller(&[Role::Registrar])).is_ok());
    }

    #[test]
    fn an_unlisted_method_is_denied_to_everyone() {
        let t = Permissions::parse("[\"a.v1.S\"]\nGet = [\"*\"]\n").expect("parses");
        assert!(t.check("/a.v1.S/Get", &caller(&[Role::Citizen])).is_ok());
        let err = t
            .check("/a.v1.S/Put", &caller(&[Role::SysAdmin]))
            .expect_err("unlisted");
        assert_eq!(err.code(), Code::PermissionDenied);
    }

    #[test]
    fn an_unknown_role_name_is_a_table_error() {
        assert!(Permissions::parse("[\"a.v1.S\"]\nGet = [\"clerk\"]\n").is_err());
    }

    #[test]
    fn the_overdue_list_is_not_open_to_other_bureaus() {
        let t = Permissions::committed();
        let err = t
            .check(
                "/civil.assistance.v1.AssistanceService/ListOverdueApplications",
                &caller(&[Role::Service]),
            )
            .expect_err("service is not documented for the overdue list");
        assert_eq!(err.code(), Code::PermissionDenied);
    }
}
