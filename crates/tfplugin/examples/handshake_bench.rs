//! Benchmark (not a test): per-process cost of a provider plugin as
//! Terraform pays it. For each binary given on the command line it
//! launches the plugin as go-plugin does (magic cookie, protocol versions,
//! an AutoMTLS client certificate shaped like Terraform's P-521 one) and
//! measures
//! - time from spawn to the handshake line on stdout,
//! - time from spawn to the first answered RPC (GetProviderSchema over mTLS),
//! - with a cycle file (`BIN=CYCLE.json`), time from spawn to the end of one
//!   GetProviderSchema + ConfigureProvider + ReadResource cycle, the three
//!   calls `terraform plan` makes of a provider for a resource in state,
//! - resident memory one second after the handshake line and one second
//!   after the cycle (or the first RPC): VmRSS, and its anonymous part
//!   (heap, stacks; the rest is file-backed pages of the binary and
//!   libraries, shared with other processes running the same binary),
//! - binary size.
//!
//! A cycle file is JSON:
//! `{"config": {..}, "resource": "TYPE", "state": {..}, "stub": {"status": 200, "body": ..}}`.
//! `config` is the provider block and `state` the resource's prior state, both as
//! Terraform's JSON values with every attribute present. `stub` is optional: a loopback
//! HTTPS server answering every request with that status and body, for a provider whose
//! API has no local emulator; `{stub}` in any string of `config` becomes its base URL,
//! and the plugin trusts its certificate through `SSL_CERT_FILE` (Go's crypto reads it).
//! A cycle whose calls return an error diagnostic aborts the benchmark: only
//! successful reads are compared.
//!
//! Usage: `cargo run -p tfplugin --release --example handshake_bench -- [--runs N] BIN[=CYCLE.json]...`
//! Prints a Markdown table.

// A measuring tool over the test helpers: a failure aborts the run with its location,
// which is all a benchmark needs.
#![allow(clippy::unwrap_used)]

// The test helpers that launch plugins and speak mTLS to them, reused as is.
#[path = "../tests/plugin/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{client_identity, connect_tls, start_plugin_with_env, ClientIdentity, Launched};
use tfplugin::proto::tfplugin6::provider_client::ProviderClient;
use tfplugin::proto::tfplugin6::{
    configure_provider, diagnostic, get_provider_schema, read_resource, Diagnostic, DynamicValue,
    Schema,
};
use tfplugin::{Type, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What to do after GetProviderSchema: configure the provider and read one resource.
struct Cycle {
    config: serde_json::Value,
    resource: String,
    state: serde_json::Value,
    /// For the plugin: trust the stub's certificate.
    env: Vec<(String, String)>,
}

struct Sample {
    handshake: Duration,
    first_rpc: Duration,
    cycle: Option<Duration>,
}

/// (VmRSS, RssAnon) in KiB.
fn rss_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        status
            .lines()
            .find(|l| l.starts_with(name))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    Some((field("VmRSS:")?, field("RssAnon:")?))
}

