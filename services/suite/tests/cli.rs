//! The `civil` binary as an operator runs it: `civil token` refuses a region that is no region
//! code and lists every role when a role is unknown (Defects issue item 12); `civil migrate`
//! twice is a no-op, and on a database a newer release migrated it still runs while
//! `civil restore-check` reports the newer migration (Operations issue item 3).
//! SQLite by default, PostgreSQL with `CIVIL_TEST_PG`.

use std::process::{Command, Output};

/// `civil` with a configuration of its own: a temp data dir and, on PostgreSQL, a schema prefix
/// of its own; no CIVIL_* variable of the test run leaks in.
struct Civil {
    dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

impl Civil {
    fn new() -> Civil {
        let pg = std::env::var("CIVIL_TEST_PG")
            .ok()
            .filter(|u| !u.is_empty())
            .map(|url| {
                let unique = uuid::Uuid::now_v7().simple().to_string();
                (url, format!("c{}_", &unique[unique.len() - 12..]))
            });
        Civil {
            dir: tempfile::tempdir().expect("temp dir"),
            pg,
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_civil"));
        for (k, _) in std::env::vars() {
            if k.starts_with("CIVIL_") || k.starts_with("OTEL_") {
                cmd.env_remove(k);
            }
        }
        cmd.env("CIVIL_DATA_DIR", self.dir.path());
        if let Some((url, prefix)) = &self.pg {
            cmd.env("CIVIL_DATABASE_URL", url)
                .env("CIVIL_DB_SCHEMA_PREFIX", prefix);
        }
        cmd.args(args).output().expect("civil runs")
    }

    fn config(&self) -> kit::config::Config {
        let mut config = kit::config::Config {
            data_dir: self.dir.path().to_owned(),
            ..Default::default()
        };
        if let Some((url, prefix)) = &self.pg {
            config.database_url = Some(kit::config::Secret(url.clone()));
            config.db_schema_prefix = prefix.clone();
        }
        config
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn civil_token_refuses_a_region_that_is_not_a_region_code() {
    let civil = Civil::new();
    for region in ["33072", "3307x3", "990723", "330799"] {
        let out = civil.run(&["token", "--role", "registrar", "--region", region]);
        assert!(
            !out.status.success(),
            "{region}: minted {}",
            text(&out.stdout)
        );
        assert!(out.stdout.is_empty(), "{region}: no token printed");
        let err = text(&out.stderr);
        assert!(err.contains(&format!("--region \"{region}\"")), "{err}");
    }
    let out = civil.run(&["token", "--role", "registrar", "--region", "330723"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim().split('.').count(), 3, "a JWT");
    let out = civil.run(&["token", "--role", "citizen", "--region", "33"]);
    assert!(
        out.status.success(),
        "a province scope: {}",
        text(&out.stderr)
    );
}

#[test]
fn civil_token_names_every_role_when_a_role_is_unknown() {
    let civil = Civil::new();
    let out = civil.run(&["token", "--role", "clerk", "--region", "330723"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("unknown role \"clerk\""), "{err}");
    for role in auth::Role::ALL {
        assert!(
            err.contains(&role.name()),
            "{} missing from: {err}",
            role.name()
        );
    }
    assert_eq!(auth::Role::ALL.len(), 15);
}

async fn history(civil: &Civil) -> Vec<(i64, Vec<u8>)> {
    let db = kit::store::Db::connect(&civil.config(), "socialorg")
        .await
        .expect("store");
    let rows: Vec<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT version, checksum FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&db.pool)
            .await
            .expect("history");
    db.pool.close().await;
    rows
}

#[tokio::test]
async fn civil_migrate_twice_is_a_no_op_and_an_old_binary_runs_on_a_newer_schema() {
    let civil = Civil::new();
    let out = civil.run(&["migrate", "socialorg"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let first = history(&civil).await;
    assert!(!first.is_empty());
    let out = civil.run(&["migrate", "socialorg"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        history(&civil).await,
        first,
        "the second run applied nothing"
    );
    let out = civil.run(&["restore-check", "socialorg"]);
    assert!(out.status.success(), "{}", text(&out.stdout));

    // The next release's migration Job ran; this binary does not know its migration.
    {
        let db = kit::store::Db::connect(&civil.config(), "socialorg")
            .await
            .expect("store");
        sqlx::query(
            "INSERT INTO _sqlx_migrations
             (version, description, installed_on, success, checksum, execution_time)
             VALUES (99990001, 'next release', CURRENT_TIMESTAMP, TRUE, $1, 1)",
        )
        .bind(vec![0u8; 48])
        .execute(&db.pool)
        .await
        .expect("a newer migration recorded");
        db.pool.close().await;
    }
    let out = civil.run(&["migrate", "socialorg"]);
    assert!(
        out.status.success(),
        "an old replica must start on the newer schema: {}",
        text(&out.stderr)
    );
    let out = civil.run(&["restore-check", "socialorg"]);
    assert!(!out.status.success(), "restore-check must report it");
    let report = text(&out.stdout);
    assert!(
        report.contains("migration 99990001 is applied but unknown to this binary"),
        "{report}"
    );
}

#[test]
fn civil_token_mints_a_calling_systems_token_for_a_configured_profile_only() {
    let civil = Civil::new();
    let out = civil.run(&[
        "token",
        "--profile",
        "household_register",
        "--region",
        "330723",
        "--subject",
        "gaj-hukou",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let token = text(&out.stdout).trim().to_owned();
    let issuer = auth::token::DevIssuer::load_or_create(civil.dir.path()).expect("dev issuer");
    let p = issuer
        .verifier()
        .verify(&token)
        .expect("the token verifies");
    assert_eq!(p.roles, vec![auth::Role::Service]);
    assert_eq!(p.profile.as_deref(), Some("household_register"));

    let out = civil.run(&["token", "--profile", "tax_bureau", "--region", "330723"]);
    assert!(!out.status.success(), "an unknown profile is refused");
    let err = text(&out.stderr);
    assert!(
        err.contains("tax_bureau") && err.contains("household_register"),
        "{err}"
    );
}
