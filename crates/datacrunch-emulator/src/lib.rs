//! A faithful local emulator of the DataCrunch (Verda) public API v1, as a library and
//! a binary (`datacrunch-emulator`).
//!
//! The official SDKs work against it unmodified: every endpoint of the public API with
//! the real payload shapes, error codes and quirks, a realistic catalog, OAuth2 with
//! expiring tokens, an instance lifecycle on a virtual clock the admin API can advance, capacity per (type, location, spot), a
//! balance that drops with use, fault injection, and state in SQLite that survives a
//! restart.
//!
//! ```no_run
//! # async fn demo() -> Result<(), datacrunch_emulator::EmulatorError> {
//! let emulator = datacrunch_emulator::Emulator::builder().build()?;
//! let running = emulator.spawn_on_loopback().await?;
//! // Point a client at running.base_url ("http://127.0.0.1:PORT/v1") with
//! // running.client_id / running.client_secret; steer it with running.admin.
//! running.admin.advance_clock(std::time::Duration::from_secs(60));
//! running.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Modules: `catalog` (seed data), `world` (per-resource stores, lifecycle and the
//! operations across them, behind one facade; no HTTP), `error` (the domain's
//! [`ApiError`]: an error code and message), `store` (SQLite), `clock`, `auth`,
//! `faults`, `http` (routes, middleware, and the status + body of each error), `server`
//! (accept loop), `shared` (state handed to handlers, and the in-process
//! [`AdminHandle`]), `sandbox` (instances as machines you can SSH into).

mod auth;
pub mod catalog;
pub mod clock;
pub mod cluster_catalog;
mod config;
mod error;
pub mod faults;
mod http;
mod pricing;
pub mod sandbox;
mod server;
mod shared;
pub mod store;
pub mod world;

pub use config::{
    Config, Timing, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_IDLE_TIMEOUT,
    DEFAULT_STORAGE_QUOTA_GB,
};
pub use error::{ApiError, EmulatorError};
pub use faults::FaultRule;
pub use shared::AdminHandle;

use crate::auth::Auth;
use crate::catalog::Catalog;
use crate::clock::Clock;
use crate::faults::Faults;
use crate::shared::{Counters, Shared};
use crate::store::Store;
use crate::world::World;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// An emulator ready to serve. Build one with [`Emulator::builder`].
#[derive(Debug)]
pub struct Emulator {
    shared: Arc<Shared>,
    config: Config,
    /// Set when instances boot as sandboxes.
    sandboxes: Option<SandboxHost>,
}

/// Where and how this emulator boots its nodes.
#[derive(Debug)]
struct SandboxHost {
    host: sandbox::Host,
    /// The nodes directory is temporary (no state file): removed at exit.
    temporary: bool,
}

