//! Instances as sandboxes you can SSH into (`--nodes sandbox`): a real sshd per
//! running instance, on its address, with its keys, hostname, startup script and disk;
//! stopped by shutdown, booted again by start with the same disk and host key, gone
//! with its disk on delete; nothing left after the emulator exits, even after SIGKILL
//! (a restart boots the nodes again with their disks). Where this machine cannot boot
//! sandboxes, the one-line reason and records-only instances.
//!
//! The sandbox tests need root (CI runs as root) and Debian's openssh-server; without
//! them they say so and return.

use crate::common::{self, Api};
use datacrunch_emulator::sandbox::NodeMode;
use serde_json::{json, Value};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Whether this machine can run the sandbox tests; says why not when it cannot.
pub(crate) fn sandboxes_possible() -> bool {
    let root = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false);
    let sshd = Path::new("/usr/sbin/sshd").exists();
    if !(root && sshd) {
        eprintln!("skipped: sandbox tests need root and /usr/sbin/sshd (root={root}, sshd={sshd})");
    }
    root && sshd
}

/// A user key pair in `dir`: (private key path, public key text).
pub(crate) fn user_key(dir: &Path) -> (PathBuf, String) {
    let key = dir.join("id_ed25519");
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    (key, public.trim().to_owned())
}

/// How a test reaches one node with ssh.
pub(crate) struct Ssh {
    pub(crate) key: PathBuf,
    pub(crate) known_hosts: PathBuf,
}

impl Ssh {
    /// Runs `command` as root on the node; the output, or the error text. The first
    /// sight of a host key adds it to the test's known_hosts.
    pub(crate) fn run(&self, node: &Value, command: &str) -> Result<String, String> {
        self.run_checking(node, command, "accept-new")
    }

    /// [`Ssh::run`] accepting only the host key already in the test's known_hosts: a
    /// node that came back with a new host key is refused.
    pub(crate) fn run_known(&self, node: &Value, command: &str) -> String {
        self.run_checking(node, command, "yes")
            .unwrap_or_else(|e| panic!("ssh {command}: {e}"))
    }

    fn run_checking(&self, node: &Value, command: &str, check: &str) -> Result<String, String> {
        let out = Command::new("ssh")
            .arg("-i")
            .arg(&self.key)
            .arg("-o")
            .arg(format!("UserKnownHostsFile={}", self.known_hosts.display()))
            .arg("-o")
            .arg(format!("StrictHostKeyChecking={check}"))
            .args(["-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-p"])
            .arg(node["port"].to_string())
            .arg(format!("root@{}", node["ip"].as_str().unwrap()))
            .arg(command)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }
}

pub(crate) fn refuses_connections(node: &Value) -> bool {
    let addr: SocketAddr = format!("{}:{}", node["ip"].as_str().unwrap(), node["port"])
        .parse()
        .unwrap();
    TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err()
}

