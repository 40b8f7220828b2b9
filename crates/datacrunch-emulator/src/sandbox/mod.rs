//! Emulated nodes you can SSH into: one sandbox per `running` instance.
//!
//! A sandbox is a real OpenSSH server in its own mount, UTS and PID namespaces (plus a
//! user namespace when the emulator is not root), on a root filesystem that overlays
//! the host's `/` (read-only) with the instance's disk, listening on the instance's
//! 127.x address. `unsafe` is forbidden in this workspace, so the namespaces come from
//! util-linux `unshare`, run through `setpriv --pdeathsig KILL` so that a node cannot
//! outlive the emulator even when the emulator is killed with SIGKILL.
//!
//! The module knows nothing of HTTP or of how instances are stored: the world hands it
//! a [`Desired`] (the nodes that should run, the disks that should exist) and the
//! [`Supervisor`] makes the machine match, publishing what runs on a [`Board`] the
//! admin API shows. Submodules: `detect` (can this machine boot sandboxes, and if not,
//! which setting says so), `mounts` (a node's root filesystem), `node` (one node's
//! disk and processes), `spawner` (starting nodes in parallel), `userns` (the namespaces and, unprivileged, the user ids of a
//! node), `supervisor` (the reconcile loop and clean exit).

mod detect;
mod mounts;
mod node;
mod spawner;
mod supervisor;
mod userns;

pub use detect::{detect, Unavailable};
pub use mounts::RootLayout;
pub use supervisor::Supervisor;
pub use userns::IdMap;

use serde::Serialize;
use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::Mutex;

/// A machine that can boot sandboxes.
#[derive(Clone, Debug)]
pub struct Host {
    /// Holds one directory per node disk.
    pub nodes_dir: PathBuf,
    /// The emulator is root: no user namespace, and port 22 when it is free.
    pub as_root: bool,
    /// How a node's root filesystem is made from the host's.
    pub root: RootLayout,
    /// The subordinate ids an emulator that is not root maps into its nodes.
    pub user_ids: Option<IdMap>,
}

/// Removes a node directory tree. Overlayfs leaves its scratch directory (`work/work`)
/// with mode 000; root removes it anyway, an unprivileged emulator only once it has
/// made its directories its own again.
pub(crate) fn remove_tree(path: &std::path::Path) -> std::io::Result<()> {
    if std::fs::remove_dir_all(path).is_ok() || !path.exists() {
        return Ok(());
    }
    open_up(path);
    std::fs::remove_dir_all(path)
}

/// Gives the owner full access to every directory under `path` (links not followed).
fn open_up(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let is_dir = std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir());
    if !is_dir {
        return;
    }
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700));
    if let Ok(entries) = std::fs::read_dir(path) {
        for entry in entries.flatten() {
            open_up(&entry.path());
        }
    }
}

/// Tells apart the temporary node directories of emulators in one process.
static TEMPORARY_DIRS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
const TEMPORARY_PREFIX: &str = "datacrunch-emulator-";
const TEMPORARY_SUFFIX: &str = ".nodes";

/// A new nodes directory for an emulator without a state file (removed at its exit),
/// after removing those of emulators that were killed before they could remove
/// theirs: `datacrunch-emulator-<pid>-<n>.nodes` in the temporary directory, whose pid
/// no longer runs. (Their nodes died with them.)
pub fn temporary_nodes_dir() -> PathBuf {
    let tmp = std::env::temp_dir();
    if let Ok(entries) = std::fs::read_dir(&tmp) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let pid = name
                .strip_prefix(TEMPORARY_PREFIX)
                .and_then(|rest| rest.strip_suffix(TEMPORARY_SUFFIX))
                .and_then(|rest| rest.split_once('-'))
                .and_then(|(pid, _)| pid.parse::<u32>().ok());
            if pid.is_some_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists()) {
                let _ = remove_tree(&entry.path());
            }
        }
    }
    let n = TEMPORARY_DIRS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    tmp.join(format!(
        "{TEMPORARY_PREFIX}{}-{n}{TEMPORARY_SUFFIX}",
        std::process::id()
    ))
}

/// How instances are emulated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NodeMode {
    /// Sandboxes when this machine can boot them, else records (saying why, once).
    Auto,
    /// Sandboxes, or refuse to start.
    Sandbox,
    /// Instances are records only: their addresses answer nothing.
    #[default]
    Records,
}

impl std::str::FromStr for NodeMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(NodeMode::Auto),
            "sandbox" => Ok(NodeMode::Sandbox),
            "records" => Ok(NodeMode::Records),
            other => Err(format!(
                "unknown node mode {other:?}: expected auto, sandbox or records"
            )),
        }
    }
}

/// One node that should be running.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeSpec {
    pub instance_id: String,
    /// Names the node's disk (the instance's OS volume): it outlives the instance
    /// when the OS volume is kept.
    pub disk_id: String,
    pub hostname: String,
    pub ip: Ipv4Addr,
    /// The public keys of the instance's `ssh_key_ids`: root's `authorized_keys`.
    pub authorized_keys: Vec<String>,
    /// The attached startup script, run once at the disk's first boot.
    pub startup_script: Option<String>,
}

/// What the world wants: the nodes to run and every disk still owned by a volume (or
/// an instance) that exists. Disks not in `live_disks` are removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Desired {
    pub running: Vec<NodeSpec>,
    pub live_disks: BTreeSet<String>,
}

/// A node as the admin API shows it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct NodeStatus {
    pub instance_id: String,
    pub hostname: String,
    pub ip: Ipv4Addr,
    /// The port sshd listens on: 22 when the emulator is root and 22 is free on the
    /// address, else a free high port kept across restarts.
    pub port: u16,
    /// sshd accepts connections.
    pub ready: bool,
}

/// What the admin API reports: the mode in force, why sandboxes are off if they are,
/// and every node.
#[derive(Clone, Debug, Default, Serialize)]
pub struct BoardView {
    pub mode: &'static str,
    /// Set when sandboxes were wanted but this machine cannot boot them.
    pub unavailable: Option<String>,
    /// How a node's root filesystem is made (sandboxes only): see [`RootLayout`].
    pub root_filesystem: Option<&'static str>,
    pub nodes: Vec<NodeStatus>,
}

/// The published state of the nodes, shared between the supervisor and the admin API.
#[derive(Debug, Default)]
pub struct Board(Mutex<BoardView>);

impl Board {
    pub fn new(mode: &'static str, unavailable: Option<String>) -> Board {
        Board(Mutex::new(BoardView {
            mode,
            unavailable,
            root_filesystem: None,
            nodes: Vec::new(),
        }))
    }

    /// The board of an emulator whose nodes are sandboxes on `host`.
    pub fn sandboxes(host: &Host) -> Board {
        let board = Board::new("sandbox", None);
        board
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .root_filesystem = Some(host.root.describe());
        board
    }

    pub fn view(&self) -> BoardView {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn publish(&self, nodes: Vec<NodeStatus>) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).nodes = nodes;
    }
}