/// The object type of a schema block's attributes (what this driver's cycles need:
/// the compared providers' blocks have no nested blocks or nested attributes).
fn block_type(schema: Option<&Schema>, what: &str) -> Type {
    let block = schema
        .and_then(|s| s.block.as_ref())
        .unwrap_or_else(|| panic!("no schema for {what}"));
    assert!(
        block.block_types.is_empty(),
        "{what}: nested blocks are not supported by this driver"
    );
    Type::object(block.attributes.iter().map(|a| {
        let ty = Type::from_json_bytes(&a.r#type)
            .unwrap_or_else(|e| panic!("{what}.{}: type {e}", a.name));
        (a.name.clone(), ty)
    }))
}

/// `v` as Terraform sends values: msgpack of the schema's type.
fn dynamic_value(v: &serde_json::Value, ty: &Type, what: &str) -> Option<DynamicValue> {
    let value = Value::from_json_value(v, ty).unwrap_or_else(|e| panic!("{what}: {e}"));
    Some(DynamicValue {
        msgpack: value.to_msgpack(ty).unwrap(),
        json: Vec::new(),
    })
}

fn assert_no_error(call: &str, diagnostics: &[Diagnostic]) {
    let errors: Vec<_> = diagnostics
        .iter()
        .filter(|d| d.severity == diagnostic::Severity::Error as i32)
        .map(|d| format!("{}: {}", d.summary, d.detail))
        .collect();
    assert!(errors.is_empty(), "{call} failed: {errors:?}");
}

/// Launches `bin`, answers GetProviderSchema, then runs `cycle`; `rss` receives the
/// resident set one second after the handshake and one second after the last call
/// (then the times include those seconds).
async fn run_once(
    bin: &str,
    id: &ClientIdentity,
    cycle: Option<&Cycle>,
    rss: Option<&mut Vec<(u64, u64)>>,
) -> Sample {
    let start = Instant::now();
    let env: Vec<(&str, &str)> = cycle
        .map(|c| {
            c.env
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect()
        })
        .unwrap_or_default();
    let p: Launched = start_plugin_with_env(bin, Some(id), &env);
    let handshake = start.elapsed();
    let mut rss = rss;
    if let Some(rss) = rss.as_deref_mut() {
        tokio::time::sleep(Duration::from_secs(1)).await;
        rss.extend(rss_kib(p.child.id()));
    }
    let channel = connect_tls(&p, id).await.expect("mTLS connection");
    let mut client =
        ProviderClient::new(channel).max_decoding_message_size(tfplugin::MAX_MESSAGE_SIZE);
    let schema = client
        .get_provider_schema(get_provider_schema::Request {})
        .await
        .expect("GetProviderSchema")
        .into_inner();
    assert_no_error("GetProviderSchema", &schema.diagnostics);
    let first_rpc = start.elapsed();
    let cycle = match cycle {
        None => None,
        Some(c) => {
            let configured = client
                .configure_provider(configure_provider::Request {
                    terraform_version: "1.15.5".into(),
                    config: dynamic_value(
                        &c.config,
                        &block_type(schema.provider.as_ref(), "provider"),
                        "config",
                    ),
                    ..Default::default()
                })
                .await
                .expect("ConfigureProvider")
                .into_inner();
            assert_no_error("ConfigureProvider", &configured.diagnostics);
            let read = client
                .read_resource(read_resource::Request {
                    type_name: c.resource.clone(),
                    current_state: dynamic_value(
                        &c.state,
                        &block_type(schema.resource_schemas.get(&c.resource), &c.resource),
                        "state",
                    ),
                    ..Default::default()
                })
                .await
                .expect("ReadResource")
                .into_inner();
            assert_no_error("ReadResource", &read.diagnostics);
            // msgpack nil: the provider found nothing and would drop it from state.
            let found = read.new_state.is_some_and(|s| s.msgpack != [0xc0]);
            assert!(found, "ReadResource of {} found nothing", c.resource);
            Some(start.elapsed())
        }
    };
    if let Some(rss) = rss {
        tokio::time::sleep(Duration::from_secs(1)).await;
        rss.extend(rss_kib(p.child.id()));
    }
    // Dropping `p` kills the plugin.
    Sample {
        handshake,
        first_rpc,
        cycle,
    }
}

/// Serves every HTTPS (HTTP/1.1) request on a loopback port with `status` and `body`
/// (one request per connection), under a fresh self-signed certificate written to
/// `ca_file` (the plugin trusts it through `SSL_CERT_FILE`); returns the base URL.
async fn serve_stub(status: u16, body: String, ca_file: &std::path::Path) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    std::fs::write(ca_file, certified.cert.pem()).unwrap();
    let tls = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![certified.cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into()),
    )
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(tls));
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let (body, acceptor) = (body.clone(), acceptor.clone());
            tokio::spawn(async move {
                let Ok(mut conn) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let answer = format!(
                    "HTTP/1.1 {status} Stub\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = conn.write_all(answer.as_bytes()).await;
                let _ = conn.shutdown().await;
            });
        }
    });
    url
}