/// `GET /admin/nodes`.
pub(crate) async fn board(admin_url: &str) -> Value {
    reqwest::get(format!("{admin_url}/nodes"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Waits until exactly the instances `ids` are ready nodes; returns them by id order.
pub(crate) async fn ready_nodes(admin_url: &str, ids: &[&str]) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let view = board(admin_url).await;
        let nodes = view["nodes"].as_array().cloned().unwrap_or_default();
        let found: Vec<Value> = ids
            .iter()
            .filter_map(|id| {
                nodes
                    .iter()
                    .find(|n| n["instance_id"] == *id && n["ready"] == true)
                    .cloned()
            })
            .collect();
        if found.len() == ids.len() && nodes.len() == ids.len() {
            return found;
        }
        assert!(Instant::now() < deadline, "nodes never ready: {view}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every process whose command line names `dir` (the helpers and each node's sshd),
/// and every process in the PID namespaces of those.
pub(crate) fn processes_of(dir: &Path) -> Vec<String> {
    let needle = dir.to_string_lossy().into_owned();
    let mut namespaces = Vec::new();
    let mut found = Vec::new();
    let pids: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.chars().all(|c| c.is_ascii_digit()))
        .collect();
    for pid in &pids {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(&needle) {
            found.push(format!("{pid} {cmdline}"));
            // A node's sshd (not the helper, whose boot script also names sshd).
            if cmdline.starts_with("sshd: ") || cmdline.starts_with("/usr/sbin/sshd ") {
                if let Ok(ns) = std::fs::read_link(format!("/proc/{pid}/ns/pid")) {
                    namespaces.push(ns);
                }
            }
        }
    }
    for pid in &pids {
        if let Ok(ns) = std::fs::read_link(format!("/proc/{pid}/ns/pid")) {
            if namespaces.contains(&ns) {
                found.push(format!("{pid} in node namespace {}", ns.display()));
            }
        }
    }
    found
}

pub(crate) async fn deploy_node(
    api: &Api,
    hostname: &str,
    key_id: &str,
    script_id: &str,
) -> String {
    let mut body = common::v100(hostname);
    body["ssh_key_ids"] = json!([key_id]);
    body["startup_script_id"] = json!(script_id);
    api.deploy(body).await
}

/// The whole life of two nodes, in process: SSH with the instance's key, hostname,
/// the startup script's log, private /tmp, /proc and files, loopback between nodes,
/// shutdown refusing connections, start with the same disk and host key, delete
/// removing the disk, and no process left at exit.
#[tokio::test]
async fn running_instances_are_nodes_you_can_ssh_into() {
    if !sandboxes_possible() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let nodes_dir = dir.path().join("nodes");
    let mut config = datacrunch_emulator::Config {
        timing: common::frozen_timing(),
        nodes: NodeMode::Sandbox,
        nodes_dir: Some(nodes_dir.clone()),
        ..Default::default()
    };
    config.capacity_per_slot = 5;
    let (emulator, api) = common::start_with(common::builder().config(config)).await;
    let (key, public) = user_key(dir.path());
    let ssh = Ssh {
        key,
        known_hosts: dir.path().join("known_hosts"),
    };
    let key_id = api
        .post("/sshkeys", json!({"name": "k", "key": public}))
        .await
        .text;
    let script = "#!/bin/sh\necho started on $(hostname)\ntouch /root/startup-ran\n";
    let script_id = api
        .post("/scripts", json!({"name": "s", "script": script}))
        .await
        .text;
    let first = deploy_node(&api, "node-a", &key_id, &script_id).await;
    let second = deploy_node(&api, "node-b", &key_id, &script_id).await;
    assert!(board(&emulator.admin_url).await["nodes"]
        .as_array()
        .unwrap()
        .is_empty());
    common::to_running(&emulator);
    let nodes = ready_nodes(&emulator.admin_url, &[&first, &second]).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    assert_eq!(a["port"], 22, "root listens on 22: {a}");
    assert_eq!(
        board(&emulator.admin_url).await["root_filesystem"],
        "overlay of /"
    );
    assert_eq!(
        a["ip"],
        api.instance(&first).await["ip"],
        "the node answers on the instance's address"
    );

    assert_eq!(ssh.run(a, "hostname").unwrap(), "node-a");
    assert_eq!(ssh.run(b, "hostname").unwrap(), "node-b");
    // Nothing of the emulator's environment (its client secret may be there) reaches
    // a node: its helper (whose environment sshd inherits) has only PATH.
    let disk = api.instance(&first).await["os_volume_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let helper = std::fs::read_to_string(nodes_dir.join(&disk).join("helper.pid")).unwrap();
    let environ = std::fs::read(format!("/proc/{}/environ", helper.trim())).unwrap();
    let names: Vec<String> = environ
        .split(|b| *b == 0)
        .filter(|v| !v.is_empty())
        .map(|v| {
            String::from_utf8_lossy(v)
                .split('=')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(names, ["PATH"]);
    assert_eq!(
        ssh.run(a, "cat /var/log/startup-script.log; ls /root/startup-ran")
            .unwrap(),
        "started on node-a\n/root/startup-ran"
    );
    // Its own host key, not the host's.
    let node_key = ssh.run(a, "cat /etc/ssh/ssh_host_ed25519_key.pub").unwrap();
    let host_key = std::fs::read_to_string("/etc/ssh/ssh_host_ed25519_key.pub").unwrap_or_default();
    assert_ne!(
        node_key.split_whitespace().nth(1),
        host_key.split_whitespace().nth(1)
    );
    // Its own /proc (sshd is its PID 1), /tmp and files.
    let init = ssh.run(a, "cat /proc/1/comm").unwrap();
    assert_eq!(init, "sshd");
    let marker = format!("sandbox-test-{}", std::process::id());
    ssh.run(
        a,
        &format!("echo kept > /root/{marker}; echo t > /tmp/{marker}; echo s > /dev/shm/{marker}"),
    )
    .unwrap();
    for path in [
        format!("/root/{marker}"),
        format!("/tmp/{marker}"),
        format!("/dev/shm/{marker}"),
    ] {
        assert!(!Path::new(&path).exists(), "{path} reached the host");
        assert!(
            ssh.run(b, &format!("test ! -e {path}")).is_ok(),
            "{path} reached the other node"
        );
    }
    // Nodes reach each other over loopback (kdevops runs multi-node tests).
    let b_addr = format!("{} {}", b["ip"].as_str().unwrap(), b["port"]);
    assert!(
        ssh.run(
            a,
            &format!(
                "timeout 5 bash -c 'exec 3<>/dev/tcp/{}/{}'",
                b["ip"].as_str().unwrap(),
                b["port"]
            )
        )
        .is_ok(),
        "node-a cannot reach {b_addr}"
    );

    // Shutdown stops the node; start boots it with the same disk and host key (the
    // strict known_hosts check of `Ssh::run` would refuse a new key).
    let a_before = a.clone();
    api.action("shutdown", &[&first]).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !refuses_connections(&a_before) {
        assert!(Instant::now() < deadline, "a shut-down node still answers");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The board drops the node once it is stopped.
    ready_nodes(&emulator.admin_url, &[&second]).await;
    api.action("start", &[&first]).await;
    let again = ready_nodes(&emulator.admin_url, &[&first, &second]).await;
    assert_eq!(
        ssh.run_known(&again[0], &format!("cat /root/{marker}")),
        "kept"
    );
    // The startup script ran at first boot only.
    assert_eq!(
        ssh.run_known(&again[0], "grep -c started /var/log/startup-script.log"),
        "1"
    );

    // Delete (OS volume with it): the node stops and its disk is removed.
    let disk = api.instance(&first).await["os_volume_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(nodes_dir.join(&disk).is_dir());
    api.action("delete", &[&first]).await;
    ready_nodes(&emulator.admin_url, &[&second]).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while nodes_dir.join(&disk).exists() {
        assert!(
            Instant::now() < deadline,
            "the deleted node's disk is still there"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!processes_of(&nodes_dir).is_empty());
    emulator.shutdown().await;
    assert_eq!(processes_of(&nodes_dir), Vec::<String>::new());
}

/// `--nodes records`: instances run as before, and no node boots.
#[tokio::test]
async fn records_mode_boots_no_node() {
    let (emulator, api) = common::start_with(common::builder().nodes(NodeMode::Records)).await;
    let id = api.deploy(common::v100("rec")).await;
    common::to_running(&emulator);
    assert_eq!(api.status(&id).await, "running");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let view = board(&emulator.admin_url).await;
    assert_eq!(
        view,
        json!({"mode": "records", "unavailable": null, "root_filesystem": null, "nodes": []})
    );
}
