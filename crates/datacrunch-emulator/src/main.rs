//! `datacrunch-emulator`: serves the emulated DataCrunch (Verda) API v1 until SIGINT or
//! SIGTERM. Prints one line with the real address (also for `--listen 127.0.0.1:0`).

use anyhow::Context;
use clap::Parser;
use datacrunch_emulator::{Config, Emulator, FaultRule, Timing};
use datacrunch_models::Secret;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

/// A local emulator of the DataCrunch (Verda) public API v1.
///
/// Clients use the base URL http://ADDR/v1 with the configured client id and secret.
/// The admin API (no token; loopback clients only) is at http://ADDR/admin.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Args {
    /// Address to listen on; port 0 picks a free port (the real one is printed).
    #[arg(
        long,
        env = "DATACRUNCH_EMULATOR_LISTEN",
        default_value = "127.0.0.1:18480"
    )]
    listen: String,

    /// The only client id the token endpoint accepts.
    #[arg(long, env = "DATACRUNCH_EMULATOR_CLIENT_ID", default_value = datacrunch_emulator::DEFAULT_CLIENT_ID)]
    client_id: String,

    /// A file holding the only client secret the token endpoint accepts (one line).
    /// Or set DATACRUNCH_EMULATOR_CLIENT_SECRET. Never on the command line, where every
    /// user sees it in `ps` [default secret: emulator-secret].
    #[arg(
        long,
        env = "DATACRUNCH_EMULATOR_CLIENT_SECRET_FILE",
        value_name = "PATH"
    )]
    client_secret_file: Option<PathBuf>,

    /// Refused: a secret on the command line is visible to every user in `ps`.
    #[arg(long = "client-secret", value_name = "VALUE", hide = true)]
    refused_client_secret: Option<String>,

    /// SQLite file holding instances, keys, scripts, volumes, balance and capacity
    /// across restarts (created if missing). Without it, state lives in memory.
    #[arg(long, env = "DATACRUNCH_EMULATOR_STATE")]
    state: Option<PathBuf>,

    /// Write the port actually listened on to this file (for scripts using port 0).
    #[arg(long, env = "DATACRUNCH_EMULATOR_PORT_FILE")]
    port_file: Option<PathBuf>,

    /// Use realistic lifecycle times: 3 minutes to provision, a minute to hibernate
    /// and to leave the list after delete. Default: running about 3 s after deploy.
    #[arg(long, env = "DATACRUNCH_EMULATOR_REALISTIC")]
    realistic: bool,

    /// Seconds from `provisioning` to `running` (overrides --realistic) [default: 3].
    #[arg(long, env = "DATACRUNCH_EMULATOR_PROVISIONING_SECONDS")]
    provisioning_seconds: Option<f64>,

    /// Seconds a deleted instance stays listed as `discontinued` [default: 5].
    #[arg(long, env = "DATACRUNCH_EMULATOR_DISCONTINUED_SECONDS")]
    discontinued_seconds: Option<f64>,

    /// Free slots per (instance type, location, spot/on-demand) the catalog offers.
    #[arg(long, env = "DATACRUNCH_EMULATOR_CAPACITY", default_value_t = 20)]
    capacity: u32,

    /// Storage quota in GB; volumes in the trash count against it until purged.
    #[arg(
        long,
        env = "DATACRUNCH_EMULATOR_STORAGE_QUOTA_GB",
        default_value_t = datacrunch_emulator::DEFAULT_STORAGE_QUOTA_GB
    )]
    storage_quota_gb: u64,

    /// Starting balance in USD (only for a new state).
    #[arg(long, env = "DATACRUNCH_EMULATOR_BALANCE", default_value = "1000")]
    balance: rust_decimal::Decimal,

    /// Lifetime of access tokens, in seconds.
    #[arg(
        long,
        env = "DATACRUNCH_EMULATOR_TOKEN_LIFETIME",
        default_value_t = 3600
    )]
    token_lifetime_seconds: u64,

    /// A fault rule, repeatable: `[ENDPOINT@]key=value[,key=value…]` with keys
    /// rate_429, rate_500, rate_503, drop_rate, lost_answer_rate, revoke_rate (0 to 1),
    /// latency_ms, retry_after_secs (of 429s, default 1), retry_after_503_secs (of 503s,
    /// default none). drop_rate closes the connection before the request is handled;
    /// lost_answer_rate handles it in full, then resets the connection unanswered.
    /// ENDPOINT is a method and route template such as `GET /v1/instances/{id}`;
    /// without one the rule applies to every endpoint.
    /// Example: --fault 'POST /v1/instances@lost_answer_rate=0.5' --fault 'latency_ms=20'.
    #[arg(long = "fault", value_name = "SPEC", value_parser = parse_fault)]
    faults: Vec<(String, FaultRule)>,

    /// Seed of the fault RNG (same seed, same calls: same faults).
    #[arg(long, env = "DATACRUNCH_EMULATOR_FAULT_SEED", default_value_t = 0)]
    fault_seed: u64,

    /// Seconds a keep-alive connection may stay idle (or take to send a request's
    /// headers) before it is closed.
    #[arg(long, env = "DATACRUNCH_EMULATOR_IDLE_TIMEOUT", default_value_t = datacrunch_emulator::DEFAULT_IDLE_TIMEOUT.as_secs_f64())]
    idle_timeout_seconds: f64,

    /// What an instance is: `sandbox` boots a node you can SSH into for each running
    /// instance (Linux namespaces and OpenSSH's sshd; root, or unprivileged user
    /// namespaces), `records` keeps instances as API records whose addresses answer
    /// nothing, `auto` boots sandboxes when this machine can and otherwise says why
    /// once and keeps records.
    #[arg(long, env = "DATACRUNCH_EMULATOR_NODES", default_value = "auto", value_parser = ["auto", "sandbox", "records"])]
    nodes: String,

    /// Directory of the node disks [default: next to --state as STATE.nodes, or a
    /// temporary directory removed at exit].
    #[arg(long, env = "DATACRUNCH_EMULATOR_NODES_DIR", value_name = "DIR")]
    nodes_dir: Option<PathBuf>,
}

