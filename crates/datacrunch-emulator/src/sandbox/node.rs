//! One node: its disk (a directory named after the instance's OS volume, holding the
//! overlay's upper and work directories, host keys included), the sshd config it boots
//! with, and the `setpriv`/`unshare` helper whose child (the namespace's init, sshd in
//! the end) is the node.
//!
//! Layout of `<nodes dir>/<disk id>/`: `disk/upper` (everything the node wrote),
//! `disk/work` (the overlay's scratch), `root` (the mount point, empty on the host),
//! `fstab` (the mounts of its root, see `mounts`),
//! `port` (kept so known_hosts entries survive restarts), `helper.pid` (while running)
//! and `console.log` (the boot script's and sshd's output).

use super::mounts::{self, mount_table};
use super::userns::namespace_args;
use super::{Host, NodeSpec};
use std::collections::BTreeSet;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Mounts the node's root, pivots into it and execs sshd (see the script's comments).
const BOOT_SCRIPT: &str = include_str!("boot.sh");
/// Where the boot script finds the node's sshd config, inside the node.
const SSHD_CONFIG: &str = "etc/ssh/datacrunch-node.conf";
const HOST_KEY: &str = "etc/ssh/ssh_host_ed25519_key";
const STARTUP_SCRIPT: &str = "var/lib/datacrunch-node/startup-script";
const STARTUP_SCRIPT_DONE: &str = "var/lib/datacrunch-node/startup-script.done";
const HELPER_PID: &str = "helper.pid";
/// The node's PATH when the emulator has none.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The directory of a disk; `None` for an id that is not a plain name.
pub fn disk_dir(host: &Host, disk_id: &str) -> Option<PathBuf> {
    let plain = !disk_id.is_empty()
        && !disk_id.starts_with('.')
        && disk_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    plain.then(|| host.nodes_dir.join(disk_id))
}

/// A booted (or booting) node.
#[derive(Debug)]
pub struct Node {
    pub spec: NodeSpec,
    pub port: u16,
    dir: PathBuf,
    helper: Child,
    ready: bool,
    exited: bool,
}

/// A node whose disk is ready to boot.
#[derive(Debug)]
pub struct Prepared {
    pub spec: NodeSpec,
    pub port: u16,
    dir: PathBuf,
}

impl Prepared {
    /// The node, once `helper` (this node's command, spawned) runs.
    pub fn started(self, helper: Child) -> io::Result<Node> {
        let node = Node {
            spec: self.spec,
            port: self.port,
            dir: self.dir,
            helper,
            ready: false,
            exited: false,
        };
        fs::write(node.dir.join(HELPER_PID), format!("{}\n", node.helper.id()))?;
        Ok(node)
    }
}

impl Node {
    /// Prepares the disk (first boot: authorized_keys, startup script); the node and
    /// the command that boots it (the `setpriv`/`unshare` helper, see `spawner`).
    pub fn prepare(host: &Host, spec: NodeSpec) -> io::Result<(Prepared, Command)> {
        let dir = disk_dir(host, &spec.disk_id).ok_or_else(|| {
            io::Error::other(format!("disk id {:?} is not a plain name", spec.disk_id))
        })?;
        let upper = dir.join("disk/upper");
        for d in [upper.clone(), dir.join("disk/work"), dir.join("root")] {
            fs::create_dir_all(d)?;
        }
        prepare_disk(&upper, &spec, host.as_root)?;
        mounts::prepare(&host.root, &dir)?;
        fs::write(
            dir.join("fstab"),
            mount_table(&host.root, &dir, !host.as_root)?,
        )?;
        let kept = fs::read_to_string(dir.join("port"))
            .ok()
            .and_then(|p| p.trim().parse().ok());
        let port = choose_port(spec.ip, host.as_root, kept)?;
        fs::write(dir.join("port"), format!("{port}\n"))?;
        write_file(
            &upper.join(SSHD_CONFIG),
            sshd_config(spec.ip, port).as_bytes(),
            0o644,
        )?;
        let console = OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("console.log"))?;
        // A node starts with a clean environment: the emulator's may hold its client
        // secret, and nothing of it belongs to the machine.
        let path = std::env::var_os("PATH").unwrap_or_else(|| DEFAULT_PATH.into());
        let mut helper = Command::new("setpriv");
        helper
            .env_clear()
            .env("PATH", path)
            .args(["--pdeathsig", "KILL", "--", "unshare"])
            .args(namespace_args(host.user_ids.as_ref()))
            .args(["sh", "-c", BOOT_SCRIPT, "datacrunch-node"])
            .arg(&dir)
            .arg(&spec.hostname)
            .stdin(Stdio::null())
            .stdout(console.try_clone()?)
            .stderr(console);
        Ok((Prepared { spec, port, dir }, helper))
    }

    /// Whether sshd listens (checked until it does once), given the machine's
    /// listening sockets ([`listening_sockets`]).
    pub fn poll_ready(&mut self, listening: &BTreeSet<SocketAddrV4>) -> bool {
        if !self.ready && !self.exited() {
            self.ready = listening.contains(&SocketAddrV4::new(self.spec.ip, self.port));
        }
        self.ready
    }

    pub fn is_ready(&self) -> bool {
        self.ready
    }

    /// Whether the node died by itself (a failed boot, sshd exiting).
    pub fn exited(&mut self) -> bool {
        if !self.exited && matches!(self.helper.try_wait(), Ok(Some(_))) {
            self.exited = true;
            self.ready = false;
        }
        self.exited
    }

    pub fn console(&self) -> PathBuf {
        self.dir.join("console.log")
    }

    /// Kills the namespace's init (every process of the node dies with it), then reaps
    /// the helper, which exits once its child is gone.
    pub fn stop(self) {
        stop_all(vec![self]);
    }
}

