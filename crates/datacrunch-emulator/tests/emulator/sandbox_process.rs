//! The emulator as a process with sandboxed nodes: without `unshare` it says so once and
//! keeps records; after SIGKILL a restart boots the nodes again with their disks; run
//! unprivileged it boots nodes in a user namespace, or names the settings that forbid
//! it; temporary node directories never pile up.

use crate::common::{self, Api};
use crate::sandbox::{
    board, processes_of, ready_nodes, refuses_connections, sandboxes_possible, user_key, Ssh,
};
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn spawn_emulator(args: &[&str], path_env: Option<&str>) -> (Child, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_datacrunch-emulator"));
    command.args(["--listen", "127.0.0.1:0"]).args(args);
    if let Some(path) = path_env {
        command.env("PATH", path);
    }
    listening(command)
}

/// Spawns an emulator command (stderr piped) and reads its listening line.
fn listening(mut command: Command) -> (Child, String) {
    let mut child = command
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    (child, line.trim().to_owned())
}

fn admin_url(line: &str) -> String {
    line.strip_prefix("datacrunch-emulator listening on ")
        .unwrap()
        .replace("/v1", "/admin")
}

fn signal(child: &Child, name: &str) {
    Command::new("kill")
        .args([name, &child.id().to_string()])
        .status()
        .unwrap();
}

/// Without `unshare` on PATH: `--nodes sandbox` refuses to start naming it; the
/// default (`auto`) says it once and serves records-only instances.
#[tokio::test]
async fn without_unshare_the_emulator_says_so_once_and_keeps_records() {
    let dir = tempfile::tempdir().unwrap();
    let empty_path = dir.path().join("bin");
    std::fs::create_dir(&empty_path).unwrap();
    let path = empty_path.to_str().unwrap();
    let refused = Command::new(env!("CARGO_BIN_EXE_datacrunch-emulator"))
        .args(["--listen", "127.0.0.1:0", "--nodes", "sandbox"])
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("`unshare` is not on PATH (install util-linux)"),
        "{stderr}"
    );

    let (mut child, line) = spawn_emulator(&[], Some(path));
    let view = board(&admin_url(&line)).await;
    assert_eq!(view["mode"], "records", "{view}");
    let why = view["unavailable"].as_str().unwrap();
    assert!(why.contains("`unshare` is not on PATH"), "{why}");
    signal(&child, "-TERM");
    child.wait().unwrap();
    let mut log = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut log).unwrap();
    assert_eq!(
        log.matches("sandbox nodes are unavailable").count(),
        1,
        "{log}"
    );
}

