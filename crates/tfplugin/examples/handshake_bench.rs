//! Benchmark (not a test): per-process cost of a provider plugin as
//! Terraform pays it. For each binary given on the command line it
//! launches the plugin as go-plugin does (magic cookie, protocol versions,
//! an AutoMTLS client certificate shaped like Terraform's P-521 one) and
//! measures
//! - time from spawn to the handshake line on stdout,
//! - time from spawn to the first answered RPC (GetProviderSchema over mTLS),
//! - resident memory one second after that RPC: VmRSS, and its anonymous
//!   part (heap, stacks; the rest is file-backed pages of the binary and
//!   libraries, shared with other processes running the same binary),
//! - binary size.
//!
//! Usage: `cargo run -p tfplugin --release --example handshake_bench -- [--runs N] BIN...`
//! Prints a Markdown table.

// A measuring tool over the test helpers: a failure aborts the run with its location,
// which is all a benchmark needs.
#![allow(clippy::unwrap_used)]

// The test helpers that launch plugins and speak mTLS to them, reused as is.
#[path = "../tests/plugin/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{client_identity, connect_tls, start_plugin, ClientIdentity};
use tfplugin::proto::tfplugin6::get_provider_schema;
use tfplugin::proto::tfplugin6::provider_client::ProviderClient;

struct Sample {
    handshake: Duration,
    first_rpc: Duration,
    rss_kib: Option<(u64, u64)>,
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

async fn run_once(bin: &str, id: &ClientIdentity, measure_rss: bool) -> Sample {
    let start = Instant::now();
    let p = start_plugin(bin, Some(id));
    let handshake = start.elapsed();
    let channel = connect_tls(&p, id).await.expect("mTLS connection");
    ProviderClient::new(channel)
        .max_decoding_message_size(tfplugin::MAX_MESSAGE_SIZE)
        .get_provider_schema(get_provider_schema::Request {})
        .await
        .expect("GetProviderSchema");
    let first_rpc = start.elapsed();
    let rss_kib = if measure_rss {
        tokio::time::sleep(Duration::from_secs(1)).await;
        rss_kib(p.child.id())
    } else {
        None
    };
    // Dropping `p` kills the plugin.
    Sample {
        handshake,
        first_rpc,
        rss_kib,
    }
}

fn percentile(sorted: &[Duration], pct: usize) -> f64 {
    let i = (sorted.len() * pct / 100).min(sorted.len() - 1);
    sorted[i].as_secs_f64() * 1000.0
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
        "usage: handshake_bench [--runs N] BIN..."
    );
    let id = client_identity();
    println!("| binary | size (MiB) | spawn → handshake line, median / p90 (ms) | spawn → first RPC over mTLS, median / p90 (ms) | RSS after first RPC, total / anonymous (MiB) |");
    println!("|---|---|---|---|---|");
    for bin in &args {
        // Warm-up so the page cache holds the binary for every candidate alike.
        let _ = run_once(bin, &id, false).await;
        let mut samples = Vec::with_capacity(runs);
        for i in 0..runs {
            samples.push(run_once(bin, &id, i == 0).await);
        }
        let rss = samples[0].rss_kib;
        let mut hs: Vec<Duration> = samples.iter().map(|s| s.handshake).collect();
        let mut rpc: Vec<Duration> = samples.iter().map(|s| s.first_rpc).collect();
        hs.sort();
        rpc.sort();
        let size = std::fs::metadata(bin).map(|m| m.len()).unwrap_or(0) as f64 / 1048576.0;
        let name = std::path::Path::new(bin)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        println!(
            "| {name} | {size:.1} | {:.1} / {:.1} | {:.1} / {:.1} | {} |",
            percentile(&hs, 50),
            percentile(&hs, 90),
            percentile(&rpc, 50),
            percentile(&rpc, 90),
            rss.map(|(t, a)| format!("{:.1} / {:.1}", t as f64 / 1024.0, a as f64 / 1024.0))
                .unwrap_or_else(|| "?".into()),
        );
    }
}
