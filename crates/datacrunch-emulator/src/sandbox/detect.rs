//! Can this machine boot sandboxes? Checks the tools (util-linux `unshare` and
//! `setpriv`, OpenSSH's `sshd` and `ssh-keygen`), then boots a probe: the same
//! namespaces and root overlay a node gets, torn down at once. When it fails, the
//! reason names the tool to install or the kernel setting that forbids it.

use super::node::{namespace_args, overlay_options};
use super::Host;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Stdio};

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
    let as_root = running_as_root();
    probe(nodes_dir, as_root)?;
    Ok(Host {
        nodes_dir: nodes_dir.to_owned(),
        as_root,
    })
}

/// Mounts a node-like root overlay in node-like namespaces, then lets it all go.
fn probe(nodes_dir: &Path, as_root: bool) -> Result<(), Unavailable> {
    let dir = nodes_dir.join(".probe");
    let made = ["upper", "work", "root"]
        .iter()
        .try_for_each(|d| std::fs::create_dir_all(dir.join(d)));
    if let Err(e) = made {
        return Err(Unavailable(format!(
            "cannot create the node directory {}: {e}",
            dir.display()
        )));
    }
    let script = format!(
        "mount --make-rprivate / && mount -t overlay overlay -o lowerdir=/,upperdir={d}/upper,workdir={d}/work{opts} {d}/root",
        d = dir.display(),
        opts = overlay_options(as_root),
    );
    let output = Command::new("unshare")
        .args(namespace_args(as_root))
        .args(["sh", "-c", &script])
        .stdin(Stdio::null())
        .output();
    let _ = std::fs::remove_dir_all(&dir);
    match output {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(Unavailable(refusal(
            as_root,
            String::from_utf8_lossy(&out.stderr).trim(),
        ))),
        Err(e) => Err(Unavailable(format!("cannot run unshare: {e}"))),
    }
}

/// The setting that refuses namespaces to this user, read from /proc/sys.
fn refusal(as_root: bool, stderr: &str) -> String {
    if !as_root {
        let setting = |path: &str| {
            std::fs::read_to_string(path)
                .ok()
                .map(|v| v.trim().to_owned())
        };
        let named = [
            ("kernel/apparmor_restrict_unprivileged_userns", "1"),
            ("kernel/unprivileged_userns_clone", "0"),
            ("user/max_user_namespaces", "0"),
        ]
        .into_iter()
        .find(|(key, bad)| setting(&format!("/proc/sys/{key}")).as_deref() == Some(*bad));
        if let Some((key, bad)) = named {
            let name = key.replace('/', ".");
            return format!(
                "the kernel refuses user namespaces to unprivileged users ({name} = {bad}; \
                 unshare said: {stderr}): run the emulator as root or change {name}"
            );
        }
        return format!(
            "this kernel refuses an unprivileged overlay of / in a user namespace (unshare \
             said: {stderr}): run the emulator as root"
        );
    }
    format!("unshare cannot create the node namespaces and overlay: {stderr}")
}
