//! The response mask of caller profiles: the one place where the fields a calling system may not
//! see leave the answer.
//!
//! `auth::profiles` decides, per profile and RPC, which field paths are hidden, and the auth
//! layer puts them in the request's extensions ([`auth::profiles::Hidden`]); [`Rpc`] applies
//! them to every response message it answers with, by field path over the descriptor set
//! (prost-reflect), whatever the RPC: no convert function and no handler has to remember a
//! profile. A path names fields by their proto names, `.` into a message field; through a
//! repeated message field it applies to every element; the last field is cleared (it then
//! reads as its proto3 default).
//!
//! [`Rpc`]: crate::rpc::Rpc

use std::sync::LazyLock;

use auth::profiles::{Hidden, Profiles};
use prost::Message as _;
use prost_reflect::{
    DescriptorPool, DynamicMessage, MessageDescriptor, ReflectMessage as _, Value,
};
use tonic::Status;

static POOL: LazyLock<Option<DescriptorPool>> =
    LazyLock::new(|| DescriptorPool::decode(contracts::FILE_DESCRIPTOR_SET).ok());

/// Clears the `hidden` field paths from `message` (a civil.* response).
///
/// Fails closed: a message the descriptor set does not know, or that does not round-trip, is
/// not answered (INTERNAL) rather than answered in full.
pub fn apply<M>(hidden: &Hidden, message: M) -> Result<M, Status>
where
    M: prost::Message + prost::Name + Default,
{
    if hidden.0.is_empty() {
        return Ok(message);
    }
    let refuse = |what: &str| {
        tracing::error!(message = %M::full_name(), what, "response mask could not be applied");
        Status::internal("the answer could not be prepared for this caller")
    };
    let descriptor = POOL
        .as_ref()
        .and_then(|p| p.get_message_by_name(&M::full_name()))
        .ok_or_else(|| refuse("unknown message"))?;
    let mut dynamic = DynamicMessage::decode(descriptor, message.encode_to_vec().as_slice())
        .map_err(|_| refuse("decode"))?;
    for path in hidden.0.iter() {
        let parts: Vec<&str> = path.split('.').collect();
        clear(&mut dynamic, &parts);
    }
    M::decode(dynamic.encode_to_vec().as_slice()).map_err(|_| refuse("re-encode"))
}

fn clear(message: &mut DynamicMessage, path: &[&str]) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let Some(field) = message.descriptor().get_field_by_name(first) else {
        return;
    };
    if rest.is_empty() {
        message.clear_field(&field);
        return;
    }
    if !message.has_field(&field) {
        return;
    }
    match message.get_field_mut(&field) {
        Value::Message(inner) => clear(inner, rest),
        Value::List(items) => {
            for item in items.iter_mut() {
                if let Value::Message(inner) = item {
                    clear(inner, rest);
                }
            }
        }
        _ => {}
    }
}

/// Checks every hidden path of `profiles` against the response message of its RPC: a path
/// that names no field would hide nothing, so the county's file is refused at start.
pub fn validate(profiles: &Profiles) -> Result<(), String> {
    let pool = POOL
        .as_ref()
        .ok_or_else(|| "the descriptor set does not decode".to_owned())?;
    let mut errors = Vec::new();
    for profile in profiles.all() {
        for (rpc, fields) in &profile.hide {
            let Some(output) = output_of(pool, rpc) else {
                errors.push(format!("[{}.hide]: no unary RPC {rpc}", profile.name));
                continue;
            };
            for f in fields {
                if !path_exists(&output, f) {
                    errors.push(format!(
                        "[{}.hide]: {} has no field {f}",
                        profile.name,
                        output.full_name()
                    ));
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

/// The response message of a unary RPC (a streamed answer is not masked: `Rpc::watch`).
fn output_of(pool: &DescriptorPool, rpc: &str) -> Option<MessageDescriptor> {
    let (service, method) = rpc.split_once('/')?;
    pool.get_service_by_name(service)?
        .methods()
        .find(|m| m.name() == method && !m.is_server_streaming())
        .map(|m| m.output())
}

fn path_exists(message: &MessageDescriptor, path: &str) -> bool {
    let mut current = message.clone();
    let parts: Vec<&str> = path.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let Some(field) = current.get_field_by_name(part) else {
            return false;
        };
        if i + 1 < parts.len() {
            match field.kind().as_message() {
                Some(m) => current = m.clone(),
                None => return false,
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use contracts::civil::common::v1::PersonRef;
    use contracts::civil::marriage::v1::MaritalStatus;

    fn hidden(paths: &[&str]) -> Hidden {
        Hidden(paths.iter().map(|p| (*p).to_owned()).collect())
    }

    #[test]
    fn a_hidden_message_field_is_cleared_and_the_rest_kept() {
        let status = MaritalStatus {
            person: Some(PersonRef {
                id_number: "110101199003070011".into(),
                name: "张三".into(),
            }),
            spouse: Some(PersonRef {
                id_number: "110101199203070028".into(),
                name: "李四".into(),
            }),
            state: 2,
            marriage_certificate_number: "J330723-2024-000001".into(),
            ..Default::default()
        };
        let masked = apply(&hidden(&["spouse", "person.id_number"]), status).expect("masks");
        assert_eq!(masked.spouse, None);
        assert_eq!(masked.state, 2);
        assert_eq!(masked.marriage_certificate_number, "J330723-2024-000001");
        let person = masked.person.expect("person kept");
        assert_eq!(person.id_number, "");
        assert_eq!(person.name, "张三");
    }

    #[test]
    fn the_committed_profiles_hide_only_fields_that_exist() {
        validate(Profiles::committed()).expect("every hidden path names a field");
        let bad = Profiles::parse(
            "[x]\norganisation = \"X\"\ncalls = [\"civil.marriage.v1.MarriageService/GetMaritalStatus\"]\n[x.hide]\n\"civil.marriage.v1.MarriageService/GetMaritalStatus\" = [\"spouse.idnumber\"]\n",
            auth::permissions::Permissions::committed(),
        )
        .expect("parses");
        let err = validate(&bad).expect_err("a typo hides nothing");
        assert!(err.contains("spouse.idnumber"), "{err}");
    }
}
