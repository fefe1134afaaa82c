//! 地名: the standard place-name database, naming and renaming, house numbers and addresses.
//!
//! - [`domain`]: the rules (names, art. 9 scopes, naming checks and stages, house numbers,
//!   addresses, census rows), no I/O.
//! - [`index`]: the in-memory search index (exact, prefix, pinyin, fuzzy), built on start.
//! - [`store`]: SQL, portable across SQLite and PostgreSQL.
//! - [`api`]: the gRPC handlers, one file per RPC; [`convert`]: proto <-> domain.
//! - [`seed`]: the seed counties' townships and villages, loaded once on first start.

pub mod api;
pub mod convert;
pub mod domain;
pub mod index;
pub mod regions;
pub mod seed;
pub mod store;

use std::sync::{Arc, RwLock};

use contracts::civil::placename::v1::place_name_service_server::PlaceNameServiceServer;

use crate::domain::name::Category;
use crate::domain::naming::NamingPolicy;
use crate::domain::scope::Scope;

/// Topic of [`contracts::civil::placename::v1::PlaceNameApproved`].
pub const TOPIC_APPROVED: &str = "placename.place_name_approved";
/// Topic of [`contracts::civil::placename::v1::PlaceNameRenamed`].
pub const TOPIC_RENAMED: &str = "placename.place_name_renamed";

pub const SERVICE: kit::ServiceDef = kit::ServiceDef {
    name: "placename",
    mount: |ctx, m| Box::pin(mount(ctx, m)),
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The naming policy: the default lists of art. 10 extended by county settings
/// (`CIVIL_PLACENAME_PERSON_NAMES`, `…_FOREIGN_NAMES`, `…_EXAGGERATED_WORDS`,
/// `…_ALLOWED_CHARACTERS`; comma-separated).
pub fn policy_from(setting: impl Fn(&str) -> Option<String>) -> NamingPolicy {
    let mut policy = NamingPolicy::default();
    let list = |key: &str| -> Vec<String> {
        setting(key)
            .map(|v| {
                v.split([',', '，'])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    policy.person_names.extend(list("person_names"));
    policy.foreign_names.extend(list("foreign_names"));
    policy.exaggerated_refuse.extend(list("exaggerated_words"));
    policy
        .allowed_characters
        .extend(list("allowed_characters").iter().flat_map(|s| s.chars()));
    // `BUILT_UP_AREAS`: areas separated by `;`, each the townships (9 digits) of one built-up
    // area separated by spaces or `+`, e.g. "330723001+330723002+330723003".
    if let Some(areas) = setting("built_up_areas") {
        for area in areas.split(';') {
            policy.scopes.add_built_up_area(
                area.split([' ', '+'])
                    .map(str::trim)
                    .filter(|t| t.len() == 9),
            );
        }
    }
    // `SCOPES`: per category, e.g. "PARK=township,ROAD=built_up_area".
    for (category, scope) in list("scopes").iter().filter_map(|kv| kv.split_once('=')) {
        match (Category::parse(category), Scope::parse(scope)) {
            (Some(c), Some(s)) => policy.scopes.set(c, s),
            _ => tracing::warn!(category, scope, "ignored placename scope setting"),
        }
    }
    policy
}

async fn mount(ctx: kit::ServiceContext, m: &mut kit::Mounter) -> anyhow::Result<()> {
    let setting = |k: &str| {
        ctx.config
            .service_setting("placename", k)
            .map(str::to_owned)
    };
    let policy = policy_from(setting);
    let db = ctx.open_db(&MIGRATOR).await?;
    if setting("seed").as_deref() != Some("off") {
        let villages = match setting("seed_villages_file") {
            Some(path) => seed::SeedSource::File(path.into()),
            None => seed::SeedSource::Embedded,
        };
        let loaded = seed::load_once(&db, &villages, ctx.clock.now_ms()).await?;
        if loaded > 0 {
            tracing::info!(rows = loaded, "place-name seed loaded");
        }
    }
    let index = seed::build_index(&db).await?;
    tracing::info!(names = index.len(), "place-name search index built");
    let places = api::Places {
        index: Arc::new(RwLock::new(index)),
        policy,
        writes: tokio::sync::Mutex::new(()),
    };
    let api = api::PlaceNameApi::new(kit::rpc::Rpc::new(&ctx, db), places);
    m.add(PlaceNameServiceServer::new(api).max_decoding_message_size(ctx.config.max_message_bytes));
    Ok(())
}
