//! Benchmark (not a test): per-process cost of a provider plugin as
//! Terraform pays it. For each binary given on the command line it
//! launches the plugin as go-plugin does (magic cookie, protocol versions,
//! an AutoMTLS client certificate like Terraform's), and measures
//! - time from spawn to the handshake line on stdout,
//! - resident memory (VmRSS) after one second idle,
//! - binary size.
//!
//! Usage: `cargo run -p tfplugin --release --example handshake_bench -- [--runs N] BIN...`
//! Prints a Markdown table.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tfplugin::handshake::{COOKIE_KEY, COOKIE_VALUE};

fn client_cert_pem() -> String {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).expect("P-521 key");
    let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).expect("params");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.self_signed(&key).expect("self-signed cert").pem()
}

struct Sample {
    handshake: Duration,
    rss_kib: Option<u64>,
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn run_once(bin: &str, cert: &str, measure_rss: bool) -> Sample {
    let start = Instant::now();
    let mut child = Command::new(bin)
        .env(COOKIE_KEY, COOKIE_VALUE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
        .env("PLUGIN_MIN_PORT", "10000")
        .env("PLUGIN_MAX_PORT", "25000")
        .env("PLUGIN_CLIENT_CERT", cert)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
    let mut line = String::new();
    let mut out = BufReader::new(child.stdout.take().expect("stdout piped"));
    out.read_line(&mut line).expect("read handshake line");
    let handshake = start.elapsed();
    assert!(
        line.starts_with("1|"),
        "{bin} printed {line:?} instead of a handshake line"
    );
    let rss = measure_rss.then(|| {
        std::thread::sleep(Duration::from_secs(1));
        rss_kib(child.id())
    });
    // SIGTERM lets both Rust and Go plugins remove their sockets.
    let _ = Command::new("kill")
        .args(["-s", "TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(3);
    while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
    Sample {
        handshake,
        rss_kib: rss.flatten(),
    }
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut runs = 20usize;
    if let Some(i) = args.iter().position(|a| a == "--runs") {
        runs = args.get(i + 1).and_then(|n| n.parse().ok()).unwrap_or(runs);
        args.drain(i..(i + 2).min(args.len()));
    }
    assert!(!args.is_empty(), "usage: handshake_bench [--runs N] BIN...");
    let cert = client_cert_pem();
    println!("| binary | size (MiB) | handshake median (ms) | min | p90 | idle RSS (MiB) |");
    println!("|---|---|---|---|---|---|");
    for bin in &args {
        // One warm-up run so the page cache holds the binary for everyone.
        let _ = run_once(bin, &cert, false);
        let mut samples: Vec<Sample> = (0..runs).map(|i| run_once(bin, &cert, i == 0)).collect();
        let rss = samples[0].rss_kib;
        samples.sort_by_key(|s| s.handshake);
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let size = std::fs::metadata(bin).map(|m| m.len()).unwrap_or(0) as f64 / 1048576.0;
        let name = std::path::Path::new(bin)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        println!(
            "| {name} | {size:.1} | {:.2} | {:.2} | {:.2} | {} |",
            ms(samples[runs / 2].handshake),
            ms(samples[0].handshake),
            ms(samples[(runs * 9 / 10).min(runs - 1)].handshake),
            rss.map(|k| format!("{:.1}", k as f64 / 1024.0))
                .unwrap_or_else(|| "?".into()),
        );
    }
}