fn replace_stub(v: &mut serde_json::Value, url: &str) {
    match v {
        serde_json::Value::String(s) => *s = s.replace("{stub}", url),
        serde_json::Value::Array(a) => a.iter_mut().for_each(|v| replace_stub(v, url)),
        serde_json::Value::Object(o) => o.values_mut().for_each(|v| replace_stub(v, url)),
        _ => {}
    }
}

async fn load_cycle(path: &str) -> Cycle {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut spec: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut env = Vec::new();
    if let Some(stub) = spec.get("stub") {
        let status = stub.get("status").and_then(|s| s.as_u64()).unwrap_or(200) as u16;
        let body = stub
            .get("body")
            .map(|b| b.to_string())
            .unwrap_or_else(|| "{}".into());
        let ca_file = std::env::temp_dir().join(format!("bench-stub-{}.pem", std::process::id()));
        let url = serve_stub(status, body, &ca_file).await;
        replace_stub(&mut spec["config"], &url);
        env.push(("SSL_CERT_FILE".to_owned(), ca_file.display().to_string()));
    }
    let field = |name: &str| {
        spec.get(name)
            .cloned()
            .unwrap_or_else(|| panic!("{path}: no `{name}`"))
    };
    Cycle {
        config: field("config"),
        resource: field("resource")
            .as_str()
            .unwrap_or_else(|| panic!("{path}: `resource` is not a string"))
            .to_owned(),
        state: field("state"),
        env,
    }
}

fn percentile(sorted: &[Duration], pct: usize) -> f64 {
    let i = (sorted.len() * pct / 100).min(sorted.len() - 1);
    sorted[i].as_secs_f64() * 1000.0
}

fn median_p90(mut d: Vec<Duration>) -> String {
    d.sort();
    format!("{:.1} / {:.1}", percentile(&d, 50), percentile(&d, 90))
}

fn mib(rss: Option<&(u64, u64)>) -> String {
    rss.map(|(t, a)| format!("{:.1} / {:.1}", *t as f64 / 1024.0, *a as f64 / 1024.0))
        .unwrap_or_else(|| "?".into())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut runs = 20usize;
    if let Some(i) = args.iter().position(|a| a == "--runs") {
        runs = args.get(i + 1).and_then(|n| n.parse().ok()).unwrap_or(runs);
        args.drain(i..(i + 2).min(args.len()));
    }
    assert!(
        !args.is_empty() && runs > 0,
        "usage: handshake_bench [--runs N] BIN[=CYCLE.json]..."
    );
    let id = client_identity();
    println!(
        "| binary | size (MiB) | spawn → handshake line, median / p90 (ms) \
         | spawn → first RPC over mTLS, median / p90 (ms) \
         | spawn → schema + configure + read, median / p90 (ms) \
         | RSS after handshake, total / anonymous (MiB) \
         | RSS after the last call, total / anonymous (MiB) |"
    );
    println!("|---|---|---|---|---|---|---|");
    for arg in &args {
        let (bin, cycle) = match arg.split_once('=') {
            Some((bin, path)) => (bin, Some(load_cycle(path).await)),
            None => (arg.as_str(), None),
        };
        // Warm-up so the page cache holds the binary for every candidate alike; its
        // resident set is measured on the way (the timed launches do not sleep).
        let mut rss = Vec::new();
        let _ = run_once(bin, &id, cycle.as_ref(), Some(&mut rss)).await;
        let mut samples = Vec::with_capacity(runs);
        for _ in 0..runs {
            samples.push(run_once(bin, &id, cycle.as_ref(), None).await);
        }
        let size = std::fs::metadata(bin).map(|m| m.len()).unwrap_or(0) as f64 / 1048576.0;
        let name = std::path::Path::new(bin)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let cycles: Vec<Duration> = samples.iter().filter_map(|s| s.cycle).collect();
        println!(
            "| {name} | {size:.1} | {} | {} | {} | {} | {} |",
            median_p90(samples.iter().map(|s| s.handshake).collect()),
            median_p90(samples.iter().map(|s| s.first_rpc).collect()),
            if cycles.is_empty() {
                "-".to_owned()
            } else {
                median_p90(cycles)
            },
            mib(rss.first()),
            mib(rss.get(1)),
        );
    }
}
