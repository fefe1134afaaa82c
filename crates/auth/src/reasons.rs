//! Refusals of the auth layer a caller can act on: each carries an `ErrorInfo` with a stable
//! reason (domain [`ERROR_DOMAIN`]), an English message saying what to do, and a zh-CN
//! `LocalizedMessage` beside it. No library text (a JWT or base64 error) reaches the caller;
//! it goes to the log.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

pub use crate::permissions::{AUTH_METHOD_UNLISTED, AUTH_ROLE_REQUIRED, ERROR_DOMAIN};

/// No `authorization: Bearer <token>` header.
pub const AUTH_TOKEN_MISSING: &str = "AUTH_TOKEN_MISSING";
/// The token's `exp` has passed.
pub const AUTH_TOKEN_EXPIRED: &str = "AUTH_TOKEN_EXPIRED";
/// The token does not parse, is not signed by a trusted key, or is for another issuer/audience.
pub const AUTH_TOKEN_INVALID: &str = "AUTH_TOKEN_INVALID";
/// An administrative role without a second authentication factor (等保 2.0 level 3).
pub const AUTH_SECOND_FACTOR_REQUIRED: &str = "AUTH_SECOND_FACTOR_REQUIRED";
/// The record lies outside the caller's region scope.
pub const AUTH_REGION_OUT_OF_SCOPE: &str = "AUTH_REGION_OUT_OF_SCOPE";
/// The token combines roles the county declares incompatible (separation of duties).
pub const AUTH_ROLES_INCOMPATIBLE: &str = "AUTH_ROLES_INCOMPATIBLE";
/// Only a service of the suite may name the person it acts for.
pub const AUTH_ON_BEHALF_OF_FORBIDDEN: &str = "AUTH_ON_BEHALF_OF_FORBIDDEN";
/// The on-behalf-of header is not a usable subject (not ASCII).
pub const AUTH_ON_BEHALF_OF_INVALID: &str = "AUTH_ON_BEHALF_OF_INVALID";
/// A two-person step (maker -> checker) checked by the person who made it.
pub const MAKER_CHECKER_SAME_PERSON: &str = "MAKER_CHECKER_SAME_PERSON";

/// How to get a token, for the AUTH_TOKEN_MISSING message.
const HOW_TO_GET_A_TOKEN: &str = "send 'authorization: Bearer <token>'; get a token from the \
     county identity provider, or in development with `civil token --role R --region CODE`";

/// A status with `code`, the English `message`, ErrorInfo `reason` (with `metadata`) and a
/// zh-CN LocalizedMessage.
pub fn status(
    code: Code,
    reason: &str,
    message: &str,
    zh: &str,
    metadata: HashMap<String, String>,
) -> Status {
    let mut details = ErrorDetails::with_error_info(reason, ERROR_DOMAIN, metadata);
    details.set_localized_message("zh-CN", zh);
    Status::with_error_details(code, message, details)
}

pub fn token_missing() -> Status {
    status(
        Code::Unauthenticated,
        AUTH_TOKEN_MISSING,
        &format!("no bearer token: {HOW_TO_GET_A_TOKEN}"),
        "缺少访问令牌：请向县统一身份认证平台申请令牌（开发环境可用 `civil token --role 角色 --region 区划代码` 生成），并以 'authorization: Bearer <令牌>' 发送",
        HashMap::new(),
    )
}

pub fn token_malformed_header() -> Status {
    status(
        Code::Unauthenticated,
        AUTH_TOKEN_MISSING,
        &format!("the authorization header must be 'Bearer <token>': {HOW_TO_GET_A_TOKEN}"),
        "authorization 请求头格式应为 'Bearer <令牌>'",
        HashMap::new(),
    )
}

pub fn token_expired() -> Status {
    status(
        Code::Unauthenticated,
        AUTH_TOKEN_EXPIRED,
        "the token has expired: sign in again to get a new one",
        "访问令牌已过期，请重新登录获取新令牌",
        HashMap::new(),
    )
}

pub fn token_invalid() -> Status {
    status(
        Code::Unauthenticated,
        AUTH_TOKEN_INVALID,
        "the token is not valid here (malformed, not signed by the county identity provider, \
         or issued for another system): get a new token",
        "访问令牌无效（格式错误、非本县身份认证平台签发或不属于本系统），请重新获取令牌",
        HashMap::new(),
    )
}

pub fn second_factor_required() -> Status {
    status(
        Code::Unauthenticated,
        AUTH_SECOND_FACTOR_REQUIRED,
        "administrative roles need a second authentication factor: sign in with one",
        "管理员角色须使用双因素认证登录",
        HashMap::new(),
    )
}

pub fn role_required(roles: &str) -> Status {
    status(
        Code::PermissionDenied,
        AUTH_ROLE_REQUIRED,
        &format!("this operation needs one of the roles {roles}"),
        &format!("此操作需要以下角色之一：{roles}"),
        HashMap::from([("roles".to_owned(), roles.to_owned())]),
    )
}

pub fn region_out_of_scope() -> Status {
    status(
        Code::PermissionDenied,
        AUTH_REGION_OUT_OF_SCOPE,
        "the record is outside the caller's region scope",
        "该记录不在您的行政区划权限范围内",
        HashMap::new(),
    )
}

pub fn roles_incompatible(a: &str, b: &str) -> Status {
    status(
        Code::PermissionDenied,
        AUTH_ROLES_INCOMPATIBLE,
        &format!(
            "the token combines the roles {a} and {b}, which the county keeps separate \
             (separation of duties): ask the identity provider for a token with one of them"
        ),
        &format!("令牌同时包含互斥角色 {a} 与 {b}（职责分离），请申请只含其中一个角色的令牌"),
        HashMap::from([("roles".to_owned(), format!("{a},{b}"))]),
    )
}

pub fn on_behalf_of_forbidden() -> Status {
    status(
        Code::PermissionDenied,
        AUTH_ON_BEHALF_OF_FORBIDDEN,
        "only services of the suite may act on behalf of others: remove the x-civil-on-behalf-of header",
        "只有本系统内部服务可代他人调用，请去掉 x-civil-on-behalf-of 请求头",
        HashMap::new(),
    )
}

pub fn on_behalf_of_invalid() -> Status {
    status(
        Code::InvalidArgument,
        AUTH_ON_BEHALF_OF_INVALID,
        "the x-civil-on-behalf-of header must be an ASCII subject",
        "x-civil-on-behalf-of 请求头须为 ASCII 字符的用户标识",
        HashMap::new(),
    )
}

pub fn maker_is_checker() -> Status {
    status(
        Code::FailedPrecondition,
        MAKER_CHECKER_SAME_PERSON,
        "the person who made this cannot also check it: another person must",
        "经办人与复核人不得为同一人，请由他人复核",
        HashMap::new(),
    )
}

/// The stable reason of an auth status (`""` when it has none).
pub fn reason_of(status: &Status) -> String {
    status
        .get_details_error_info()
        .map(|i| i.reason)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_has_a_reason_and_a_chinese_message() {
        for s in [
            token_missing(),
            token_expired(),
            token_invalid(),
            role_required("registrar"),
            region_out_of_scope(),
            roles_incompatible("sys_admin", "auditor"),
            on_behalf_of_forbidden(),
            maker_is_checker(),
        ] {
            let d = s.get_error_details();
            assert!(d.error_info().is_some(), "{s:?}");
            let zh = d.localized_message().expect("zh-CN message");
            assert_eq!(zh.locale, "zh-CN");
            assert!(!zh.message.is_empty());
        }
        assert!(token_missing().message().contains("civil token --role"));
    }
}
