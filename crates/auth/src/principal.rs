use serde::{Deserialize, Serialize};
use tonic::Status;

/// A role the county identity provider grants. Unknown role names in a token are ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 市民: a resident acting for themselves or their family (portal).
    Citizen,
    /// 婚姻登记员: marriage registrar.
    Registrar,
    /// 乡镇经办人: township clerk (assistance applications, visits).
    TownshipClerk,
    /// 县级审批人: county approver.
    CountyApprover,
    /// 核对中心: household economic checking centre staff.
    CheckingCentre,
    /// 殡仪馆: funeral home staff.
    FuneralHome,
    /// 养老服务人员: elderly care staff (bureau or township).
    EldercareStaff,
    /// 养老机构运营者: institution operator.
    InstitutionOperator,
    /// 社会组织管理: social organisation officer.
    SocialOrgOfficer,
    /// 地名管理: place-name officer.
    PlaceNameOfficer,
    /// 运维: operator of the one-matter aggregator (retry, resume, cancel cases).
    Operator,
    /// 审计管理员: reads and verifies the audit trail; may not change data.
    Auditor,
    /// 系统管理员.
    SysAdmin,
    /// 安全管理员.
    SecurityAdmin,
    /// Another service of this suite, calling with its own credential.
    Service,
}

impl Role {
    /// Every role, in declaration order (tools list them, e.g. `civil token`'s refusal).
    pub const ALL: [Role; 15] = [
        Role::Citizen,
        Role::Registrar,
        Role::TownshipClerk,
        Role::CountyApprover,
        Role::CheckingCentre,
        Role::FuneralHome,
        Role::EldercareStaff,
        Role::InstitutionOperator,
        Role::SocialOrgOfficer,
        Role::PlaceNameOfficer,
        Role::Operator,
        Role::Auditor,
        Role::SysAdmin,
        Role::SecurityAdmin,
        Role::Service,
    ];

    /// Parses the snake_case name used in tokens (`township_clerk`).
    pub fn from_name(name: &str) -> Option<Role> {
        serde_json::from_value(serde_json::Value::String(name.to_owned())).ok()
    }

    /// The snake_case name used in tokens and in `permissions.toml`.
    pub fn name(self) -> String {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::String(s)) => s,
            _ => format!("{self:?}"),
        }
    }

    /// Administrative roles need a second authentication factor (等保 2.0 level 3).
    pub fn is_administrative(self) -> bool {
        matches!(self, Role::Auditor | Role::SysAdmin | Role::SecurityAdmin)
    }

    /// Roles allowed to see full identity numbers in responses (others see them masked).
    pub fn sees_full_identity_numbers(self) -> bool {
        matches!(
            self,
            Role::Registrar
                | Role::TownshipClerk
                | Role::CountyApprover
                | Role::FuneralHome
                | Role::Service
        )
    }
}

/// The person a service principal acts for (recorded in the audit trail).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnBehalfOf {
    pub subject: String,
}

/// The authenticated caller of an RPC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub subject: String,
    pub name: String,
    pub roles: Vec<Role>,
    /// Region scope: a division-code prefix (2, 4, 6, 9 or 12 digits). The caller sees only
    /// records whose region starts with it.
    pub region: String,
    pub organisation: Option<String>,
    pub on_behalf_of: Option<OnBehalfOf>,
    /// The caller profile (调用方档案) a `service` token names: which calling system this is
    /// (`household_register`, `onematter`, ...), see [`crate::profiles`].
    pub profile: Option<String>,
    /// The identity number the identity provider verified for a citizen (实名认证, claim
    /// `idn`): the citizen's view of their own record is keyed by it, never by a request field.
    pub id_number: Option<ClaimedIdNumber>,
}

/// An identity number from a token claim. Its `Debug` shows nothing: a principal may be
/// logged, the number never is.
#[derive(Clone, PartialEq, Eq)]
pub struct ClaimedIdNumber(pub String);

impl std::fmt::Debug for ClaimedIdNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClaimedIdNumber(..)")
    }
}

impl Principal {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Checks role and region scope: the caller holds one of `allowed`, and when the record has a
    /// region, the caller's region is a prefix of it (a township clerk sees only that township).
    pub fn authorize(&self, allowed: &[Role], record_region: Option<&str>) -> Result<(), Status> {
        if !allowed.iter().any(|r| self.has_role(*r)) {
            return Err(crate::reasons::role_required(
                &allowed
                    .iter()
                    .map(|r| r.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            ));
        }
        if let Some(region) = record_region
            && !self.covers_region(region)
        {
            return Err(crate::reasons::region_out_of_scope());
        }
        Ok(())
    }

    /// True when `region` lies within the caller's region scope.
    pub fn covers_region(&self, region: &str) -> bool {
        !self.region.is_empty() && region.starts_with(&self.region)
    }

    /// Whether responses to this caller may carry full identity numbers.
    pub fn sees_full_identity_numbers(&self) -> bool {
        self.roles.iter().any(|r| r.sees_full_identity_numbers())
    }

    /// An identity number as this caller may see it: whole for a role that sees numbers in
    /// full, masked otherwise (the one place every service's views decide it).
    pub fn shown_identity_number(&self, id_number: &str) -> String {
        if self.sees_full_identity_numbers() {
            id_number.to_owned()
        } else {
            civil_id::mask_id_number(id_number)
        }
    }

    /// The subject recorded in audit rows as "on whose behalf".
    pub fn on_behalf_of_subject(&self) -> &str {
        self.on_behalf_of
            .as_ref()
            .map(|o| o.subject.as_str())
            .unwrap_or("")
    }
}

/// Returns the principal the auth layer attached to this request.
pub fn principal<T>(request: &tonic::Request<T>) -> Result<&Principal, Status> {
    request
        .extensions()
        .get::<std::sync::Arc<Principal>>()
        .map(|p| p.as_ref())
        .ok_or_else(crate::reasons::token_missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clerk(region: &str) -> Principal {
        Principal {
            subject: "u1".into(),
            name: "clerk".into(),
            roles: vec![Role::TownshipClerk],
            region: region.into(),
            organisation: None,
            on_behalf_of: None,
            profile: None,
            id_number: None,
        }
    }

    #[test]
    fn a_township_clerk_sees_villages_of_the_township_only() {
        let p = clerk("330723001");
        assert!(
            p.authorize(&[Role::TownshipClerk], Some("330723001002"))
                .is_ok()
        );
        let err = p
            .authorize(&[Role::TownshipClerk], Some("330723002001"))
            .unwrap_err();
        assert_eq!(err.code(), tonic::Code::PermissionDenied);
    }

    #[test]
    fn a_county_scope_does_not_reach_the_neighbouring_county() {
        let p = clerk("330723");
        assert!(p.covers_region("330723101"));
        assert!(!p.covers_region("330724101"));
    }

    #[test]
    fn the_wrong_role_is_denied_even_in_region() {
        let p = clerk("330723");
        let err = p
            .authorize(&[Role::CountyApprover], Some("330723"))
            .unwrap_err();
        assert_eq!(err.code(), tonic::Code::PermissionDenied);
    }

    #[test]
    fn an_empty_region_scope_covers_nothing() {
        let p = clerk("");
        assert!(!p.covers_region("330723"));
    }
}
