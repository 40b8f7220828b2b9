//! Emulated nodes you can SSH into, through the whole kdevops loop: bringup waits for
//! SSH, `ssh kdevops-N` reaches each node (hostname, startup script, a private disk),
//! the inventory works with Ansible (ping, and the example playbook installing a package
//! built by the test, so no mirror is reached), a shutdown through
//! the API refuses connections and a start answers again with the disk kept, and
//! destroy leaves no node process, no disk and no known_hosts file.
//!
//! Needs root and Debian's openssh-server (CI has both); says so and returns without.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use test_support::cargo_bin::workspace_root;

use crate::common::{text, Project};

pub(crate) fn sandboxes_possible() -> bool {
    let root = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false);
    let sshd = Path::new("/usr/sbin/sshd").exists();
    if !(root && sshd) {
        eprintln!(
            "skipped: emulated nodes need root and /usr/sbin/sshd (root={root}, sshd={sshd})"
        );
    }
    root && sshd
}

/// `ssh -F <the project's ssh config> NODE COMMAND` (ssh reads the real user's
/// ~/.ssh/config, not $HOME's, so the test names the per-project file).
pub(crate) fn ssh(p: &Project, node: &str, command: &str) -> Output {
    let config = p
        .home_dir()
        .join(format!(".ssh/config_kdevops_{}", p.short_id()));
    Command::new("ssh")
        .arg("-F")
        .arg(config)
        .args([
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=5",
            node,
            command,
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

pub(crate) fn ssh_ok(p: &Project, node: &str, command: &str) -> String {
    let out = ssh(p, node, command);
    assert!(out.status.success(), "ssh {node} {command}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn ansible(p: &Project, program: &str, args: &[&str]) -> String {
    let out = Command::new(workspace_root().join(".venv/bin").join(program))
        .args(args)
        .current_dir(p.dir())
        .env("HOME", p.home_dir())
        .env("ANSIBLE_NOCOLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{program} {args:?}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Processes whose command line names `dir` (node helpers and sshds).
pub(crate) fn processes_naming(dir: &Path) -> Vec<String> {
    let needle = dir.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            cmdline
                .contains(&needle)
                .then(|| format!("{} {cmdline}", e.file_name().to_string_lossy()))
        })
        .collect()
}

/// Node disks: the directories under the emulator's nodes directory.
pub(crate) fn disks(nodes_dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(nodes_dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

/// The package the example playbook installs in the test.
const OFFLINE_PACKAGE: &str = "kdevops-example-offline";

/// A real Debian package, built with `dpkg-deb` in `dir`: a command that prints
/// "installed offline".
fn offline_package(dir: &Path) -> PathBuf {
    let tree = dir.join("offline-package");
    std::fs::create_dir_all(tree.join("DEBIAN")).unwrap();
    std::fs::create_dir_all(tree.join("usr/bin")).unwrap();
    std::fs::write(
        tree.join("DEBIAN/control"),
        format!(
            "Package: {OFFLINE_PACKAGE}\nVersion: 1.0\nArchitecture: all\n\
             Maintainer: kdevops tests <tests@localhost>\n\
             Description: a package the example playbook installs without a mirror\n"
        ),
    )
    .unwrap();
    let command = tree.join("usr/bin").join(OFFLINE_PACKAGE);
    std::fs::write(&command, "#!/bin/sh\necho installed offline\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&command, std::fs::Permissions::from_mode(0o755)).unwrap();
    let deb = dir.join(format!("{OFFLINE_PACKAGE}.deb"));
    let out = Command::new("dpkg-deb")
        .args(["--root-owner-group", "--build"])
        .arg(&tree)
        .arg(&deb)
        .output()
        .unwrap();
    assert!(out.status.success(), "dpkg-deb: {}", text(&out));
    deb
}

fn instance_action(p: &Project, action: &str, id: &str) {
    let body = format!(r#"{{"action": "{action}", "id": ["{id}"]}}"#);
    let (status, reply) = p.api("PUT", "/instances", Some(&body));
    assert!(status < 300, "{action}: {status} {reply}");
}

#[test]
fn nodes_answer_ssh_and_ansible_through_the_whole_loop() {
    if !sandboxes_possible() {
        return;
    }
    let p = Project::new();
    p.defconfig("emulator-3-nodes");
    std::fs::write(
        p.dir().join("startup.sh"),
        "#!/bin/sh\necho \"first boot of $(hostname)\"\n",
    )
    .unwrap();
    p.set("TERRAFORM_DATACRUNCH_STARTUP_SCRIPT_FILE=\"startup.sh\"");
    // Host keys checked against the project's own known_hosts file.
    p.set("KDEVOPS_SSH_CONFIG_UPDATE_STRICT=n");
    let out = p.ok(&["bringup"]);
    for name in ["kdevops-0", "kdevops-1", "kdevops-2"] {
        assert!(out.contains(&format!("{name} answers SSH")), "{out}");
    }
    let known_hosts = p
        .home_dir()
        .join(format!(".ssh/known_hosts_kdevops_{}", p.short_id()));
    assert!(std::fs::read_to_string(&known_hosts)
        .unwrap()
        .contains("kdevops-0,"));

    for name in ["kdevops-0", "kdevops-1", "kdevops-2"] {
        assert_eq!(ssh_ok(&p, name, "hostname"), name);
        assert_eq!(
            ssh_ok(&p, name, "cat /var/log/startup-script.log"),
            format!("first boot of {name}")
        );
    }
    let marker = format!("/root/written-by-test-{}", std::process::id());
    ssh_ok(&p, "kdevops-0", &format!("echo kept > {marker}"));
    assert!(!ssh(&p, "kdevops-1", &format!("test -e {marker}"))
        .status
        .success());
    assert!(!Path::new(&marker).exists(), "{marker} reached the host");

    let ping = ansible(&p, "ansible", &["-i", "hosts", "all", "-m", "ping"]);
    assert_eq!(ping.matches("SUCCESS").count(), 3, "{ping}");
    // The example playbook, fed a package built here: tests send traffic to loopback
    // only, never to a distribution mirror.
    let deb = offline_package(p.dir());
    let playbook = workspace_root().join("playbooks/example.yml");
    let played = ansible(
        &p,
        "ansible-playbook",
        &[
            "-i",
            "hosts",
            playbook.to_str().unwrap(),
            "-e",
            &format!("example_package={OFFLINE_PACKAGE}"),
            "-e",
            &format!("example_package_deb={}", deb.display()),
        ],
    );
    let release =
        String::from_utf8_lossy(&Command::new("uname").arg("-r").output().unwrap().stdout)
            .trim()
            .to_owned();
    for name in ["kdevops-0", "kdevops-1", "kdevops-2"] {
        assert!(
            played.contains(&format!("{name}: installed offline; kernel {release}")),
            "{played}"
        );
        let status = format!("dpkg-query -W -f='${{Status}}' {OFFLINE_PACKAGE}");
        assert_eq!(ssh_ok(&p, name, &status), "install ok installed");
    }
    // Installed in the nodes only.
    assert!(!Path::new(&format!("/usr/bin/{OFFLINE_PACKAGE}")).exists());

    // A shutdown through the API: connections refused; start: the same disk answers.
    let id = p
        .status()
        .into_iter()
        .find(|n| n["name"] == "kdevops-0")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    instance_action(&p, "shutdown", &id);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let out = ssh(&p, "kdevops-0", "true");
        if String::from_utf8_lossy(&out.stderr).contains("Connection refused") {
            break;
        }
        assert!(Instant::now() < deadline, "still answers: {}", text(&out));
        std::thread::sleep(Duration::from_millis(100));
    }
    instance_action(&p, "start", &id);
    let deadline = Instant::now() + Duration::from_secs(15);
    while !ssh(&p, "kdevops-0", "true").status.success() {
        assert!(Instant::now() < deadline, "never answered after start");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(ssh_ok(&p, "kdevops-0", &format!("cat {marker}")), "kept");

    let nodes_dir = p.dir().join(".local/emulator/state.nodes");
    assert_eq!(disks(&nodes_dir).len(), 3, "{:?}", disks(&nodes_dir));
    assert!(!processes_naming(&nodes_dir).is_empty());
    p.ok(&["destroy"]);
    assert_eq!(processes_naming(&nodes_dir), Vec::<String>::new());
    assert_eq!(disks(&nodes_dir), Vec::<PathBuf>::new());
    assert!(!known_hosts.exists());
}

/// An emulator that cannot boot sandboxes (the kernel's refusal forced here, as this
/// machine allows them) falls back to records: `make bringup` prints the one line
/// naming the settings, and otherwise exactly what a records-only emulator's bringup
/// prints (no SSH wait), with the same nodes.
#[test]
fn a_bringup_on_a_records_fallback_prints_one_line_and_nothing_else_changes() {
    let bringup = |env: (&str, &str)| {
        let p = Project::new();
        p.defconfig("emulator-3-nodes");
        let out = p.command(&["bringup"]).env(env.0, env.1).output().unwrap();
        assert!(out.status.success(), "bringup: {}", text(&out));
        let printed = text(&out);
        let hosts = std::fs::read_to_string(p.dir().join("hosts")).unwrap();
        p.ok(&["destroy"]);
        (printed, hosts)
    };
    let (fallback, fallback_hosts) = bringup(("DATACRUNCH_EMULATOR_DENY_USER_NAMESPACES", "1"));
    let (records, records_hosts) = bringup(("DATACRUNCH_EMULATOR_NODES", "records"));
    let (line, rest): (Vec<&str>, Vec<&str>) = fallback
        .lines()
        .partition(|l| l.contains("sandbox nodes are unavailable"));
    assert_eq!(line.len(), 1, "{fallback}");
    for setting in [
        "kernel.apparmor_restrict_unprivileged_userns",
        "kernel.unprivileged_userns_clone",
        "user.max_user_namespaces",
    ] {
        assert!(line[0].contains(setting), "{}", line[0]);
    }
    assert_eq!(
        mask(&rest.join("\n")),
        mask(&records),
        "{fallback}\n---\n{records}"
    );
    assert!(!fallback.contains("answers SSH"), "{fallback}");
    assert_eq!(mask(&fallback_hosts), mask(&records_hosts));
}

/// The lines of `text`, sorted (nodes are created concurrently, in any order), with
/// every word that differs between two projects (times, addresses, ports, ids,
/// temporary paths) reduced to `#`.
fn mask(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text
        .lines()
        .map(|line| {
            line.split_whitespace()
                .map(|word| {
                    let varies =
                        word.contains(|c: char| c.is_ascii_digit()) || word.contains("/tmp/");
                    if varies {
                        "#"
                    } else {
                        word
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    lines.sort();
    lines
}
