//! The provider process as Terraform sees it, without Terraform: the magic
//! cookie, the handshake line, AutoMTLS with a Go-like P-521 CA client
//! certificate (and refusal of any other certificate), plaintext when TLS
//! is disabled, Shutdown exiting promptly, SIGINT being ignored until
//! StopProvider (a later one, or SIGTERM, stops it and removes the socket),
//! `--debug`, and StopProvider answered while other calls block their threads.

use std::time::{Duration, Instant};

use crate::common::{
    client_identity, connect_plain, connect_socket, connect_tls, start_provider,
    start_provider_with_env, Launched,
};
use tfplugin::handshake::{COOKIE_KEY, COOKIE_VALUE};
use tfplugin::proto::plugin::grpc_controller_client::GrpcControllerClient;
use tfplugin::proto::tfplugin6::provider_client::ProviderClient;
use tfplugin::proto::tfplugin6::{get_provider_schema, read_data_source, stop_provider};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};

const BIN: &str = env!("CARGO_BIN_EXE_terraform-provider-testbed");

#[test]
fn run_by_hand_it_explains_itself() {
    let out = std::process::Command::new(BIN)
        .env_remove(COOKIE_KEY)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "nothing may go to stdout");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("This binary is a plugin") && err.contains("terraform"),
        "{err}"
    );
}

#[test]
fn refuses_when_protocol_6_is_not_offered() {
    let out = std::process::Command::new(BIN)
        .env(COOKIE_KEY, COOKIE_VALUE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "4,5")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("speaks only version 6"));
}

#[tokio::test]
async fn mtls_accepts_the_pinned_p521_client_and_refuses_others() {
    let good = client_identity();
    let p = start_provider(Some(&good));
    let line = &p.handshake;
    let fields: Vec<&str> = line.split('|').collect();
    assert_eq!(&fields[..3], ["1", "6", "unix"]);
    assert_eq!(fields[4], "grpc");
    assert!(
        fields[5].len() > 50 && !fields[5].contains('='),
        "raw base64 without padding: {line}"
    );
    assert!(std::path::Path::new(&p.socket).exists());

    let channel = connect_tls(&p, &good)
        .await
        .expect("pinned client connects");
    let mut client = ProviderClient::new(channel);
    let schema = client
        .get_provider_schema(get_provider_schema::Request {})
        .await
        .expect("GetProviderSchema")
        .into_inner();
    assert!(schema.provider.is_some());
    assert!(schema.resource_schemas.contains_key("testbed_thing"));
    let caps = schema.server_capabilities.unwrap();
    assert!(caps.plan_destroy && caps.get_provider_schema_optional);

    // Another certificate, even another P-521 CA, is refused.
    let other = client_identity();
    let refused = async {
        let ch = connect_tls(&p, &other).await.ok()?;
        ProviderClient::new(ch)
            .get_provider_schema(get_provider_schema::Request {})
            .await
            .ok()
    };
    assert!(
        refused.await.is_none(),
        "a different client certificate must be refused"
    );
    // And so is a client that does not speak TLS at all.
    let plain = async {
        let ch = connect_plain(&p).await.ok()?;
        ProviderClient::new(ch)
            .get_provider_schema(get_provider_schema::Request {})
            .await
            .ok()
    };
    assert!(
        plain.await.is_none(),
        "plaintext must be refused when TLS is on"
    );
    shutdown_and_check(p).await;
}

