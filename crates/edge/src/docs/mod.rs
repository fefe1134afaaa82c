//! The OpenAPI 3.1 document and the API reference, generated from the embedded descriptor set
//! (with its source comments), the permission table and the error reasons named in the RPC
//! comments. `cargo run -p edge --bin api-docs` writes them to `docs/api/`; a test fails when
//! the committed files differ from what this module generates.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use prost::Message as _;

use crate::registry::{Registry, Route};

mod openapi;
mod reasons;
mod reference;

pub use openapi::openapi_text;
pub use reasons::*;

/// The permission table the auth layer enforces (`crates/auth/permissions.toml`).
pub const PERMISSIONS_TOML: &str = include_str!("../../../auth/permissions.toml");

/// The API reference's permission section (docs/api/permissions.md): every served RPC, in
/// service order, against every role and caller profile, as the auth layer decides it
/// (`auth::profiles::Access`, the same function the layer calls).
pub fn permission_table() -> String {
    let methods: Vec<String> = Registry::civil()
        .routes()
        .map(|r| r.grpc_path.trim_start_matches('/').to_owned())
        .collect();
    auth::profiles::Access::default().table(&methods)
}

/// Leading comments by element full name (`civil.x.v1.XService.Rpc`, `civil.x.v1.Msg.field`,
/// the package name for the comment above `package`).
#[derive(Debug, Default)]
pub struct Comments(HashMap<String, String>);

impl Comments {
    /// From the source info kept in an encoded `FileDescriptorSet`.
    pub fn from_descriptor_set(bytes: &[u8]) -> Self {
        let mut out = HashMap::new();
        let Ok(set) = prost_types::FileDescriptorSet::decode(bytes) else {
            return Comments(out);
        };
        for file in set.file {
            let package = file.package.clone().unwrap_or_default();
            let mut names: HashMap<Vec<i32>, String> = HashMap::new();
            names.insert(vec![2], package.clone());
            for (si, s) in file.service.iter().enumerate() {
                let sname = format!("{package}.{}", s.name());
                for (mi, m) in s.method.iter().enumerate() {
                    names.insert(
                        vec![6, si as i32, 2, mi as i32],
                        format!("{sname}.{}", m.name()),
                    );
                }
                names.insert(vec![6, si as i32], sname);
            }
            for (i, m) in file.message_type.iter().enumerate() {
                message_paths(m, &package, vec![4, i as i32], &mut names);
            }
            for (i, e) in file.enum_type.iter().enumerate() {
                enum_paths(e, &package, vec![5, i as i32], &mut names);
            }
            for loc in file.source_code_info.iter().flat_map(|s| s.location.iter()) {
                let (Some(name), Some(text)) = (names.get(&loc.path), &loc.leading_comments) else {
                    continue;
                };
                let text = text
                    .lines()
                    .map(str::trim)
                    .collect::<Vec<_>>()
                    .join("\n")
                    .trim()
                    .to_owned();
                if !text.is_empty() {
                    out.insert(name.clone(), text);
                }
            }
        }
        Comments(out)
    }

    pub fn get(&self, name: &str) -> &str {
        self.0.get(name).map(String::as_str).unwrap_or("")
    }
}

fn message_paths(
    m: &prost_types::DescriptorProto,
    scope: &str,
    path: Vec<i32>,
    names: &mut HashMap<Vec<i32>, String>,
) {
    let name = format!("{scope}.{}", m.name());
    for (fi, f) in m.field.iter().enumerate() {
        let mut p = path.clone();
        p.extend([2, fi as i32]);
        names.insert(p, format!("{name}.{}", f.name()));
    }
    for (ni, n) in m.nested_type.iter().enumerate() {
        let mut p = path.clone();
        p.extend([3, ni as i32]);
        message_paths(n, &name, p, names);
    }
    for (ei, e) in m.enum_type.iter().enumerate() {
        let mut p = path.clone();
        p.extend([4, ei as i32]);
        enum_paths(e, &name, p, names);
    }
    names.insert(path, name);
}

fn enum_paths(
    e: &prost_types::EnumDescriptorProto,
    scope: &str,
    path: Vec<i32>,
    names: &mut HashMap<Vec<i32>, String>,
) {
    let name = format!("{scope}.{}", e.name());
    for (vi, v) in e.value.iter().enumerate() {
        let mut p = path.clone();
        p.extend([2, vi as i32]);
        names.insert(p, format!("{name}.{}", v.name()));
    }
    names.insert(path, name);
}

/// Who may call each method (`civil.x.v1.XService/Rpc` -> role names, `*` for anyone).
pub fn permissions(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    let Ok(table) = text.parse::<toml::Table>() else {
        return out;
    };
    for (service, rpcs) in table {
        let Some(rpcs) = rpcs.as_table() else {
            continue;
        };
        for (rpc, roles) in rpcs {
            let roles = roles
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|r| r.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            out.insert(format!("{service}/{rpc}"), roles);
        }
    }
    out
}

