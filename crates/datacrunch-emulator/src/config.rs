//! [`Config`]: everything an emulator is started with (credentials, lifecycle timing,
//! capacity, balance, token lifetime, faults, connection idle timeout, node mode), with the defaults for local use.

use crate::faults::FaultRule;
use crate::sandbox::NodeMode;
use datacrunch_models::Secret;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// The client id accepted when none is configured.
pub const DEFAULT_CLIENT_ID: &str = "emulator-client";
/// The client secret accepted when none is configured.
pub const DEFAULT_CLIENT_SECRET: &str = "emulator-secret";
/// How long an idle keep-alive connection stays open when none is configured: longer
/// than any client's pool keeps a connection idle, short enough that abandoned ones go.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// The storage quota when none is configured: far above what tests and local work use
/// (no source documents the real default), low enough that a runaway loop hits it.
pub const DEFAULT_STORAGE_QUOTA_GB: u64 = 1_000_000;

/// How long each lifecycle step takes on the emulator's virtual clock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timing {
    /// `ordered` → `provisioning` (the real service does this almost at once).
    pub ordered: Duration,
    /// `provisioning` → `running` (the IP appears at `running`).
    pub provisioning: Duration,
    /// `starting_hibernation` → `hibernating`, and `restoring` → `running`.
    pub hibernation: Duration,
    /// How long a deleted instance stays listed as `discontinued` before it leaves the
    /// list and `GET /instances/{id}` answers 404.
    pub discontinued_visible: Duration,
}

impl Timing {
    /// Fast defaults for tests and local work: running about 3 s after deploy.
    pub fn fast() -> Timing {
        Timing {
            ordered: Duration::from_millis(300),
            provisioning: Duration::from_secs(3),
            hibernation: Duration::from_secs(2),
            discontinued_visible: Duration::from_secs(5),
        }
    }

    /// Roughly what the real service takes: minutes to provision.
    pub fn realistic() -> Timing {
        Timing {
            ordered: Duration::from_secs(5),
            provisioning: Duration::from_secs(180),
            hibernation: Duration::from_secs(60),
            discontinued_visible: Duration::from_secs(60),
        }
    }
}

impl Default for Timing {
    fn default() -> Self {
        Timing::fast()
    }
}

/// The configuration of one emulator.
#[derive(Clone, Debug)]
pub struct Config {
    pub client_id: String,
    pub client_secret: Secret,
    /// SQLite file for durable state; `None` keeps state in memory.
    pub state_file: Option<PathBuf>,
    pub timing: Timing,
    /// Free slots per (instance type, location, spot/on-demand) where the catalog offers
    /// the type. Admin API calls change single slots.
    pub capacity_per_slot: u32,
    /// The account's storage quota in GB: every volume not permanently deleted (those in
    /// the trash included) counts against it, and a create that would go over is refused.
    pub storage_quota_gb: u64,
    /// Starting balance in USD (used only when the state is new).
    pub starting_balance: rust_decimal::Decimal,
    /// Lifetime of access tokens (`expires_in`).
    pub token_lifetime: Duration,
    /// Fault rules by endpoint key (`"GET /v1/instances"`, or `"*"` for every endpoint).
    pub faults: BTreeMap<String, FaultRule>,
    /// Seed of the fault RNG, so a test sees the same faults on every run.
    pub fault_seed: u64,
    /// A connection with no request in flight for this long is closed (so is one whose
    /// client takes longer than this to send a request's headers).
    pub idle_timeout: Duration,
    /// Whether instances are SSH-able sandboxes or records only. The library default
    /// is records; the binary's is [`NodeMode::Auto`].
    pub nodes: NodeMode,
    /// Where node disks live; `None`: next to the state file (`<state>.nodes`), or a
    /// temporary directory removed at exit when state is in memory.
    pub nodes_dir: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            client_id: DEFAULT_CLIENT_ID.to_owned(),
            client_secret: Secret::new(DEFAULT_CLIENT_SECRET),
            state_file: None,
            timing: Timing::default(),
            capacity_per_slot: 20,
            storage_quota_gb: DEFAULT_STORAGE_QUOTA_GB,
            starting_balance: rust_decimal::Decimal::from(1000),
            token_lifetime: Duration::from_secs(3600),
            faults: BTreeMap::new(),
            fault_seed: 0,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            nodes: NodeMode::Records,
            nodes_dir: None,
        }
    }
}