/// The TCP sockets listening on this machine (nodes share its network), from
/// `/proc/net/tcp`: asking the kernel, not connecting, as each connection costs a
/// node's sshd a process of its own.
pub fn listening_sockets() -> BTreeSet<SocketAddrV4> {
    let table = fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    parse_listening(&table)
}

/// `/proc/net/tcp` lines: `sl local_address rem_address st ...`, the address as
/// `AAAAAAAA:PPPP` (the IPv4 address's bytes in memory order, the port), state `0A`
/// for LISTEN.
fn parse_listening(table: &str) -> BTreeSet<SocketAddrV4> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.get(3) != Some(&"0A") {
                return None;
            }
            let (ip, port) = fields.get(1)?.split_once(':')?;
            let ip = u32::from_str_radix(ip, 16).ok()?;
            let port = u16::from_str_radix(port, 16).ok()?;
            Some(SocketAddrV4::new(Ipv4Addr::from(ip.to_ne_bytes()), port))
        })
        .collect()
}

/// Stops nodes together: one `kill` for every init, then each helper reaped (a
/// stopping emulator has a few seconds before it is killed; nodes stopped one by one
/// on a busy machine could take longer).
pub fn stop_all(mut nodes: Vec<Node>) {
    let targets: Vec<String> = nodes
        .iter_mut()
        .filter_map(|n| {
            let helper = n.helper.id();
            (!n.exited()).then(|| init_pid(helper).unwrap_or(helper).to_string())
        })
        .collect();
    if !targets.is_empty() {
        let _ = Command::new("kill")
            .arg("-KILL")
            .args(&targets)
            .stderr(Stdio::null())
            .status();
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    for node in &mut nodes {
        while !matches!(node.helper.try_wait(), Ok(Some(_))) {
            if Instant::now() > deadline {
                let _ = node.helper.kill();
                let _ = node.helper.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = fs::remove_file(node.dir.join(HELPER_PID));
    }
}

/// Kills a node a previous emulator left running (it was killed before it could stop
/// it): the helper whose pid its directory records, if that process is still ours.
pub fn kill_stale(dir: &Path) {
    let Some(pid) = fs::read_to_string(dir.join(HELPER_PID))
        .ok()
        .and_then(|p| p.trim().parse::<u32>().ok())
    else {
        return;
    };
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let ours = String::from_utf8_lossy(&cmdline).contains(&*dir.to_string_lossy());
    if ours {
        tracing::warn!(pid, dir = %dir.display(), "stopping a node left by a previous emulator");
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .stderr(Stdio::null())
            .status();
    }
    let _ = fs::remove_file(dir.join(HELPER_PID));
}

/// The first child of the helper: the init of the node's PID namespace.
fn init_pid(helper: u32) -> Option<u32> {
    fs::read_to_string(format!("/proc/{helper}/task/{helper}/children"))
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// First boot writes what the instance was deployed with; later boots keep the disk
/// as the node left it (as a cloud disk keeps its authorized_keys).
fn prepare_disk(upper: &Path, spec: &NodeSpec, as_root: bool) -> io::Result<()> {
    // The host key is made by the node itself at its first boot (see boot.sh): many
    // nodes then make theirs in parallel instead of one after the other here.
    create_dir(&upper.join("etc/ssh"), 0o755)?;
    let authorized = upper.join("root/.ssh/authorized_keys");
    if !authorized.exists() {
        create_dir(&upper.join("root"), 0o700)?;
        create_dir(&upper.join("root/.ssh"), 0o700)?;
        let mut keys = String::new();
        for key in spec.authorized_keys.iter().flat_map(|k| k.lines()) {
            if !key.trim().is_empty() {
                keys.push_str(key.trim());
                keys.push('\n');
            }
        }
        write_file(&authorized, keys.as_bytes(), 0o600)?;
    }
    // Made here, by the emulator's user (the node's root): in a user namespace the
    // node's root may not write into the host's directories, which its root does not
    // map (see `mounts`), but a directory of the disk is its own.
    for dir in ["var/log", "var/lib/datacrunch-node"] {
        create_dir(&upper.join(dir), 0o755)?;
    }
    let shadow = upper.join("etc/shadow");
    if !as_root && !shadow.exists() {
        write_file(&shadow, &passwordless_shadow()?, 0o640)?;
    }
    if let Some(script) = &spec.startup_script {
        if !upper.join(STARTUP_SCRIPT_DONE).exists() {
            write_file(&upper.join(STARTUP_SCRIPT), script.as_bytes(), 0o700)?;
        }
    }
    Ok(())
}

/// A node's `/etc/shadow` when the emulator is not root: every account of the host
/// without a password (`*`: key logins only, as the node's sshd allows anyway). The
/// host's own is unreadable in the node's user namespace, where the host's root is
/// not mapped, and sshd refuses every login of an account it cannot check.
fn passwordless_shadow() -> io::Result<Vec<u8>> {
    let passwd = fs::read_to_string("/etc/passwd")?;
    let mut shadow = String::new();
    for name in passwd.lines().filter_map(|l| l.split(':').next()) {
        if !name.is_empty() && !name.starts_with('#') {
            shadow.push_str(name);
            shadow.push_str(":*:0:0:99999:7:::\n");
        }
    }
    Ok(shadow.into_bytes())
}

fn create_dir(path: &Path, mode: u32) -> io::Result<()> {
    if !path.is_dir() {
        fs::create_dir_all(path)?;
        fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

fn write_file(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)?;
    file.write_all(bytes)?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

/// The port kept from the last boot when it is free, else 22 for root, else any free
/// port. (Two emulators on one machine hand out the same addresses, so 22 may be
/// taken.)
fn choose_port(ip: Ipv4Addr, as_root: bool, kept: Option<u16>) -> io::Result<u16> {
    let free = |port: u16| TcpListener::bind((ip, port)).is_ok();
    if let Some(port) = kept.filter(|&p| p != 0 && free(p)) {
        return Ok(port);
    }
    if as_root && free(22) {
        return Ok(22);
    }
    Ok(TcpListener::bind((ip, 0))?.local_addr()?.port())
}

/// The node's sshd: root logs in with a key only, on the instance's address.
fn sshd_config(ip: Ipv4Addr, port: u16) -> String {
    format!(
        "# Written by the DataCrunch emulator at every boot.\n\
         ListenAddress {ip}:{port}\n\
         HostKey /{HOST_KEY}\n\
         PermitRootLogin prohibit-password\n\
         PasswordAuthentication no\n\
         KbdInteractiveAuthentication no\n\
         UsePAM no\n\
         PidFile none\n\
         AuthorizedKeysFile .ssh/authorized_keys\n\
         AcceptEnv LANG LC_*\n\
         Subsystem sftp /usr/lib/openssh/sftp-server\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listening_sockets_are_read_from_the_kernels_table() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue\n\
            0: 0100007F:0016 00000000:0000 0A 00000000:00000000 00:00000000\n\
            1: 0100007F:0017 0100007F:D2F0 01 00000000:00000000 00:00000000\n";
        let listening = parse_listening(table);
        let expected = SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 1), 22);
        assert_eq!(listening.into_iter().collect::<Vec<_>>(), [expected]);
    }

    #[test]
    fn a_socket_listening_here_is_found() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let std::net::SocketAddr::V4(addr) = listener.local_addr().unwrap() else {
            panic!("IPv4 expected")
        };
        assert!(listening_sockets().contains(&addr));
        drop(listener);
        assert!(!listening_sockets().contains(&addr));
    }
}
