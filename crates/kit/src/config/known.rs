//! The keys the configuration knows besides the suite-wide ones: each service's settings, the
//! upstream names, the variables of tools and tests, the crypto suites. A key not listed here
//! (or declared by the binary) refuses to start.

/// The settings a service reads, declared so that any other `CIVIL_<SERVICE>_*` key is refused.
#[derive(Debug, Clone, Copy)]
pub struct ServiceSettings {
    pub service: &'static str,
    pub keys: &'static [&'static str],
}

/// Every service setting the suite's services read (lower case, without the service prefix).
/// A service that reads a new setting adds it here (or declares it through
/// [`Config::load_declaring`]) and documents it in README's service settings table.
pub const SERVICE_SETTINGS: &[ServiceSettings] = &[
    // Trust settings (crate::trust): separation of duties and the audit evidence log.
    ServiceSettings {
        service: "auth",
        keys: &["incompatible_roles", "profiles_file"],
    },
    ServiceSettings {
        service: "audit",
        keys: &[
            "signing_key",
            "signature_alg",
            "sign_interval_ms",
            "max_signature_age_ms",
            "seal_interval_ms",
        ],
    },
    ServiceSettings {
        service: "assistance",
        keys: &[
            "rate_limit_per_second",
            "rate_limit_burst",
            "policy_file",
            "review_days",
            "monitoring_file",
        ],
    },
    ServiceSettings {
        service: "marriage",
        keys: &[
            "rate_limit_per_second",
            "rate_limit_burst",
            "sweep_interval_secs",
            "national_db",
            "national_timeout_ms",
        ],
    },
    ServiceSettings {
        service: "funeral",
        keys: &[
            "rate_limit_per_second",
            "rate_limit_burst",
            "zone_default",
            "zones",
            "slots_per_day",
            "furnaces",
            "plot_max_area_dm2",
            "eco_reward_tree_fen",
            "eco_reward_flower_lawn_fen",
            "eco_reward_sea_fen",
            "eco_reward_wall_fen",
            "eco_reward_deep_fen",
            "waiver_extensions",
            "price_ash_keeping_fen",
            "price_cremation_fen",
            "price_storage_fen",
            "price_transport_fen",
            "plot_transfer",
            "clan_plot_max_occupants",
        ],
    },
    ServiceSettings {
        service: "eldercare",
        keys: &[
            "rate_limit_per_second",
            "rate_limit_burst",
            "policy_file",
            "daily_job",
        ],
    },
    ServiceSettings {
        service: "socialorg",
        keys: &[
            "rate_limit_per_second",
            "rate_limit_burst",
            "sweep",
            "authority",
        ],
    },
    ServiceSettings {
        service: "placename",
        keys: &[
            "rate_limit_per_second",
            "rate_limit_burst",
            "person_names",
            "foreign_names",
            "exaggerated_words",
            "allowed_characters",
            "built_up_areas",
            "scopes",
            "seed",
            "seed_villages_file",
        ],
    },
    ServiceSettings {
        service: "onematter",
        keys: &[
            "rate_limit_per_second",
            "rate_limit_burst",
            "lease_ms",
            "poll_ms",
            "batch",
            "watch_poll_ms",
            "proactive_marriage",
        ],
    },
];

/// Systems `CIVIL_UPSTREAM_<NAME>` may point at: the suite's services and the outside systems
/// of `civil.external.v1`.
pub const UPSTREAMS: &[&str] = &[
    "marriage",
    "assistance",
    "funeral",
    "eldercare",
    "socialorg",
    "placename",
    "onematter",
    "checking_centre",
    "household_register",
    "social_insurance",
    "medical_insurance",
    "birth_service",
];

/// `CIVIL_*` variables read by tools, scripts and tests, not by the service: ignored here.
/// Entries ending in `_` are prefixes.
pub const TOOL_VARIABLES: &[&str] = &[
    "test_",
    "bench_",
    "backup_",
    "deploy_tools",
    "k8s_versions",
    "validate_pip_kubectl",
    "villages_csv",
];

/// `CIVIL_CRYPTO` values: the algorithm suite sealing and signing use.
pub const CRYPTO_SUITES: &[&str] = &["standard"];
