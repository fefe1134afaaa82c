//! The authorisation walk: every RPC of every service in the descriptor set, called with every
//! role and every caller profile, with a token of the county and one of another county, against
//! the running suite; what the servers answer must be the committed permission table
//! (docs/api/permissions.md, the API reference's permission section). A table that no longer
//! matches the servers (or the configuration: crates/edge/tests/docs.rs) fails.

use std::collections::BTreeMap;
use std::time::Duration;

use auth::Role;
use futures::StreamExt as _;
use prost::Message as _;
use tonic::Code;
use tonic_types::StatusExt as _;

const COUNTY: &str = "330723";
const OTHER_COUNTY: &str = "512021";

/// Reasons with which the auth layer (or a handler's own role check) refuses the caller itself.
const REFUSED_CALLER: [&str; 4] = [
    "AUTH_ROLE_REQUIRED",
    "AUTH_METHOD_UNLISTED",
    "AUTH_PROFILE_REQUIRED",
    "AUTH_PROFILE_RPC_NOT_ALLOWED",
];

/// The request an RPC is walked with: empty, except where the proto comment makes the role
/// depend on the request (the walk then sends the variant that role may send).
fn body_of(rpc: &str) -> Vec<u8> {
    match rpc {
        // "Roles: TownshipClerk (emergency), CountyApprover (both)."
        "civil.assistance.v1.AssistanceService/GrantTemporaryAssistance" => {
            contracts::civil::assistance::v1::GrantTemporaryAssistanceRequest {
                emergency: true,
                ..Default::default()
            }
            .encode_to_vec()
        }
        _ => Vec::new(),
    }
}

/// The civil.external services the suite serves (as crates/edge's registry lists them).
const SERVED_EXTERNAL: [&str; 1] = ["civil.external.v1.SignalIntakeService"];

/// Every RPC the suite serves (`civil.x.v1.XService/Rpc`), from the descriptor set.
fn served_rpcs() -> Vec<String> {
    let set = prost_types::FileDescriptorSet::decode(contracts::FILE_DESCRIPTOR_SET)
        .expect("descriptor set");
    let mut out = Vec::new();
    for file in &set.file {
        let package = file.package();
        if !package.starts_with("civil.") {
            continue;
        }
        for service in &file.service {
            // Of civil.external, only the services the suite serves itself (signal intake).
            let full = format!("{package}.{}", service.name());
            if package.starts_with("civil.external.") && !SERVED_EXTERNAL.contains(&full.as_str()) {
                continue;
            }
            for method in &service.method {
                out.push(format!("{package}.{}/{}", service.name(), method.name()));
            }
        }
    }
    out.sort();
    out
}

/// `MarriageService/GetMarriage` as the table writes it.
fn short(rpc: &str) -> String {
    let (service, method) = rpc.split_once('/').expect("service/method");
    format!("{}/{method}", service.rsplit('.').next().unwrap_or(service))
}

/// The committed table: caller column names, and per RPC (short name) whether each may call.
fn committed_table() -> (Vec<String>, BTreeMap<String, Vec<bool>>) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/api/permissions.md");
    let text = std::fs::read_to_string(&path).expect("docs/api/permissions.md");
    let mut callers = Vec::new();
    let mut rows = BTreeMap::new();
    for line in text.lines() {
        let cells: Vec<&str> = line
            .trim()
            .trim_matches('|')
            .split('|')
            .map(str::trim)
            .collect();
        if line.starts_with("| RPC |") {
            callers = cells[1..].iter().map(|c| (*c).to_owned()).collect();
        } else if line.starts_with("| `") {
            let rpc = cells[0].trim_matches('`').to_owned();
            rows.insert(rpc, cells[1..].iter().map(|c| c.starts_with('Y')).collect());
        }
    }
    (callers, rows)
}

/// Whether the call got past the caller checks (any answer but a refusal of the caller).
async fn admitted(suite: &kit::testing::TestSuite, rpc: &str, token: &str) -> bool {
    let path = format!("/{rpc}");
    let call = suite.raw_call(&path, body_of(rpc), token);
    match tokio::time::timeout(Duration::from_secs(10), call).await {
        // A stream that stays open was admitted.
        Err(_) => true,
        Ok(Ok(_)) => true,
        Ok(Err(status)) => {
            let reason = status
                .get_details_error_info()
                .map(|i| i.reason)
                .unwrap_or_default();
            !(matches!(
                status.code(),
                Code::PermissionDenied | Code::Unauthenticated
            ) && REFUSED_CALLER.contains(&reason.as_str()))
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_answers_every_role_and_profile_as_the_committed_table_says() {
    let suite = kit::testing::spawn_with(&suite::ALL, |c| {
        c.extra.insert("eldercare_daily_job".into(), "off".into());
        c.extra
            .insert("onematter_proactive_marriage".into(), "off".into());
    })
    .await;
    let (callers, table) = committed_table();
    let rpcs = served_rpcs();
    assert_eq!(
        table.keys().cloned().collect::<Vec<_>>(),
        {
            let mut s: Vec<String> = rpcs.iter().map(|r| short(r)).collect();
            s.sort();
            s
        },
        "the table lists every served RPC (regenerate: cargo run -p edge --bin api-docs)"
    );
    // Every role except `service` (which exists only through a profile), every profile.
    let mut expected_callers: Vec<String> = Role::ALL
        .iter()
        .filter(|r| **r != Role::Service)
        .map(|r| r.name())
        .collect();
    expected_callers.extend(
        auth::profiles::Profiles::committed()
            .all()
            .map(|p| p.name.clone()),
    );
    assert_eq!(callers, expected_callers, "one column per role and profile");

    let mut tokens = Vec::new();
    for (column, caller) in callers.iter().enumerate() {
        for region in [COUNTY, OTHER_COUNTY] {
            let subject = format!("walk-{caller}-{region}");
            let token = match Role::from_name(caller) {
                Some(role) => suite.token_for(&subject, &[role], region),
                None => suite.token_for_profile(&subject, caller, region),
            };
            tokens.push((column, region, token));
        }
    }
    let calls: Vec<(String, usize, &str, String)> = rpcs
        .iter()
        .flat_map(|rpc| {
            tokens
                .iter()
                .map(move |(column, region, token)| (rpc.clone(), *column, *region, token.clone()))
        })
        .collect();
    let total = calls.len();
    let started = std::time::Instant::now();
    let answers: Vec<(String, usize, &str, bool)> = futures::stream::iter(calls)
        .map(|(rpc, column, region, token)| {
            let suite = &suite;
            async move {
                let ok = admitted(suite, &rpc, &token).await;
                (rpc, column, region, ok)
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let mut differences = Vec::new();
    for (rpc, column, region, ok) in answers {
        let want = table[&short(&rpc)][column];
        if ok != want {
            differences.push(format!(
                "{} as {} (region {region}): table says {}, the server {}",
                short(&rpc),
                callers[column],
                if want { "may call" } else { "refused" },
                if ok { "let it through" } else { "refused it" },
            ));
        }
    }
    differences.sort();
    eprintln!(
        "authorization walk: {total} calls ({} RPCs x {} callers x 2 regions) in {:?}",
        rpcs.len(),
        callers.len(),
        started.elapsed()
    );
    assert!(
        differences.is_empty(),
        "{} differences:\n{}",
        differences.len(),
        differences.join("\n")
    );
}
