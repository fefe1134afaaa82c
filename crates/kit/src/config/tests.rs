use super::*;

fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn defaults_run_without_any_setting() {
    let cfg = Config::load_from(&vars(&[])).expect("defaults");
    assert_eq!(cfg.listen, "127.0.0.1:50051");
    assert!(cfg.database_url.is_none() && cfg.redis_url.is_none());
}

#[test]
fn every_bad_key_is_reported_at_once() {
    let err = Config::load_from(&vars(&[
        ("CIVIL_REQUEST_TIMEOUT_MS", "soon"),
        ("CIVIL_PII_KEY", "abc"),
    ]))
    .expect_err("two bad keys");
    assert_eq!(err.0.len(), 2, "{err}");
}

#[test]
fn unknown_settings_and_values_refuse_to_start_each_one_listed() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("civil.toml");
    std::fs::write(
        &path,
        "lisen = \"0.0.0.0:1\"\n[funeral]\nfurnaces = 2\nfurnace = 3\n[elderly]\nx = 1\n",
    )
    .expect("write");
    let err = Config::load_from(&vars(&[
        ("CIVIL_CONFIG", path.to_str().expect("utf8")),
        ("CIVIL_CRYPTO", "sm4"),
        ("CIVIL_REDIS_ULR", "redis://x"),
        ("CIVIL_ASSISTANCE_REVIEW_DAYZ", "20"),
        ("CIVIL_UPSTREAM_ASSISTENCE", "http://a:1"),
        ("CIVIL_PII_KEY", "not-hex-secret"),
        ("CIVIL_MARRIAGE_SWEEP_INTERVAL_SECS", "60"),
    ]))
    .expect_err("bad keys");
    let text = err.to_string();
    for expected in [
        "`lisen` in",
        "`furnace` under [funeral]",
        "`x` under [elderly]",
        "CIVIL_CRYPTO=\"sm4\"",
        "CIVIL_REDIS_ULR",
        "CIVIL_ASSISTANCE_REVIEW_DAYZ",
        "CIVIL_UPSTREAM_ASSISTENCE",
        "CIVIL_PII_KEY=(hidden)",
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
    assert_eq!(err.0.len(), 8, "{text}");
    assert!(!text.contains("not-hex-secret"), "secrets are not echoed");
}

#[test]
fn tool_variables_are_ignored_and_declared_service_settings_accepted() {
    const EXTRA: ServiceSettings = ServiceSettings {
        service: "money",
        keys: &["bank_file_dir"],
    };
    let source = vars(&[
        ("CIVIL_TEST_PG", "postgres://x"),
        ("CIVIL_BACKUP_KEEP_DAYS", "35"),
        ("CIVIL_WEB_SERVICE_HOST", "10.0.0.1"),
        ("CIVIL_WEB_PORT_50051_TCP_ADDR", "10.0.0.1"),
        ("CIVIL_FUNERAL_FURNACES", "3"),
        ("CIVIL_MONEY_BANK_FILE_DIR", "/srv/bank"),
    ]);
    assert!(Config::load_from(&source).is_err(), "money is not built in");
    let cfg = Config::load_declaring(&source, &[EXTRA]).expect("declared");
    assert_eq!(
        cfg.service_setting("money", "bank_file_dir"),
        Some("/srv/bank")
    );
    assert_eq!(cfg.service_setting("funeral", "furnaces"), Some("3"));
}

#[test]
fn environment_overrides_the_file_and_secrets_stay_out_of_debug() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("civil.toml");
    std::fs::write(&path, "listen = \"0.0.0.0:1\"\ndatabase_url = \"postgres://u:pw@h/db\"\n[assistance]\nreview_days = 20\n")
            .expect("write");
    let cfg = Config::load_from(&vars(&[
        ("CIVIL_CONFIG", path.to_str().expect("utf8")),
        ("CIVIL_LISTEN", "127.0.0.1:7"),
    ]))
    .expect("loads");
    assert_eq!(cfg.listen, "127.0.0.1:7");
    assert_eq!(cfg.service_setting("assistance", "review_days"), Some("20"));
    assert!(!format!("{cfg:?}").contains("pw@"));
}
