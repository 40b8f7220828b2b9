//! Load benchmark of the emulator binary, run as a second process on loopback.
//!
//! `cargo bench -p datacrunch-emulator --bench load` (release build). Seeds 100
//! instances, then measures `GET /v1/instances` with concurrent keep-alive clients for
//! a bounded time (reads/s, p50, p99), then the deploy path up to 1,000 instances, and
//! the emulator's RSS (VmRSS) with 1,000 instances. Settings: LOAD_SECONDS (default 10),
//! LOAD_CLIENTS (default 16), LOAD_LOG (the emulator's RUST_LOG, default `warn`; `info`
//! measures with the one-line-per-request log on).
//!
//! The readers use hyper's bare HTTP/1 client connection (one per reader, request head
//! built once) rather than reqwest: on a 2-core machine the load generator competes
//! with the emulator for CPU, so the lighter it is, the more the figure says about the
//! emulator. Every answer is still checked (status 200, full body read, right length).
//! The emulator's own CPU time over the read phase (from /proc) is reported too, as
//! CPU per read: the emulator's capacity independent of what else runs on the machine.

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Emulator {
    child: Child,
    base: String,
    admin: String,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_emulator() -> Emulator {
    let mut child = Command::new(env!("CARGO_BIN_EXE_datacrunch-emulator"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--capacity",
            "5000",
            "--balance",
            "1000000",
        ])
        .env(
            "RUST_LOG",
            std::env::var("LOAD_LOG").unwrap_or_else(|_| "warn".to_owned()),
        )
        .stdout(Stdio::piped())
        // With LOAD_LOG=info the log is real work for the emulator; discarding it here
        // keeps the terminal out of the measurement.
        .stderr(Stdio::null())
        .spawn()
        .expect("start the emulator binary");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read the listening line");
    let base = line
        .trim()
        .rsplit(' ')
        .next()
        .expect("listening URL")
        .to_owned();
    let admin = base.replace("/v1", "/admin");
    Emulator { child, base, admin }
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// CPU seconds (user + system) a process has used, from `/proc/PID/stat`.
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let after = stat.rsplit(')').next().unwrap_or_default();
    let ticks: u64 = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse::<u64>().ok())
        .sum();
    ticks as f64 / clock_ticks_per_second()
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// One reader: its own keep-alive connection, `GET /v1/instances` back to back until
/// `deadline`, each answer checked and read in full. Returns the latencies.
async fn reader(
    addr: String,
    path: String,
    bearer: String,
    expected_len: usize,
    deadline: Instant,
) -> Vec<Duration> {
    let stream = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let authorization = hyper::header::HeaderValue::from_str(&bearer).expect("header");
    let mut latencies = Vec::new();
    while Instant::now() < deadline {
        let req = hyper::Request::get(path.as_str())
            .header(hyper::header::HOST, addr.as_str())
            .header(hyper::header::AUTHORIZATION, authorization.clone())
            .body(Empty::<Bytes>::new())
            .expect("request");
        let start = Instant::now();
        let resp = sender.send_request(req).await.expect("read");
        assert_eq!(resp.status(), 200);
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        assert_eq!(body.len(), expected_len);
        latencies.push(start.elapsed());
    }
    latencies
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn token(http: &reqwest::Client, base: &str) -> String {
    let body = json!({"grant_type": "client_credentials", "client_id": "emulator-client", "client_secret": "emulator-secret"});
    let t: Value = http
        .post(format!("{base}/oauth2/token"))
        .json(&body)
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("token JSON");
    t["access_token"].as_str().expect("access_token").to_owned()
}

async fn deploy_many(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    from: usize,
    to: usize,
) -> Vec<Duration> {
    let mut latencies = Vec::with_capacity(to - from);
    for i in from..to {
        let location = ["FIN-01", "FIN-02", "FIN-03"][i % 3];
        let body = json!({
            "instance_type": "CPU.4V.16G", "image": "ubuntu-24.04", "hostname": format!("load-{i}"),
            "description": "load", "location_code": location,
        });
        let start = Instant::now();
        let resp = http
            .post(format!("{base}/instances"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("deploy");
        assert_eq!(resp.status(), 202, "{:?}", resp.text().await);
        let _ = resp.bytes().await;
        latencies.push(start.elapsed());
    }
    latencies
}

#[tokio::main]
async fn main() {
    let seconds: u64 = std::env::var("LOAD_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let clients: usize = std::env::var("LOAD_CLIENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(16);
    let started = Instant::now();
    let emu = start_emulator();
    let startup = started.elapsed();
    let pid = emu.child.id();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients * 2)
        .build()
        .expect("client");
    let token = token(&http, &emu.base).await;

    deploy_many(&http, &emu.base, &token, 0, 100).await;
    http.post(format!("{}/clock/advance", emu.admin))
        .json(&json!({"seconds": 60}))
        .send()
        .await
        .expect("advance");
    let body = http
        .get(format!("{}/instances", emu.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("list")
        .bytes()
        .await
        .expect("list body");
    let listed: Vec<Value> = serde_json::from_slice(&body).expect("list JSON");
    assert_eq!(listed.len(), 100);
    assert!(listed.iter().all(|i| i["status"] == "running"));

    let url = reqwest::Url::parse(&emu.base).expect("base URL");
    let addr = format!(
        "{}:{}",
        url.host_str().expect("host"),
        url.port().expect("port")
    );
    let path = format!("{}/instances", url.path());
    let emulator_pid = pid.to_string();
    let cpu_before = (cpu_seconds(&emulator_pid), cpu_seconds("self"));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let read_start = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            tokio::spawn(reader(
                addr.clone(),
                path.clone(),
                format!("Bearer {token}"),
                body.len(),
                deadline,
            ))
        })
        .collect();
    let mut reads = Vec::new();
    for t in tasks {
        reads.extend(t.await.expect("reader"));
    }
    let read_elapsed = read_start.elapsed();
    let emulator_cpu = cpu_seconds(&emulator_pid) - cpu_before.0;
    let client_cpu = cpu_seconds("self") - cpu_before.1;
    reads.sort();

    let deploy_start = Instant::now();
    let mut deploys = deploy_many(&http, &emu.base, &token, 100, 1000).await;
    let deploy_elapsed = deploy_start.elapsed();
    deploys.sort();
    http.post(format!("{}/clock/advance", emu.admin))
        .json(&json!({"seconds": 60}))
        .send()
        .await
        .expect("advance");
    let full = http
        .get(format!("{}/instances", emu.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("list");
    let full_len = full.bytes().await.expect("body").len();
    let rss = rss_kib(pid);

    println!("| measure | result |");
    println!("|---|---|");
    println!(
        "| emulator start to listening line | {:.0} ms |",
        ms(startup)
    );
    println!("| GET /v1/instances, 100 instances ({} bytes), {clients} keep-alive clients, {seconds} s | {:.0} reads/s |", body.len(), reads.len() as f64 / read_elapsed.as_secs_f64());
    println!(
        "| read latency p50 / p99 | {:.2} ms / {:.2} ms |",
        ms(percentile(&reads, 0.5)),
        ms(percentile(&reads, 0.99))
    );
    println!(
        "| CPU over the read phase: emulator / load generator | {:.2} s / {:.2} s of {:.1} s |",
        emulator_cpu,
        client_cpu,
        read_elapsed.as_secs_f64()
    );
    println!(
        "| emulator CPU per read, and reads per emulator CPU-second | {:.1} µs, {:.0} reads/s |",
        emulator_cpu * 1e6 / reads.len() as f64,
        reads.len() as f64 / emulator_cpu
    );
    println!(
        "| POST /v1/instances, sequential, 900 deploys | {:.0} deploys/s |",
        deploys.len() as f64 / deploy_elapsed.as_secs_f64()
    );
    println!(
        "| deploy latency p50 / p99 | {:.2} ms / {:.2} ms |",
        ms(percentile(&deploys, 0.5)),
        ms(percentile(&deploys, 0.99))
    );
    println!(
        "| emulator RSS with 1,000 instances (list of {full_len} bytes served) | {:.1} MiB |",
        rss as f64 / 1024.0
    );
}
