//! Can this machine boot sandboxes? Checks the tools (util-linux `unshare` and
//! `setpriv`, OpenSSH's `sshd` and `ssh-keygen`), then boots a probe: the same
//! namespaces and root a node gets, torn down at once, which also picks the root's
//! layout (see `mounts`). When it fails, the reason names the tool to install or the
//! kernel setting that forbids it.

use super::mounts::{self, mount_table, RootLayout, TopLevel};
use super::userns::{namespace_args, subordinate_ids, IdMap};
use super::Host;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The sshd every node runs (Debian's `openssh-server`).
pub const SSHD: &str = "/usr/sbin/sshd";

/// Why sandboxes cannot boot here, as one sentence naming the fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unavailable(pub String);

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "sandbox nodes are unavailable: {}; instances are records only (their addresses \
             answer nothing). Pass --nodes records to choose that explicitly",
            self.0
        )
    }
}

/// Whether the current process runs as root.
pub fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Checks the tools and boots a probe sandbox under `nodes_dir`.
pub fn detect(nodes_dir: &Path) -> Result<Host, Unavailable> {
    for (tool, package) in [
        ("unshare", "util-linux"),
        ("setpriv", "util-linux"),
        ("ssh-keygen", "openssh-client"),
    ] {
        let found = Command::new(tool)
            .arg("--help")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if found.is_err() {
            return Err(Unavailable(format!(
                "`{tool}` is not on PATH (install {package})"
            )));
        }
    }
    if !Path::new(SSHD).is_file() {
        return Err(Unavailable(format!(
            "{SSHD} is missing (install Debian's openssh-server)"
        )));
    }
    if std::env::var_os(DENY_USER_NAMESPACES).is_some() {
        return Err(Unavailable(refusal(
            true,
            &format!("unshare: unshare failed: Operation not permitted (forced by {DENY_USER_NAMESPACES})"),
        )));
    }
    let as_root = running_as_root();
    let user_ids = if as_root {
        None
    } else {
        for tool in ["newuidmap", "newgidmap"] {
            if !on_path(tool) {
                return Err(Unavailable(format!(
                    "`{tool}` is not on PATH: an emulator that is not root needs it to map \
                     the user ids of sshd's privilege separation into its nodes (install \
                     uidmap, or run the emulator as root)"
                )));
            }
        }
        Some(subordinate_ids().map_err(Unavailable)?)
    };
    let root = probe(nodes_dir, user_ids.as_ref())?;
    Ok(Host {
        nodes_dir: nodes_dir.to_owned(),
        as_root,
        root,
        user_ids,
    })
}

/// Set (to anything), the detector acts as if the kernel refused this user a user
/// namespace: how tests see the fallback on a machine that allows them.
pub const DENY_USER_NAMESPACES: &str = "DATACRUNCH_EMULATOR_DENY_USER_NAMESPACES";

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
}

/// Makes node-like namespaces, then mounts a node-like root in them (all torn down at
/// once): the layout of the first root the kernel accepts.
fn probe(nodes_dir: &Path, ids: Option<&IdMap>) -> Result<RootLayout, Unavailable> {
    let namespaces = run_in_namespaces(ids, "true")?;
    if !namespaces.status.success() {
        return Err(Unavailable(refusal(ids.is_some(), &stderr_of(&namespaces))));
    }
    let whole = probe_root(nodes_dir, ids, RootLayout::OverlayOfRoot)?;
    let Err(whole_refused) = whole else {
        return Ok(RootLayout::OverlayOfRoot);
    };
    if ids.is_none() {
        return Err(Unavailable(format!(
            "cannot mount a node's root (an overlay of /): {whole_refused}"
        )));
    }
    let top = std::fs::read_to_string("/proc/self/mountinfo")
        .and_then(|mountinfo| TopLevel::scan(Path::new("/"), &mountinfo))
        .map_err(|e| Unavailable(format!("cannot read the host's top-level directories: {e}")))?;
    let per_directory = RootLayout::OverlayPerDirectory(top);
    match probe_root(nodes_dir, ids, per_directory.clone())? {
        Ok(()) => Ok(per_directory),
        Err(refused) => Err(Unavailable(format!(
            "this kernel refuses the overlays of a node's root in a user namespace (an \
             overlay of /: {whole_refused}; an overlay of each top-level directory: \
             {refused}): run the emulator as root"
        ))),
    }
}

/// Mounts a root of `layout` for a probe node; `Ok(Err(mount's error))` when refused.
fn probe_root(
    nodes_dir: &Path,
    ids: Option<&IdMap>,
    layout: RootLayout,
) -> Result<Result<(), String>, Unavailable> {
    let dir = nodes_dir.join(".probe");
    let _ = super::remove_tree(&dir);
    let made = ["disk/upper", "disk/work", "root"]
        .iter()
        .try_for_each(|d| std::fs::create_dir_all(dir.join(d)))
        .and_then(|()| mounts::prepare(&layout, &dir))
        .and_then(|()| mount_table(&layout, &dir, ids.is_some()))
        .and_then(|table| std::fs::write(dir.join("fstab"), table));
    if let Err(e) = made {
        let _ = super::remove_tree(&dir);
        return Err(Unavailable(format!(
            "cannot prepare the probe node in {}: {e}",
            dir.display()
        )));
    }
    let script = format!("mount --all --fstab '{}/fstab'", dir.display());
    let output = run_in_namespaces(ids, &script);
    let _ = super::remove_tree(&dir);
    let output = output?;
    Ok(if output.status.success() {
        Ok(())
    } else {
        Err(stderr_of(&output))
    })
}

fn run_in_namespaces(ids: Option<&IdMap>, script: &str) -> Result<Output, Unavailable> {
    Command::new("unshare")
        .args(namespace_args(ids))
        .args(["sh", "-c", script])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Unavailable(format!("cannot run unshare: {e}")))
}

fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).trim().to_owned()
}

/// The setting that refuses a user namespace to this user, read from /proc/sys (all
/// of them named when none has the refusing value); `user_namespace`: whether the
/// nodes needed one (root's do not).
fn refusal(user_namespace: bool, stderr: &str) -> String {
    if user_namespace {
        let setting = |path: &str| {
            std::fs::read_to_string(path)
                .ok()
                .map(|v| v.trim().to_owned())
        };
        let named = USERNS_SETTINGS
            .into_iter()
            .find(|(key, bad)| setting(&format!("/proc/sys/{key}")).as_deref() == Some(*bad));
        if let Some((key, bad)) = named {
            let name = key.replace('/', ".");
            return format!(
                "the kernel refuses user namespaces to unprivileged users ({name} = {bad}; \
                 unshare said: {stderr}): run the emulator as root or change {name}"
            );
        }
        let names: Vec<String> = USERNS_SETTINGS
            .iter()
            .map(|(key, _)| key.replace('/', "."))
            .collect();
        return format!(
            "the kernel refuses a user namespace to this user (unshare said: {stderr}); the \
             settings that decide it are {}: run the emulator as root or allow \
             unprivileged user namespaces",
            names.join(", ")
        );
    }
    format!("unshare cannot create the node namespaces: {stderr}")
}

/// The kernel settings that can refuse user namespaces to unprivileged users, with the
/// value that does: Ubuntu's AppArmor restriction, Debian's older switch, the limit.
const USERNS_SETTINGS: [(&str, &str); 3] = [
    ("kernel/apparmor_restrict_unprivileged_userns", "1"),
    ("kernel/unprivileged_userns_clone", "0"),
    ("user/max_user_namespaces", "0"),
];
