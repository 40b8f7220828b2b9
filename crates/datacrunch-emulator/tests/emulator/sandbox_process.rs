//! The emulator as a process with sandboxed nodes: without `unshare` it says so once and
//! keeps records; after SIGKILL a restart boots the nodes again with their disks; run
//! unprivileged it boots nodes or names the setting that forbids it; temporary node
//! directories never pile up.

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
    let (key, public) = user_key(dir.path());
    let ssh = Ssh {
        key,
        known_hosts: dir.path().join("known_hosts"),
    };
    let key_id = api
        .post("/sshkeys", json!({"name": "k", "key": public}))
        .await
        .text;
    let mut body = common::v100("survivor");
    body["ssh_key_ids"] = json!([key_id]);
    let id = api.deploy(body).await;
    let _ = api.status(&id).await;
    let node = ready_nodes(&admin, &[&id]).await.remove(0);
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

/// As an ordinary user (`nobody`, via setpriv): sandboxes when the kernel lets that
/// user make a user namespace with an overlay of `/` (a node then answers SSH on a
/// high port), otherwise records with the one line naming the setting or saying to
/// run as root.
#[tokio::test]
async fn an_unprivileged_emulator_boots_nodes_or_says_which_setting_forbids_it() {
    if !sandboxes_possible() {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let nodes_dir = dir.path().join("nodes");
    let mut command = Command::new("setpriv");
    command
        .args([
            "--reuid",
            "nobody",
            "--regid",
            "nogroup",
            "--clear-groups",
            "--",
        ])
        .arg(env!("CARGO_BIN_EXE_datacrunch-emulator"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--provisioning-seconds",
            "0.1",
            "--nodes-dir",
        ])
        .arg(&nodes_dir)
        .env("HOME", dir.path());
    let (mut child, line) = listening(command);
    let admin = admin_url(line.trim());
    let view = board(&admin).await;
    if view["mode"] == "records" {
        let why = view["unavailable"].as_str().unwrap();
        assert!(
            why.contains("run the emulator as root"),
            "the reason must say what to do: {why}"
        );
    } else {
        assert_eq!(view["mode"], "sandbox", "{view}");
        let api = login(
            line.trim()
                .strip_prefix("datacrunch-emulator listening on ")
                .unwrap(),
        )
        .await;
        let (key, public) = user_key(dir.path());
        let key_id = api
            .post("/sshkeys", json!({"name": "k", "key": public}))
            .await
            .text;
        let mut body = common::v100("unprivileged");
        body["ssh_key_ids"] = json!([key_id]);
        let id = api.deploy(body).await;
        let _ = api.status(&id).await;
        let node = ready_nodes(&admin, &[&id]).await.remove(0);
        assert_ne!(node["port"], 22, "{node}");
        let ssh = Ssh {
            key,
            known_hosts: dir.path().join("known_hosts"),
        };
        assert_eq!(ssh.run(&node, "hostname").unwrap(), "unprivileged");
    }
    signal(&child, "-TERM");
    child.wait().unwrap();
    assert_eq!(processes_of(&nodes_dir), Vec::<String>::new());
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
