//! The `datacrunch-emulator` binary: the listening line with the real port, the port
//! file, `--state` across a restart, bad flags, `--help`, a clean exit on SIGTERM, one
//! log line per request, and a client secret that never appears on the command line.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

fn spawn(args: &[&str]) -> (Child, String) {
    spawn_logging(args, "warn", Stdio::null())
}

/// Starts the binary with `RUST_LOG=rust_log`, its stderr to `stderr`, and returns it
/// with its listening line.
fn spawn_logging(args: &[&str], rust_log: &str, stderr: Stdio) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_datacrunch-emulator"))
        .args(args)
        .env("RUST_LOG", rust_log)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line.trim().to_owned())
}

fn terminate(mut child: Child) -> std::process::ExitStatus {
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    child.wait().unwrap()
}

async fn token(base: &str) -> reqwest::StatusCode {
    let body = serde_json::json!({"grant_type": "client_credentials", "client_id": "cli-id", "client_secret": "cli-secret"});
    reqwest::Client::new()
        .post(format!("{base}/oauth2/token"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn prints_the_real_address_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port_file = dir.path().join("port");
    let state = dir.path().join("state.db");
    let secret_file = dir.path().join("secret");
    std::fs::write(&secret_file, "cli-secret\n").unwrap();
    let args = [
        "--listen",
        "127.0.0.1:0",
        "--client-id",
        "cli-id",
        "--client-secret-file",
        secret_file.to_str().unwrap(),
        "--port-file",
        port_file.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
        "--balance",
        "77",
    ];
    let (child, line) = spawn(&args);
    let base = line
        .strip_prefix("datacrunch-emulator listening on ")
        .unwrap()
        .to_owned();
    assert!(
        base.starts_with("http://127.0.0.1:") && base.ends_with("/v1"),
        "{line}"
    );
    let port = std::fs::read_to_string(&port_file).unwrap();
    assert!(
        base.contains(&format!(":{}/", port.trim())) && port.trim() != "0",
        "{port}"
    );
    assert_eq!(token(&base).await, 200);
    let admin = base.replace("/v1", "/admin");
    let http = reqwest::Client::new();
    http.put(format!("{admin}/balance"))
        .json(&serde_json::json!({"amount": 5}))
        .send()
        .await
        .unwrap();
    assert!(terminate(child).success(), "exits cleanly on SIGTERM");

    // --balance only seeds a new state: the restarted one keeps 5.
    let (child, line) = spawn(&args);
    let base = line.rsplit(' ').next().unwrap().to_owned();
    let state: serde_json::Value = http
        .get(format!("{}/state", base.replace("/v1", "/admin")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["balance"], 5.0);
    assert!(terminate(child).success());
}

/// Log lines go through a background writer; SIGTERM must still flush every one.
#[tokio::test]
async fn logs_one_line_per_request_and_flushes_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("stderr.log");
    let log_file = std::fs::File::create(&log_path).unwrap();
    let (child, line) = spawn_logging(&["--listen", "127.0.0.1:0"], "info", log_file.into());
    let base = line.rsplit(' ').next().unwrap().to_owned();
    let http = reqwest::Client::new();
    for _ in 0..3 {
        let s = http.get(format!("{base}/locations")).send().await.unwrap();
        assert_eq!(s.status(), 401);
    }
    assert!(terminate(child).success());
    let log = std::fs::read_to_string(&log_path).unwrap();
    let request_lines = log
        .lines()
        .filter(|l| l.contains("GET /v1/locations 401"))
        .count();
    assert_eq!(request_lines, 3, "{log}");
}

#[test]
fn refuses_bad_flags_and_documents_every_flag() {
    let bad = Command::new(env!("CARGO_BIN_EXE_datacrunch-emulator"))
        .args(["--fault", "rate_500=7"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("between 0 and 1"));
    let help = Command::new(env!("CARGO_BIN_EXE_datacrunch-emulator"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--listen",
        "--client-id",
        "--client-secret-file",
        "DATACRUNCH_EMULATOR_CLIENT_SECRET",
        "--state",
        "--port-file",
        "--realistic",
        "--provisioning-seconds",
        "--capacity",
        "--balance",
        "--token-lifetime-seconds",
        "--fault",
        "--fault-seed",
        "lost_answer_rate",
        "retry_after_503_secs",
        "DATACRUNCH_EMULATOR_CLIENT_ID",
        "emulator-client",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}:\n{help}");
    }
}

/// The client secret comes from a file or the environment, never the command line
/// (which every local user can read in `ps`); `--client-secret VALUE` is refused with
/// what to use instead.
#[tokio::test]
async fn the_client_secret_never_appears_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("secret");
    std::fs::write(&secret_file, "cli-secret\n").unwrap();
    let cmdline_of = |child: &Child| {
        let raw = std::fs::read(format!("/proc/{}/cmdline", child.id())).unwrap();
        String::from_utf8_lossy(&raw).replace('\0', " ")
    };

    let from_file = [
        "--listen",
        "127.0.0.1:0",
        "--client-id",
        "cli-id",
        "--client-secret-file",
        secret_file.to_str().unwrap(),
    ];
    let (child, line) = spawn(&from_file);
    let base = line.rsplit(' ').next().unwrap().to_owned();
    let cmdline = cmdline_of(&child);
    assert!(cmdline.contains("--client-secret-file"), "{cmdline}");
    assert!(!cmdline.contains("cli-secret "), "{cmdline}");
    assert_eq!(
        token(&base).await,
        200,
        "the file's secret is the one accepted"
    );
    assert!(terminate(child).success());

    let mut child = Command::new(env!("CARGO_BIN_EXE_datacrunch-emulator"))
        .args(["--listen", "127.0.0.1:0", "--client-id", "cli-id"])
        .env("DATACRUNCH_EMULATOR_CLIENT_SECRET", "cli-secret")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(!cmdline_of(&child).contains("cli-secret"));
    assert_eq!(token(line.trim().rsplit(' ').next().unwrap()).await, 200);
    assert!(terminate(child).success());

    let refused = Command::new(env!("CARGO_BIN_EXE_datacrunch-emulator"))
        .args(["--listen", "127.0.0.1:0", "--client-secret", "cli-secret"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("--client-secret-file")
            && stderr.contains("DATACRUNCH_EMULATOR_CLIENT_SECRET")
            && !stderr.contains("cli-secret"),
        "{stderr}"
    );

    std::fs::write(&secret_file, "").unwrap();
    let empty = Command::new(env!("CARGO_BIN_EXE_datacrunch-emulator"))
        .args(["--client-secret-file", secret_file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!empty.status.success());
    let stderr = String::from_utf8_lossy(&empty.stderr);
    assert!(stderr.contains(secret_file.to_str().unwrap()), "{stderr}");
}