fn parse_fault(spec: &str) -> Result<(String, FaultRule), String> {
    FaultRule::parse_spec(spec)
}

fn seconds(name: &str, s: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(s)
        .with_context(|| format!("--{name} must be a non-negative number of seconds, got {s}"))
}

fn positive_seconds(name: &str, s: f64) -> anyhow::Result<Duration> {
    match seconds(name, s)? {
        d if d.is_zero() => anyhow::bail!("--{name} must be more than 0 seconds, got {s}"),
        d => Ok(d),
    }
}

/// The environment variable that may hold the client secret.
const CLIENT_SECRET_ENV: &str = "DATACRUNCH_EMULATOR_CLIENT_SECRET";

/// The client secret from `--client-secret-file` or the environment (one, not both), or
/// the default. Never from the command line, which any local user can read.
fn client_secret(args: &Args) -> anyhow::Result<Secret> {
    if args.refused_client_secret.is_some() {
        anyhow::bail!(
            "--client-secret is not accepted: a secret on the command line is visible to \
             every user in `ps`. Put it in a file and pass --client-secret-file PATH, or set \
             {CLIENT_SECRET_ENV}"
        );
    }
    let from_env = std::env::var_os(CLIENT_SECRET_ENV);
    match (&args.client_secret_file, from_env) {
        (Some(_), Some(_)) => {
            anyhow::bail!("both --client-secret-file and {CLIENT_SECRET_ENV} are set; set only one")
        }
        (Some(path), None) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read --client-secret-file {}", path.display()))?;
            let secret = text.trim_end_matches(['\n', '\r']);
            if secret.is_empty() || secret.contains(['\n', '\r']) {
                anyhow::bail!(
                    "--client-secret-file {} must hold the secret on one non-empty line",
                    path.display()
                );
            }
            Ok(Secret::new(secret))
        }
        (None, Some(value)) => match value.into_string() {
            Ok(secret) if !secret.is_empty() => Ok(Secret::new(secret)),
            _ => anyhow::bail!("{CLIENT_SECRET_ENV} must be non-empty UTF-8 text"),
        },
        (None, None) => Ok(Secret::new(datacrunch_emulator::DEFAULT_CLIENT_SECRET)),
    }
}

fn config(args: &Args) -> anyhow::Result<Config> {
    let mut timing = if args.realistic {
        Timing::realistic()
    } else {
        Timing::fast()
    };
    if let Some(s) = args.provisioning_seconds {
        timing.provisioning = seconds("provisioning-seconds", s)?;
    }
    if let Some(s) = args.discontinued_seconds {
        timing.discontinued_visible = seconds("discontinued-seconds", s)?;
    }
    Ok(Config {
        client_id: args.client_id.clone(),
        client_secret: client_secret(args)?,
        state_file: args.state.clone(),
        timing,
        capacity_per_slot: args.capacity,
        storage_quota_gb: args.storage_quota_gb,
        starting_balance: args.balance,
        token_lifetime: Duration::from_secs(args.token_lifetime_seconds),
        faults: args.faults.iter().cloned().collect(),
        fault_seed: args.fault_seed,
        idle_timeout: positive_seconds("idle-timeout-seconds", args.idle_timeout_seconds)?,
        nodes: args.nodes.parse().map_err(anyhow::Error::msg)?,
        nodes_dir: args.nodes_dir.clone(),
    })
}

/// Completes on SIGINT or SIGTERM. The handlers are installed when this is called, not
/// when the future is first polled: the caller calls it before announcing its address, so
/// a signal sent right after the announcement stops the server gracefully instead of
/// killing it.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut interrupt = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
        let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
            tracing::info!("shutting down");
        })
    }
    #[cfg(not(unix))]
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Every request logs a line at INFO. Written straight to stderr, each line is a
    // locked write(2) on the request's worker thread; a background writer keeps that off
    // the request path. Not lossy: the one-line-per-request log is a promise; a request
    // waits only when LOG_QUEUE_LINES lines are unwritten. The queue is allocated up
    // front, so it is kept small (the default 128k lines cost ~4 MiB of RSS).
    // `_flush_logs` writes what is queued when main returns (after SIGTERM).
    const LOG_QUEUE_LINES: usize = 8192;
    let (stderr, _flush_logs) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(LOG_QUEUE_LINES)
        .lossy(false)
        .thread_name("datacrunch-emulator-log")
        .finish(std::io::stderr());
    tracing_subscriber::fmt()
        .with_writer(stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let emulator = Emulator::new(config(&args)?).context("cannot start the emulator")?;
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    if !addr.ip().is_loopback() {
        tracing::warn!(%addr, "listening beyond loopback: anyone who can reach it can use the API with the configured credentials");
    }
    if let Some(path) = &args.port_file {
        std::fs::write(path, format!("{}\n", addr.port()))
            .with_context(|| format!("cannot write --port-file {}", path.display()))?;
    }
    let shutdown = shutdown_signal()?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "datacrunch-emulator listening on http://{addr}/v1")?;
    stdout.flush()?;
    emulator.serve(listener, shutdown).await;
    Ok(())
}
