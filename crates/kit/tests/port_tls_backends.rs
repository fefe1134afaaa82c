//! TLS to the backends (Edge #16 item 4): Redis over `rediss://` against a private TLS Redis
//! this test starts with a certificate it makes; PostgreSQL: the shared local server (TLS on
//! with its own certificate) over `sslmode=require`, and `CIVIL_DATABASE_CA_FILE` refusing a
//! server its CA did not sign.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use kit::config::{Config, Secret};

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("free port")
        .local_addr()
        .expect("addr")
        .port()
}

#[tokio::test]
async fn rediss_connects_to_a_tls_redis_with_the_ca_it_trusts_and_not_without() {
    let found = Command::new("redis-server")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        let how = "redis-server not found: `apt-get install redis-server`";
        assert!(std::env::var("CI").ok().as_deref() != Some("true"), "{how}");
        eprintln!("SKIPPED: {how}");
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("certificate");
    let cert = dir.path().join("redis.pem");
    let key = dir.path().join("redis.key");
    std::fs::write(&cert, certified.cert.pem()).expect("cert");
    std::fs::write(&key, certified.signing_key.serialize_pem()).expect("key");
    let port = free_port();
    let server = Command::new("redis-server")
        .args([
            "--port",
            "0",
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .args(["--tls-port", &port.to_string(), "--tls-auth-clients", "no"])
        .arg("--tls-cert-file")
        .arg(&cert)
        .arg("--tls-key-file")
        .arg(&key)
        .arg("--tls-ca-cert-file")
        .arg(&cert)
        .arg("--dir")
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server starts");
    let _server = Killed(server);
    let url = format!("rediss://127.0.0.1:{port}");

    let client = kit::server::tls::redis_client(&url, Some(&cert)).expect("client");
    let mut answer = None;
    for _ in 0..50 {
        if let Ok(Ok(mut conn)) = tokio::time::timeout(
            Duration::from_secs(2),
            client.get_multiplexed_async_connection(),
        )
        .await
        {
            let pong: Result<String, _> = redis::cmd("PING").query_async(&mut conn).await;
            answer = Some(pong);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(answer.expect("connected over TLS").expect("PING"), "PONG");

    // The system's roots do not include the test's certificate: verification refuses it.
    let untrusted = kit::server::tls::redis_client(&url, None).expect("client");
    let refused = tokio::time::timeout(
        Duration::from_secs(5),
        untrusted.get_multiplexed_async_connection(),
    )
    .await
    .expect("answered in time");
    assert!(refused.is_err(), "an untrusted certificate is refused");

    // A plaintext client gets no answer from the TLS port.
    let plain = redis::Client::open(format!("redis://127.0.0.1:{port}")).expect("client");
    let plain = tokio::time::timeout(Duration::from_secs(3), async {
        let mut conn = plain.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut conn).await
    })
    .await;
    assert!(
        !matches!(plain, Ok(Ok(_))),
        "plaintext PING answered on the TLS port"
    );
}

fn pg_config(url: &str, dir: &std::path::Path, ca: Option<&std::path::Path>) -> Config {
    let unique = uuid::Uuid::now_v7().simple().to_string();
    Config {
        database_url: Some(Secret(url.to_owned())),
        db_schema_prefix: format!("t{}_", &unique[unique.len() - 12..]),
        data_dir: dir.to_owned(),
        database_ca_file: ca.map(ToOwned::to_owned),
        ..Config::default()
    }
}

async fn over_tls(db: &kit::store::Db) -> bool {
    sqlx::query_scalar::<_, bool>("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(&db.pool)
        .await
        .expect("pg_stat_ssl")
}

/// The shared local PostgreSQL has TLS on (Debian's snakeoil certificate): `sslmode=require`
/// connects over TLS; `CIVIL_DATABASE_CA_FILE` naming a CA that did not sign the server's
/// certificate refuses to connect; naming the server's own certificate (when readable here)
/// connects with `sslmode=verify-ca`.
#[tokio::test]
async fn postgres_over_tls_with_sslmode_and_the_database_ca_file() {
    let Some(url) = std::env::var("CIVIL_TEST_PG")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        eprintln!("SKIPPED: CIVIL_TEST_PG is not set");
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let plain = kit::store::Db::connect(&pg_config(&url, dir.path(), None), "probe")
        .await
        .expect("connects");
    let server_cert: Option<String> = sqlx::query_scalar("SELECT current_setting('ssl_cert_file')")
        .fetch_optional(&plain.pool)
        .await
        .ok()
        .flatten();
    let ssl_on: String = sqlx::query_scalar("SELECT current_setting('ssl')")
        .fetch_one(&plain.pool)
        .await
        .expect("ssl setting");
    if ssl_on != "on" {
        let how = "the local PostgreSQL has ssl=off: TLS to PostgreSQL is not tested";
        assert!(std::env::var("CI").ok().as_deref() != Some("true"), "{how}");
        eprintln!("SKIPPED: {how}");
        return;
    }
    let sep = if url.contains('?') { '&' } else { '?' };

    let required = kit::store::Db::connect(
        &pg_config(&format!("{url}{sep}sslmode=require"), dir.path(), None),
        "probe",
    )
    .await
    .expect("sslmode=require connects");
    assert!(over_tls(&required).await, "sslmode=require is TLS");

    let stranger =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("certificate");
    let stranger_ca = dir.path().join("stranger.pem");
    std::fs::write(&stranger_ca, stranger.cert.pem()).expect("write");
    let refused =
        kit::store::Db::connect(&pg_config(&url, dir.path(), Some(&stranger_ca)), "probe").await;
    assert!(
        refused.is_err(),
        "a server certificate the CA file did not sign is refused"
    );

    if let Some(cert) = server_cert.filter(|c| std::path::Path::new(c).is_file()) {
        let verified = kit::store::Db::connect(
            &pg_config(
                &format!("{url}{sep}sslmode=verify-ca"),
                dir.path(),
                Some(std::path::Path::new(&cert)),
            ),
            "probe",
        )
        .await
        .expect("the server's own certificate as CA verifies");
        assert!(over_tls(&verified).await);
    } else {
        eprintln!("the server's certificate is not readable here: verify-ca not tried");
    }
}
