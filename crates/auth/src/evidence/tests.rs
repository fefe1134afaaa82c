use super::*;

fn row(seq: i64, prev: &str, action: &str) -> ExportRow {
    let mut r = ExportRow {
        seq,
        at_ms: 1_000 + seq,
        actor: "registrar-1".into(),
        on_behalf_of: String::new(),
        action: action.into(),
        object: "marriage:1".into(),
        outcome: "ok".into(),
        trace_id: String::new(),
        purpose: String::new(),
        prev_hash: prev.into(),
        hash: String::new(),
        person: "ab12".into(),
        organisation: "县民政局".into(),
        role: "registrar".into(),
        purged_by: 0,
    };
    r.hash = chain_hash(prev, seq, r.at_ms, &r.entry());
    r
}

/// Rows 1..=n, heads signed after row 2 and after the last row.
fn export(signer: &HeadSigner, n: i64) -> Export {
    let mut rows = Vec::new();
    let mut prev = GENESIS.to_owned();
    for seq in 1..=n {
        let r = row(seq, &prev, &format!("a{seq}"));
        prev = r.hash.clone();
        rows.push(r);
    }
    let signatures = vec![
        signer.sign(2, &rows[1].hash, 2_000),
        signer.sign(n, &rows[n as usize - 1].hash, 3_000),
    ];
    Export {
        format: EXPORT_FORMAT.into(),
        service: "marriage".into(),
        exported_at_ms: 3_000,
        rows,
        signatures,
    }
}

/// Recomputes every hash from `from` on (what a forger with database access does).
fn rechain(e: &mut Export, from: usize) {
    for i in from..e.rows.len() {
        let prev = if i == 0 {
            GENESIS.to_owned()
        } else {
            e.rows[i - 1].hash.clone()
        };
        e.rows[i].seq = i as i64 + 1;
        e.rows[i].prev_hash = prev.clone();
        e.rows[i].hash = chain_hash(&prev, e.rows[i].seq, e.rows[i].at_ms, &e.rows[i].entry());
    }
}

#[test]
fn an_untouched_export_verifies_offline() {
    let key = HeadSigner::generate();
    let ok = verify_export(&export(&key, 4), key.public_key_pem(), None).expect("intact");
    assert_eq!(
        (ok.rows, ok.signatures, ok.last_signed_at_ms),
        (4, 2, 3_000)
    );
}

#[test]
fn a_changed_row_is_caught_even_with_the_chain_recomputed() {
    let key = HeadSigner::generate();
    let mut e = export(&key, 4);
    e.rows[0].actor = "someone-else".into();
    assert!(verify_export(&e, key.public_key_pem(), None).is_err());
    rechain(&mut e, 0);
    let problems = verify_export(&e, key.public_key_pem(), None).expect_err("caught");
    assert!(
        problems.iter().any(|p| p.contains("not the chain's")),
        "{problems:?}"
    );
}

#[test]
fn a_deleted_row_is_caught() {
    let key = HeadSigner::generate();
    let mut e = export(&key, 4);
    e.rows.remove(2);
    assert!(verify_export(&e, key.public_key_pem(), None).is_err());
    rechain(&mut e, 2);
    assert!(verify_export(&e, key.public_key_pem(), None).is_err());
}

#[test]
fn an_inserted_row_is_caught() {
    let key = HeadSigner::generate();
    let mut e = export(&key, 4);
    let extra = row(3, &e.rows[1].hash, "forged");
    e.rows.insert(2, extra);
    assert!(verify_export(&e, key.public_key_pem(), None).is_err());
    rechain(&mut e, 2);
    assert!(verify_export(&e, key.public_key_pem(), None).is_err());
}

#[test]
fn a_head_re_signed_with_another_key_is_caught() {
    let key = HeadSigner::generate();
    let forger = HeadSigner::generate();
    let mut e = export(&key, 4);
    e.rows[3].outcome = "denied".into();
    rechain(&mut e, 3);
    e.signatures[1] = forger.sign(4, &e.rows[3].hash, 3_000);
    let problems = verify_export(&e, key.public_key_pem(), None).expect_err("caught");
    assert!(
        problems.iter().any(|p| p.contains("trusted key")),
        "{problems:?}"
    );
    // The forger's own key in the file does not help.
    assert!(e.signatures[1].verifies_with_own_key());
}

#[test]
fn signing_times_are_checked() {
    let key = HeadSigner::generate();
    let mut e = export(&key, 4);
    e.signatures[1] = key.sign(4, &e.rows[3].hash, 1_500);
    let problems = verify_export(&e, key.public_key_pem(), None).expect_err("backwards");
    assert!(
        problems.iter().any(|p| p.contains("previous head")),
        "{problems:?}"
    );
    let e = export(&key, 4);
    assert!(verify_export(&e, key.public_key_pem(), Some(500)).is_err());
    assert!(verify_export(&e, key.public_key_pem(), Some(1_000)).is_ok());
}

#[test]
fn rows_after_the_last_signed_head_are_reported() {
    let key = HeadSigner::generate();
    let mut e = export(&key, 4);
    e.signatures.pop();
    let problems = verify_export(&e, key.public_key_pem(), None).expect_err("unsigned tail");
    assert!(
        problems.iter().any(|p| p.contains("not covered")),
        "{problems:?}"
    );
}

#[test]
fn the_algorithm_setting_refuses_unknown_values() {
    assert_eq!(
        SignatureAlg::parse("").ok(),
        Some(SignatureAlg::EcdsaP256Sha256)
    );
    assert!(SignatureAlg::parse("ecdsa-p256-sha256").is_ok());
    assert!(SignatureAlg::parse("sm2-sm3").is_err());
    assert!(SignatureAlg::parse("rsa").is_err());
}

#[test]
fn the_dev_key_survives_a_reload_and_a_hex_key_loads() {
    let dir = tempfile::tempdir().expect("tmp");
    let a = HeadSigner::load_or_create(dir.path()).expect("create");
    let b = HeadSigner::load_or_create(dir.path()).expect("load");
    assert_eq!(a.public_key_pem(), b.public_key_pem());
    assert!(HeadSigner::from_hex(&"11".repeat(32)).is_ok());
    assert!(HeadSigner::from_hex("zz").is_err());
}
