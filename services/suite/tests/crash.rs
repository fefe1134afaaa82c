//! A read's audit row is durable before the read answers: `civil serve` killed with SIGKILL
//! right after a read answered still has that read's row in its store (issue 15, "Done when").
//! SQLite by default, PostgreSQL with `CIVIL_TEST_PG`.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use contracts::civil::marriage::v1 as pb;

const COUNTY: &str = "330723";

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn civil(dir: &std::path::Path, pg: &Option<(String, String)>) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_civil"));
    for (k, _) in std::env::vars() {
        if k.starts_with("CIVIL_") || k.starts_with("OTEL_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("CIVIL_DATA_DIR", dir).env("CIVIL_COUNTY", COUNTY);
    if let Some((url, prefix)) = pg {
        cmd.env("CIVIL_DATABASE_URL", url)
            .env("CIVIL_DB_SCHEMA_PREFIX", prefix);
    }
    cmd
}

#[tokio::test]
async fn killing_the_process_right_after_a_read_answered_leaves_that_reads_audit_row() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pg = std::env::var("CIVIL_TEST_PG")
        .ok()
        .filter(|u| !u.is_empty())
        .map(|url| {
            let unique = uuid::Uuid::now_v7().simple().to_string();
            (url, format!("k{}_", &unique[unique.len() - 12..]))
        });
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let token = civil(dir.path(), &pg)
        .args(["token", "--role", "registrar", "--region", COUNTY])
        .args(["--subject", "registrar-crash"])
        .output()
        .expect("civil token");
    assert!(token.status.success());
    let token = String::from_utf8_lossy(&token.stdout).trim().to_owned();
    let mut server = Killed(
        civil(dir.path(), &pg)
            .env("CIVIL_LISTEN", format!("127.0.0.1:{port}"))
            .args(["serve", "marriage"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("civil serve"),
    );

    let endpoint =
        tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}")).expect("uri");
    let deadline = Instant::now() + Duration::from_secs(60);
    let channel = loop {
        match endpoint.connect().await {
            Ok(c) => break c,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => panic!("civil serve did not come up: {e}"),
        }
    };
    let mut client = pb::marriage_service_client::MarriageServiceClient::new(channel);
    let mut request = tonic::Request::new(pb::GetMaritalStatusRequest {
        id_number: format!(
            "33072319900101001{}",
            civil_id::IdNumber::check_char("33072319900101001")
        ),
        purpose: "crash check".into(),
    });
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("ascii"),
    );
    let answered = client.get_marital_status(request).await;
    // SIGKILL the moment the answer is in: no drain, no flush, no shutdown hook.
    server.0.kill().expect("SIGKILL");
    server.0.wait().expect("reaped");
    let answered = answered.expect("the read answered");
    assert_eq!(answered.get_ref().source(), pb::StatusSource::None);

    let mut config = kit::config::Config {
        data_dir: dir.path().to_owned(),
        ..Default::default()
    };
    if let Some((url, prefix)) = &pg {
        config.database_url = Some(kit::config::Secret(url.clone()));
        config.db_schema_prefix = prefix.clone();
    }
    let db = kit::store::Db::connect(&config, "marriage")
        .await
        .expect("open the killed server's store");
    let rows: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE actor = 'registrar-crash'
         AND action = 'marriage.GetMaritalStatus' AND outcome = 'ok' AND purpose = 'crash check'",
    )
    .fetch_one(&db.pool)
    .await
    .expect("count");
    assert_eq!(rows, 1, "the answered read's audit row survived SIGKILL");
    assert!(
        auth::audit::verify(&db.pool).await.is_ok(),
        "and the trail still verifies"
    );
}