impl Emulator {
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }

    /// Opens (or creates) the state and seeds a new world from `config`.
    pub fn new(config: Config) -> Result<Emulator, EmulatorError> {
        if config.idle_timeout.is_zero() {
            return Err(EmulatorError::Config(
                "idle_timeout must be more than zero".to_owned(),
            ));
        }
        for (endpoint, rule) in &config.faults {
            rule.validate()
                .map_err(|e| EmulatorError::Config(format!("fault rule for {endpoint:?}: {e}")))?;
        }
        let (sandboxes, board) = resolve_nodes(&config)?;
        let catalog = Arc::new(Catalog::new());
        let clock = Arc::new(Clock::new(0));
        let store = Store::open(config.state_file.as_deref())?;
        let world = World::load(
            catalog.clone(),
            Arc::new(config.clone()),
            clock.clone(),
            store,
        )?;
        let shared = Arc::new(Shared {
            world: Mutex::new(world),
            auth: Auth::new(
                config.client_id.clone(),
                config.client_secret.clone(),
                config.token_lifetime,
            ),
            faults: Faults::new(config.faults.clone(), config.fault_seed),
            counters: Counters::default(),
            catalog,
            clock,
            nodes: Arc::new(board),
        });
        Ok(Emulator {
            shared,
            config,
            sandboxes,
        })
    }

    /// The in-process admin API.
    pub fn admin(&self) -> AdminHandle {
        AdminHandle(self.shared.clone())
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Serves on `listener` until `shutdown` completes, then drains open requests.
    pub async fn serve(self, listener: TcpListener, shutdown: impl Future<Output = ()>) {
        let router = http::router(self.shared.clone());
        let supervisor = self.start_nodes();
        server::serve(router, listener, self.config.idle_timeout, shutdown).await;
        if let Some(supervisor) = supervisor {
            // Joins the supervisor thread, which waits for every node to die.
            let _ = tokio::task::spawn_blocking(move || supervisor.stop()).await;
        }
    }

    /// Starts the node supervisor when instances are sandboxes.
    fn start_nodes(&self) -> Option<sandbox::Supervisor> {
        let sandboxes = self.sandboxes.as_ref()?;
        let shared = self.shared.clone();
        let plan = move || shared.with(|world, _| Ok(world.node_plan())).ok();
        match sandbox::Supervisor::start(
            sandboxes.host.clone(),
            self.shared.nodes.clone(),
            sandboxes.temporary,
            plan,
        ) {
            Ok(supervisor) => Some(supervisor),
            Err(e) => {
                tracing::error!(error = %e, "cannot start the node supervisor: instances are records only");
                None
            }
        }
    }

    /// Serves on 127.0.0.1 on a free port, in a task of the current tokio runtime.
    pub async fn spawn_on_loopback(self) -> Result<RunningEmulator, EmulatorError> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let stop = CancellationToken::new();
        let mut running = self.running(addr, stop.clone());
        let shutdown = async move { stop.cancelled().await };
        let task = tokio::spawn(self.serve(listener, shutdown));
        running.task = Some(Runner::Task(task));
        Ok(running)
    }

    /// Like [`spawn_on_loopback`](Self::spawn_on_loopback), on a thread with its own
    /// runtime: for synchronous tests, or tests that want the emulator off their runtime.
    pub fn start_on_loopback_thread(self) -> Result<RunningEmulator, EmulatorError> {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let stop = CancellationToken::new();
        let mut running = self.running(addr, stop.clone());
        let thread = std::thread::Builder::new()
            .name("datacrunch-emulator".to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    match TcpListener::from_std(std_listener) {
                        Ok(listener) => {
                            self.serve(listener, async move { stop.cancelled().await })
                                .await
                        }
                        Err(e) => tracing::error!(error = %e, "cannot listen"),
                    }
                })
            })?;
        running.task = Some(Runner::Thread(thread));
        Ok(running)
    }

    fn running(&self, addr: SocketAddr, stop: CancellationToken) -> RunningEmulator {
        RunningEmulator {
            base_url: format!("http://{addr}/v1"),
            admin_url: format!("http://{addr}/admin"),
            addr,
            client_id: self.config.client_id.clone(),
            client_secret: self.config.client_secret.expose().to_owned(),
            admin: self.admin(),
            stop,
            task: None,
        }
    }
}

/// The node mode in force: sandboxes on a host that can boot them, or records (with
/// the reason when sandboxes were wanted). `--nodes sandbox` on a host that cannot is
/// an error.
fn resolve_nodes(config: &Config) -> Result<(Option<SandboxHost>, sandbox::Board), EmulatorError> {
    if config.nodes == sandbox::NodeMode::Records {
        return Ok((None, sandbox::Board::new("records", None)));
    }
    let (dir, temporary) = match (&config.nodes_dir, &config.state_file) {
        (Some(dir), _) => (dir.clone(), false),
        (None, Some(state)) => (state.with_extension("nodes"), false),
        (None, None) => (sandbox::temporary_nodes_dir(), true),
    };
    std::fs::create_dir_all(&dir).map_err(|e| {
        EmulatorError::Config(format!(
            "cannot create the nodes directory {}: {e}",
            dir.display()
        ))
    })?;
    match sandbox::detect(&dir) {
        Ok(host) => {
            tracing::info!(
                root_filesystem = host.root.describe(),
                as_root = host.as_root,
                "instances are sandbox nodes"
            );
            let board = sandbox::Board::sandboxes(&host);
            Ok((Some(SandboxHost { host, temporary }), board))
        }
        Err(why) => {
            if temporary {
                let _ = std::fs::remove_dir_all(&dir);
            }
            if config.nodes == sandbox::NodeMode::Sandbox {
                return Err(EmulatorError::Config(format!("--nodes sandbox: {}", why.0)));
            }
            tracing::warn!("{why}");
            Ok((None, sandbox::Board::new("records", Some(why.to_string()))))
        }
    }
}

#[derive(Debug)]
enum Runner {
    Task(tokio::task::JoinHandle<()>),
    Thread(std::thread::JoinHandle<()>),
}

/// A serving emulator. Dropping it stops the server (without waiting). `Debug` redacts
/// the client secret.
pub struct RunningEmulator {
    /// `http://127.0.0.1:PORT/v1`: the base URL for API clients.
    pub base_url: String,
    /// `http://127.0.0.1:PORT/admin`.
    pub admin_url: String,
    pub addr: SocketAddr,
    pub client_id: String,
    pub client_secret: String,
    pub admin: AdminHandle,
    stop: CancellationToken,
    task: Option<Runner>,
}