async fn login(base: &str) -> Api {
    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!("{base}/oauth2/token"))
        .json(&json!({"grant_type": "client_credentials", "client_id": datacrunch_emulator::DEFAULT_CLIENT_ID, "client_secret": datacrunch_emulator::DEFAULT_CLIENT_SECRET}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    Api {
        http,
        base: base.to_owned(),
        token: token["access_token"].as_str().unwrap().to_owned(),
    }
}

/// Deploys `hostname` with a new key (made in `dir`) and waits until its node is
/// ready: how to reach it, the instance id, the node.
async fn ssh_node(api: &Api, admin: &str, dir: &Path, hostname: &str) -> (Ssh, String, Value) {
    let (key, public) = user_key(dir);
    let key_id = api
        .post("/sshkeys", json!({"name": "k", "key": public}))
        .await
        .text;
    let mut body = common::v100(hostname);
    body["ssh_key_ids"] = json!([key_id]);
    let id = api.deploy(body).await;
    let _ = api.status(&id).await;
    let node = ready_nodes(admin, &[&id]).await.remove(0);
    let ssh = Ssh {
        key,
        known_hosts: dir.join("known_hosts"),
    };
    (ssh, id, node)
}

/// SIGKILL leaves no node behind; the restarted emulator boots the running instance
/// again with its disk and host key; SIGTERM then leaves nothing running.
#[tokio::test]
async fn after_sigkill_a_restart_boots_the_nodes_again_with_their_disks() {
    if !sandboxes_possible() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let nodes_dir = dir.path().join("state.nodes");
    let args = [
        "--state",
        state.to_str().unwrap(),
        "--nodes",
        "sandbox",
        "--provisioning-seconds",
        "0.1",
    ];
    let (mut child, line) = spawn_emulator(&args, None);
    let admin = admin_url(&line);
    let api = login(
        line.strip_prefix("datacrunch-emulator listening on ")
            .unwrap(),
    )
    .await;
    let (ssh, id, node) = ssh_node(&api, &admin, dir.path(), "survivor").await;
    ssh.run(&node, "echo before > /root/written").unwrap();

    signal(&child, "-KILL");
    child.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !processes_of(&nodes_dir).is_empty() {
        assert!(
            Instant::now() < deadline,
            "left behind after SIGKILL: {:?}",
            processes_of(&nodes_dir)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // A dying process's command line reads empty (its memory is gone) a moment before its
    // sockets close, so the listening socket may outlive the process list by a moment.
    while !refuses_connections(&node) {
        assert!(
            Instant::now() < deadline,
            "the node still answers after SIGKILL"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let (mut child, line) = spawn_emulator(&args, None);
    let admin = admin_url(&line);
    let node = ready_nodes(&admin, &[&id]).await.remove(0);
    // Same host key: the known_hosts entry from before the kill still matches.
    assert_eq!(ssh.run_known(&node, "cat /root/written"), "before");
    signal(&child, "-TERM");
    assert!(child.wait().unwrap().success());
    assert_eq!(processes_of(&nodes_dir), Vec::<String>::new());
    assert!(nodes_dir
        .join(node_disk(&nodes_dir))
        .join("disk/upper/root/written")
        .exists());
}

/// The one disk directory under `nodes_dir`.
fn node_disk(nodes_dir: &Path) -> String {
    let names: Vec<String> = std::fs::read_dir(nodes_dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    names[0].clone()
}

/// The emulator as user and group `id` (via setpriv) with `env`, its nodes in
/// `dir`/nodes; (child, listening line).
fn spawn_as(id: u32, dir: &Path, env: &[(&str, &str)]) -> (Child, String) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let mut command = Command::new("setpriv");
    command
        .arg(format!("--reuid={id}"))
        .arg(format!("--regid={id}"))
        .args(["--clear-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_datacrunch-emulator"))
        .args(["--listen", "127.0.0.1:0", "--provisioning-seconds", "0.1"])
        .arg("--nodes-dir")
        .arg(dir.join("nodes"))
        .env("HOME", dir)
        .envs(env.iter().copied());
    listening(command)
}

/// `nobody` and `nogroup` on Debian.
const NOBODY: u32 = 65534;

/// Gives `nobody` a range of subordinate ids (as `useradd` gives every user it makes)
/// unless it has one: an unprivileged emulator maps them into its nodes.
fn subordinate_ids_for_nobody() {
    for file in ["/etc/subuid", "/etc/subgid"] {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        if !text.lines().any(|l| l.starts_with("nobody:")) {
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(file)
                .unwrap();
            std::io::Write::write_all(&mut f, b"nobody:1879048192:65536\n").unwrap();
        }
    }
}

fn uidmap_installed() -> bool {
    let found = Path::new("/usr/bin/newuidmap").exists();
    if !found {
        eprintln!("skipped: unprivileged nodes need newuidmap (Debian package uidmap)");
    }
    found
}

/// Stops an emulator with SIGTERM; its log.
fn stop(mut child: Child) -> String {
    signal(&child, "-TERM");
    child.wait().unwrap();
    let mut log = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut log).unwrap();
    log
}

/// As an ordinary user (`nobody`): the kernel refuses an overlay of `/` in a user
/// namespace, so each top-level directory is one; the node answers SSH on a high
/// port, is root over its own disk, and nothing it writes reaches the host.
#[tokio::test]
async fn an_unprivileged_emulator_boots_nodes_in_a_user_namespace() {
    if !sandboxes_possible() || !uidmap_installed() {
        return;
    }
    subordinate_ids_for_nobody();
    let dir = tempfile::tempdir().unwrap();
    let nodes_dir = dir.path().join("nodes");
    let (child, line) = spawn_as(NOBODY, dir.path(), &[]);
    let admin = admin_url(&line);
    let view = board(&admin).await;
    assert_eq!(view["mode"], "sandbox", "{view}");
    assert_eq!(
        view["root_filesystem"], "overlay of each top-level directory of /",
        "{view}"
    );
    let api = login(
        line.strip_prefix("datacrunch-emulator listening on ")
            .unwrap(),
    )
    .await;
    let (ssh, id, node) = ssh_node(&api, &admin, dir.path(), "unprivileged").await;
    assert_ne!(node["port"], 22, "{node}");
    assert_eq!(ssh.run(&node, "hostname").unwrap(), "unprivileged");
    assert_eq!(
        ssh.run(&node, "id -u; cat /proc/1/comm").unwrap(),
        "0\nsshd"
    );
    let marker = format!("unprivileged-{}", std::process::id());
    ssh.run(
        &node,
        &format!("echo kept > /root/{marker}; echo e > /etc/{marker}"),
    )
    .unwrap();
    assert_eq!(
        ssh.run(&node, &format!("cat /root/{marker}")).unwrap(),
        "kept"
    );
    for path in [format!("/root/{marker}"), format!("/etc/{marker}")] {
        assert!(!Path::new(&path).exists(), "{path} reached the host");
    }
    assert!(nodes_dir
        .join(node_disk(&nodes_dir))
        .join("disk/upper/etc")
        .join(&marker)
        .exists());
    // Delete removes the disk, overlayfs's scratch directories (mode 000) included.
    api.action("delete", &[&id]).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::read_dir(&nodes_dir).unwrap().count() > 0 {
        assert!(Instant::now() < deadline, "the disk is still there");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop(child);
    assert_eq!(processes_of(&nodes_dir), Vec::<String>::new());
}

/// Where the kernel refuses an ordinary user a user namespace (forced here, as this
/// machine allows them), the emulator says so once, naming the settings that decide
/// it, and serves records; a user without subordinate ids is told how to get some.
#[tokio::test]
async fn an_unprivileged_emulator_refused_namespaces_names_the_settings() {
    if !sandboxes_possible() || !uidmap_installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (child, line) = spawn_as(
        NOBODY,
        dir.path(),
        &[("DATACRUNCH_EMULATOR_DENY_USER_NAMESPACES", "1")],
    );
    let view = board(&admin_url(&line)).await;
    assert_eq!(view["mode"], "records", "{view}");
    let why = view["unavailable"].as_str().unwrap();
    for setting in [
        "kernel.apparmor_restrict_unprivileged_userns",
        "kernel.unprivileged_userns_clone",
        "user.max_user_namespaces",
    ] {
        assert!(why.contains(setting), "{why}");
    }
    let log = stop(child);
    assert_eq!(
        log.matches("sandbox nodes are unavailable").count(),
        1,
        "{log}"
    );

    // A user id with no account, so no subordinate ids.
    let dir = tempfile::tempdir().unwrap();
    let (child, line) = spawn_as(54321, dir.path(), &[]);
    let view = board(&admin_url(&line)).await;
    assert_eq!(view["mode"], "records", "{view}");
    let why = view["unavailable"].as_str().unwrap();
    assert!(
        why.contains("user 54321 has no range of subordinate ids in /etc/subuid"),
        "{why}"
    );
    stop(child);
}

/// Without a state file the node disks live in a temporary directory: removed at a
/// clean exit, and, when the emulator was killed first, by the next emulator's start.
#[tokio::test]
async fn temporary_node_directories_never_pile_up() {
    if !sandboxes_possible() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let start = || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_datacrunch-emulator"));
        command
            .args(["--listen", "127.0.0.1:0"])
            .env("TMPDIR", tmp.path());
        let (child, line) = listening(command);
        let dir = tmp
            .path()
            .join(format!("datacrunch-emulator-{}-0.nodes", child.id()));
        assert!(dir.is_dir(), "{line}");
        (child, dir)
    };
    let (mut killed, killed_dir) = start();
    signal(&killed, "-KILL");
    killed.wait().unwrap();
    assert!(killed_dir.is_dir());
    let (mut clean, clean_dir) = start();
    assert!(
        !killed_dir.exists(),
        "the killed emulator's directory is still there"
    );
    signal(&clean, "-TERM");
    clean.wait().unwrap();
    assert!(!clean_dir.exists());
}