/// Everything both documents are made of.
pub struct Api<'a> {
    pub registry: &'a Registry,
    pub comments: Comments,
    pub permissions: BTreeMap<String, Vec<String>>,
    not_reasons: BTreeSet<String>,
}

impl<'a> Api<'a> {
    /// The served civil.* API of the embedded descriptor set and the committed permission table.
    pub fn civil() -> Api<'static> {
        Api::new(
            Registry::civil(),
            Comments::from_descriptor_set(contracts::FILE_DESCRIPTOR_SET),
            permissions(PERMISSIONS_TOML),
        )
    }

    pub fn new(
        registry: &'a Registry,
        comments: Comments,
        permissions: BTreeMap<String, Vec<String>>,
    ) -> Self {
        let not_reasons = registry
            .pool()
            .all_enums()
            .flat_map(|e| e.values().map(|v| v.name().to_owned()).collect::<Vec<_>>())
            .collect();
        Api {
            registry,
            comments,
            permissions,
            not_reasons,
        }
    }

    /// Services served, in order, with their routes.
    pub fn services(&self) -> BTreeMap<String, Vec<&'a Route>> {
        let mut out: BTreeMap<String, Vec<&Route>> = BTreeMap::new();
        for r in self.registry.routes() {
            out.entry(r.method.parent_service().full_name().to_owned())
                .or_default()
                .push(r);
        }
        out
    }

    pub fn roles(&self, route: &Route) -> Vec<String> {
        let key = route.grpc_path.trim_start_matches('/');
        self.permissions.get(key).cloned().unwrap_or_default()
    }

    /// The reasons an RPC's comment names.
    pub fn rpc_reasons(&self, route: &Route) -> Vec<Reason> {
        reasons_in(
            self.comments.get(route.method.full_name()),
            &self.not_reasons,
        )
    }

    /// The reasons a package comment names (apply to every RPC of the package).
    pub fn package_reasons(&self, package: &str) -> Vec<Reason> {
        reasons_in(self.comments.get(package), &self.not_reasons)
    }

    /// Every reason, with its code, meaning and where it applies.
    pub fn reason_index(&self) -> BTreeMap<String, (String, String, BTreeSet<String>)> {
        let mut index: BTreeMap<String, (String, String, BTreeSet<String>)> = BTreeMap::new();
        let mut add = |r: Reason, at: String| {
            let e = index
                .entry(r.reason)
                .or_insert_with(|| (r.code.clone(), String::new(), BTreeSet::new()));
            if e.1.is_empty() && !r.meaning.is_empty() {
                e.1 = r.meaning;
            }
            e.2.insert(at);
        };
        for (service, routes) in self.services() {
            let package = routes
                .first()
                .map(|r| r.method.parent_service().package_name().to_owned())
                .unwrap_or_default();
            for r in self.package_reasons(&package) {
                add(r, format!("every RPC of {service}"));
            }
            for route in routes {
                for r in self.rpc_reasons(route) {
                    add(r, format!("{service}/{}", route.method.name()));
                }
            }
        }
        // Codes a field carries (a warning's code, ...), named in the field's comment.
        for message in self.registry.pool().all_messages() {
            if !message.full_name().starts_with("civil.") {
                continue;
            }
            for field in message.fields() {
                for r in reasons_in(self.comments.get(field.full_name()), &self.not_reasons) {
                    if !is_reason(&r.reason) {
                        continue;
                    }
                    let meaning = match self.comments.get(message.full_name()) {
                        "" => format!("a value of {}", field.full_name()),
                        m => m.split_whitespace().collect::<Vec<_>>().join(" "),
                    };
                    add(
                        Reason {
                            reason: r.reason,
                            code: format!("`{}` value", message.name()),
                            meaning,
                        },
                        field.full_name().to_owned(),
                    );
                }
            }
        }
        for (reason, (code, meaning, file)) in documented_constants(&workspace_root()) {
            add(
                Reason {
                    reason,
                    code,
                    meaning,
                },
                file,
            );
        }
        for (reason, code, meaning) in OTHER_REASONS {
            add(
                Reason {
                    reason: (*reason).into(),
                    code: (*code).into(),
                    meaning: (*meaning).into(),
                },
                "(see meaning)".into(),
            );
        }
        for (reason, meaning) in crate::error::EDGE_REASONS {
            add(
                Reason {
                    reason: (*reason).into(),
                    code: "edge".into(),
                    meaning: (*meaning).into(),
                },
                "every JSON call".into(),
            );
        }
        index
    }
}

pub(crate) fn is_wkt(name: &str) -> bool {
    name.starts_with("google.protobuf.")
}