#[tokio::test]
async fn plaintext_when_terraform_disables_tls_and_sigint_is_ignored() {
    let p = start_provider(None);
    assert!(
        p.handshake.ends_with("|grpc|"),
        "no certificate without TLS: {}",
        p.handshake
    );
    // Ctrl-C reaches the whole process group; the provider must survive it.
    let status = std::process::Command::new("kill")
        .args(["-s", "INT", &p.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut client = ProviderClient::new(connect_plain(&p).await.expect("connect"));
    client
        .get_provider_schema(get_provider_schema::Request {})
        .await
        .expect("still serving after SIGINT");
    let stop = client
        .stop_provider(stop_provider::Request {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stop.error, "");
    // go-plugin's health service reports the "plugin" service as serving.
    let health = HealthClient::new(connect_plain(&p).await.unwrap())
        .check(HealthCheckRequest {
            service: "plugin".into(),
        })
        .await
        .expect("health check")
        .into_inner();
    assert_eq!(health.status, ServingStatus::Serving as i32);
    shutdown_and_check(p).await;
}

fn send_signal(p: &Launched, signal: &str) {
    let status = std::process::Command::new("kill")
        .args(["-s", signal, &p.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits (bounded) until the provider exits on its own; it must exit cleanly and
/// leave no socket file behind.
fn assert_exits_and_removes_socket(mut p: Launched, after: &str) {
    let start = Instant::now();
    let status = loop {
        if let Some(s) = p.child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(10) {
            let _ = p.child.kill();
            panic!("provider still serving 10 s after {after}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "exit status {status:?} after {after}");
    assert!(
        !std::path::Path::new(&p.socket).exists(),
        "socket file left behind after {after}"
    );
}

/// The second Ctrl-C: Terraform already called StopProvider and now exits at
/// once, without Shutdown. The provider must not linger with its socket.
#[tokio::test]
async fn a_sigint_after_stop_provider_stops_serving_and_removes_the_socket() {
    let p = start_provider(None);
    send_signal(&p, "INT");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut client = ProviderClient::new(connect_plain(&p).await.expect("connect"));
    client
        .get_provider_schema(get_provider_schema::Request {})
        .await
        .expect("the first SIGINT is ignored");
    client
        .stop_provider(stop_provider::Request {})
        .await
        .expect("StopProvider");
    assert!(std::path::Path::new(&p.socket).exists());
    send_signal(&p, "INT");
    assert_exits_and_removes_socket(p, "SIGINT after StopProvider");
}

#[test]
fn sigterm_stops_serving_and_removes_the_socket() {
    let p = start_provider(None);
    assert!(std::path::Path::new(&p.socket).exists());
    send_signal(&p, "TERM");
    assert_exits_and_removes_socket(p, "SIGTERM");
}

/// Terraform sends whole states and configurations in one message; tonic's
/// default 4 MiB limit would refuse big ones, so the server takes 256 MiB.
#[tokio::test]
async fn messages_beyond_4_mib_are_accepted() {
    use tfplugin::proto::tfplugin6::{validate_resource_config, DynamicValue};
    use tfplugin::{Type, Value};
    let p = start_provider(None);
    let schema = ProviderClient::new(connect_plain(&p).await.unwrap())
        .get_provider_schema(get_provider_schema::Request {})
        .await
        .unwrap()
        .into_inner();
    assert!(schema.resource_schemas.contains_key("testbed_thing"));
    // A 6 MiB string in the configuration's `secret` attribute.
    let ty = Type::object([("name", Type::String), ("secret", Type::String)]);
    let config = Value::object([
        ("name", Value::string("big")),
        ("secret", Value::string("x".repeat(6 << 20))),
    ]);
    // Encoded against the two attributes only, then re-read per the real
    // schema by the server: absent attributes are null there.
    let msgpack = config.to_msgpack(&ty).unwrap();
    assert!(msgpack.len() > 6 << 20);
    let r = ProviderClient::new(connect_plain(&p).await.unwrap())
        .validate_resource_config(validate_resource_config::Request {
            type_name: "testbed_thing".into(),
            config: Some(DynamicValue {
                msgpack,
                json: Vec::new(),
            }),
            client_capabilities: None,
        })
        .await
        .expect("a 6 MiB request is accepted")
        .into_inner();
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    shutdown_and_check(p).await;
}

/// Resources that block their thread (CPU work, a blocking call) must not
/// keep Terraform's StopProvider and other calls from being answered, however
/// many calls block at once (here three, more than a two-worker runtime has).
#[tokio::test]
async fn blocked_calls_do_not_stall_stop_provider() {
    const BLOCKED: usize = 3;
    let dir = tempfile::tempdir().unwrap();
    let release = dir.path().join("release");
    let started = dir.path().join("release.started");
    let p = start_provider_with_env(None, &[("TESTBED_BLOCK_UNTIL", release.to_str().unwrap())]);
    let mut reads = Vec::new();
    for _ in 0..BLOCKED {
        let mut blocked = ProviderClient::new(connect_plain(&p).await.unwrap());
        reads.push(tokio::spawn(async move {
            blocked
                .read_data_source(read_data_source::Request {
                    type_name: "testbed_catalog".into(),
                    config: None,
                    provider_meta: None,
                    client_capabilities: None,
                })
                .await
        }));
    }
    let blocked_now = || {
        std::fs::read_to_string(&started)
            .map(|s| s.lines().count())
            .unwrap_or(0)
    };
    let waiting = Instant::now();
    while blocked_now() < BLOCKED {
        assert!(
            reads.iter().all(|r| !r.is_finished()),
            "a read returned without blocking"
        );
        assert!(
            waiting.elapsed() < Duration::from_secs(20),
            "only {} of {BLOCKED} reads started: the others wait for a thread",
            blocked_now()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // The reads now each hold a thread for as long as `release` is absent.
    let mut client = ProviderClient::new(connect_plain(&p).await.unwrap());
    let answered = tokio::time::timeout(Duration::from_secs(20), async {
        client
            .get_provider_schema(get_provider_schema::Request {})
            .await
            .expect("GetProviderSchema");
        client
            .stop_provider(stop_provider::Request {})
            .await
            .expect("StopProvider")
            .into_inner()
    })
    .await
    .expect("StopProvider was not answered while other calls blocked their threads");
    assert_eq!(answered.error, "");
    assert!(
        reads.iter().all(|r| !r.is_finished()),
        "the blocked reads must still be running"
    );

    std::fs::write(&release, b"").unwrap();
    for read in reads {
        read.await
            .unwrap()
            .expect("a blocked read completes once released");
    }
    shutdown_and_check(p).await;
}

/// GRPCController.Shutdown: the process must exit well within Terraform's
/// 2-second grace period and remove its socket.
async fn shutdown_and_check(mut p: Launched) {
    let channel = match &p.tls_identity {
        Some(id) => connect_tls(&p, id).await.unwrap(),
        None => connect_plain(&p).await.unwrap(),
    };
    let start = Instant::now();
    let _ = GrpcControllerClient::new(channel)
        .shutdown(tfplugin::proto::plugin::Empty {})
        .await;
    let status = loop {
        if let Some(s) = p.child.try_wait().unwrap() {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "provider did not exit within 2s of Shutdown"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert!(status.success(), "exit status {status:?}");
    assert!(
        !std::path::Path::new(&p.socket).exists(),
        "socket file left behind"
    );
}

#[test]
fn debug_mode_prints_reattach_config() {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(BIN)
        .arg("--debug")
        .env_remove(COOKIE_KEY)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut text = String::new();
    while !text.contains("TF_REATTACH_PROVIDERS=") {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        text.push_str(&line);
    }
    let json = text
        .split("TF_REATTACH_PROVIDERS='")
        .nth(1)
        .and_then(|r| r.split('\'').next())
        .expect("reattach value printed");
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    let entry = &v["registry.terraform.io/example/testbed"];
    assert_eq!(entry["ProtocolVersion"], 6);
    assert_eq!(entry["Addr"]["Network"], "unix");
    assert_eq!(entry["Pid"], child.id());
    // Ctrl-C stops a debug server (it is a human's terminal then).
    std::process::Command::new("kill")
        .args(["-s", "INT", &child.id().to_string()])
        .status()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "debug server ignored Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test]
async fn a_panic_is_reported_the_way_terraform_recognises() {
    use std::io::{BufRead, BufReader, Read};
    // The testbed panics building its schema, which the first call does.
    let mut child = std::process::Command::new(BIN)
        .env(COOKIE_KEY, COOKIE_VALUE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "6")
        .env("TESTBED_PANIC", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut handshake = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut handshake)
        .unwrap();
    let socket = handshake
        .split('|')
        .nth(3)
        .expect("handshake line")
        .to_owned();
    let channel = connect_socket(socket).await.unwrap();
    let call = ProviderClient::new(channel)
        .get_provider_schema(get_provider_schema::Request {})
        .await;
    assert!(call.is_err(), "the call must fail: the provider panicked");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(2));
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let line = err
        .lines()
        .find(|l| l.starts_with("panic: "))
        .unwrap_or_else(|| panic!("no `panic: ` line in {err}"));
    assert_eq!(line, "panic: testbed asked to panic");
    assert!(
        err.contains("main.rs"),
        "location or backtrace expected: {err}"
    );
}

#[test]
fn exits_when_terraform_dies_without_shutdown() {
    // A shell stands in for Terraform: it starts the provider in the
    // background, reports its pid and is then killed outright.
    let script = format!("{BIN} > /dev/null 2>&1 & echo $!; exec sleep 30");
    let mut parent = std::process::Command::new("sh")
        .args(["-c", &script])
        .env(COOKIE_KEY, COOKIE_VALUE)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(parent.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let pid: u32 = line.trim().parse().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let alive = |pid: u32| {
        std::path::Path::new(&format!("/proc/{pid}")).exists()
            && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .unwrap_or_default()
                .contains(") Z ")
    };
    assert!(alive(pid), "provider should be serving");
    parent.kill().unwrap();
    parent.wait().unwrap();
    let start = Instant::now();
    while alive(pid) {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "provider outlived its parent"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