impl std::fmt::Debug for RunningEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningEmulator")
            .field("base_url", &self.base_url)
            .field("admin_url", &self.admin_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl RunningEmulator {
    /// Stops accepting, drains open requests, and waits for the server to end.
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        match self.task.take() {
            Some(Runner::Task(task)) => {
                let _ = task.await;
            }
            Some(Runner::Thread(thread)) => {
                let _ = tokio::task::spawn_blocking(move || thread.join()).await;
            }
            None => {}
        }
    }

    /// [`shutdown`](Self::shutdown) for synchronous callers (not inside a runtime).
    pub fn shutdown_blocking(mut self) {
        self.stop.cancel();
        if let Some(Runner::Thread(thread)) = self.task.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Builds an [`Emulator`]; every setting has a default for local use.
#[derive(Clone, Debug, Default)]
pub struct EmulatorBuilder {
    config: Config,
}

impl EmulatorBuilder {
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    pub fn client_credentials(
        mut self,
        id: impl Into<String>,
        secret: impl Into<datacrunch_models::Secret>,
    ) -> Self {
        self.config.client_id = id.into();
        self.config.client_secret = secret.into();
        self
    }

    /// Keeps state in this SQLite file (created if missing) instead of memory.
    pub fn state_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.config.state_file = Some(path.into());
        self
    }

    pub fn timing(mut self, timing: Timing) -> Self {
        self.config.timing = timing;
        self
    }

    /// `provisioning` → `running` time.
    pub fn provisioning_time(mut self, d: Duration) -> Self {
        self.config.timing.provisioning = d;
        self
    }

    pub fn capacity_per_slot(mut self, n: u32) -> Self {
        self.config.capacity_per_slot = n;
        self
    }

    /// The storage quota in GB (volumes in the trash count against it too).
    pub fn storage_quota_gb(mut self, gb: u64) -> Self {
        self.config.storage_quota_gb = gb;
        self
    }

    pub fn starting_balance(mut self, usd: rust_decimal::Decimal) -> Self {
        self.config.starting_balance = usd;
        self
    }

    pub fn token_lifetime(mut self, d: Duration) -> Self {
        self.config.token_lifetime = d;
        self
    }

    /// A fault rule for one endpoint key (`"GET /v1/instances"`, or `"*"`).
    pub fn fault(mut self, endpoint: impl Into<String>, rule: FaultRule) -> Self {
        self.config.faults.insert(endpoint.into(), rule);
        self
    }

    pub fn fault_seed(mut self, seed: u64) -> Self {
        self.config.fault_seed = seed;
        self
    }

    /// How long an idle keep-alive connection stays open.
    pub fn idle_timeout(mut self, d: Duration) -> Self {
        self.config.idle_timeout = d;
        self
    }

    /// Instances as SSH-able sandboxes, records, or whichever this machine allows.
    pub fn nodes(mut self, mode: sandbox::NodeMode) -> Self {
        self.config.nodes = mode;
        self
    }

    pub fn build(self) -> Result<Emulator, EmulatorError> {
        Emulator::new(self.config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn admin_status_from(peer: &str) -> u16 {
        let emulator = Emulator::builder().build().unwrap();
        let router = http::router(emulator.shared.clone());
        let mut req = Request::get("/admin/clock").body(Body::empty()).unwrap();
        req.extensions_mut()
            .insert(http::ConnInfo::new(peer.parse().unwrap()));
        router.oneshot(req).await.unwrap().status().as_u16()
    }

    /// Test failures print emulators and configs: the secret and the live tokens must
    /// not be in that output.
    #[tokio::test]
    async fn debug_output_never_shows_the_secret_or_tokens() {
        let emulator = Emulator::builder()
            .client_credentials("id-1", "SENTINEL-SECRET")
            .build()
            .unwrap();
        let token = emulator
            .shared
            .auth
            .grant(&datacrunch_models::TokenRequest {
                grant_type: "client_credentials".into(),
                client_id: Some("id-1".into()),
                client_secret: Some("SENTINEL-SECRET".into()),
                refresh_token: None,
            })
            .unwrap()
            .access_token
            .expose()
            .to_owned();
        let config = format!("{:?}", emulator.config());
        let whole = format!("{emulator:?}");
        let admin = format!("{:?}", emulator.admin());
        let running = format!("{:?}", emulator.spawn_on_loopback().await.unwrap());
        for shown in [config, whole, admin, running] {
            assert!(shown.contains("id-1"), "{shown}");
            assert!(!shown.contains("SENTINEL"), "{shown}");
            assert!(!shown.contains(&token), "{shown}");
        }
    }

    #[tokio::test]
    async fn admin_api_answers_loopback_peers_only() {
        assert_eq!(admin_status_from("127.0.0.1:40000").await, 200);
        assert_eq!(admin_status_from("[::1]:40000").await, 200);
        assert_eq!(admin_status_from("192.0.2.7:40000").await, 403);
    }
}
