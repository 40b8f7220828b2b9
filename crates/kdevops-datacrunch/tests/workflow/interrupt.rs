//! Bringups stopped half way while instances are being created: by Ctrl-C (SIGINT to the
//! whole foreground process group under a real `make`), by SIGTERM to the workflow tool,
//! by a second Ctrl-C that forces Terraform out, and by SIGKILL of everything. Afterwards
//! the API holds no instance that Terraform's state does not know (or the tool names
//! it), no Terraform or provider process and no plugin socket is left, and bringup again
//! ends with exactly the configured nodes.

use std::collections::BTreeSet;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{alive, http, terraform_bin, workflow_bin, Project};
use serde_json::Value;
use test_support::cargo_bin::workspace_root;
use test_support::process::wait_until;

/// Live instances as the emulator's admin API lists them (deleted ones excluded).
fn live_instances(p: &Project) -> Vec<Value> {
    let (status, body) = http(&p.emulator_base(), "GET", "/admin/instances", None);
    assert_eq!(status, 200, "{body}");
    let all: Vec<Value> = serde_json::from_str(&body).unwrap_or_default();
    all.into_iter()
        .filter(|i| i["deleted_at"].is_null() && i["status"] != "discontinued")
        .collect()
}

fn live_ids(p: &Project) -> BTreeSet<String> {
    live_instances(p)
        .iter()
        .map(|i| i["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Instance ids in the state file, read as JSON (independent of the tool under test).
fn state_ids(p: &Project) -> BTreeSet<String> {
    let path = p.dir().join("terraform/datacrunch/terraform.tfstate");
    // Terraform creates the file empty (to lock it) before it first saves state.
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    if text.trim().is_empty() {
        return BTreeSet::new();
    }
    let state: Value = serde_json::from_str(&text).unwrap();
    state["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["type"] == "datacrunch_instance")
        .flat_map(|r| r["instances"].as_array().cloned().unwrap_or_default())
        .filter_map(|i| i.pointer("/attributes/id")?.as_str().map(str::to_owned))
        .collect()
}

/// Lets the emulator's virtual clock run ahead (instances finish provisioning).
fn advance_clock(p: &Project, seconds: u64) {
    let body = format!(r#"{{"seconds":{seconds}}}"#);
    let (status, reply) = http(
        &p.emulator_base(),
        "POST",
        "/admin/clock/advance",
        Some(&body),
    );
    assert!(status < 300, "{status} {reply}");
}

/// Requests counted by the emulator for one endpoint, e.g. `GET /v1/instances`.
fn requests(p: &Project, endpoint: &str) -> u64 {
    let (status, body) = http(&p.emulator_base(), "GET", "/admin/counters", None);
    assert_eq!(status, 200, "{body}");
    let counters: Value = serde_json::from_str(&body).unwrap();
    counters[endpoint].as_u64().unwrap_or(0)
}

/// A `make bringup` started as a terminal would start it: its own process group (the
/// terminal's foreground group), SIGINT and SIGTERM at their default action whatever the
/// test runner inherited, TMPDIR in the project (plugin sockets go there), output in a
/// file.
struct Bringup {
    make: Child,
    tmp: PathBuf,
    log: PathBuf,
}

/// Seconds the emulator takes to provision: long enough that the creates are still in
/// flight when the test signals, short enough for bringup again to finish soon.
const PROVISIONING_SECONDS: &str = "12";

impl Bringup {
    fn start(p: &Project) -> Self {
        let tmp = p.dir().join("tmp");
        std::fs::create_dir_all(&tmp).unwrap();
        let log = p.dir().join("make.log");
        let out = std::fs::File::create(&log).unwrap();
        let root = workspace_root();
        // The workflow binary of this test build is TARGET/debug/kdevops-datacrunch.
        let target = workflow_bin()
            .parent()
            .and_then(Path::parent)
            .unwrap()
            .to_path_buf();
        let make = Command::new("env")
            .args(["--default-signal=INT,TERM", "make", "-s", "-C"])
            .arg(&root)
            .arg("bringup")
            .arg(format!("TOPDIR={}", p.dir().display()))
            .arg(format!("VENV={}", root.join(".venv").display()))
            .arg(format!("CARGO_TARGET_DIR={}", target.display()))
            // The test built the binaries already.
            .arg("CARGO=true")
            .env("HOME", p.home.path())
            .env("TMPDIR", &tmp)
            .env("KDEVOPS_TERRAFORM", terraform_bin())
            .env(
                "DATACRUNCH_EMULATOR_PROVISIONING_SECONDS",
                PROVISIONING_SECONDS,
            )
            .env_remove("TF_CLI_CONFIG_FILE")
            .env_remove("MAKEFLAGS")
            .env_remove("MAKELEVEL")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .process_group(0)
            .spawn()
            .expect("run make");
        Bringup { make, tmp, log }
    }

    /// Waits until the API has accepted `n` deploys.
    fn wait_for_instances(&mut self, p: &Project, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            if p.dir().join(".local/emulator/url").exists() && live_instances(p).len() >= n {
                return;
            }
            if let Ok(Some(status)) = self.make.try_wait() {
                panic!(
                    "bringup ended ({status}) before it could be interrupted:\n{}",
                    self.output()
                );
            }
            assert!(
                Instant::now() < deadline,
                "no {n} instances were ever created:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Ctrl-C in the terminal: SIGINT to the foreground process group.
    fn ctrl_c(&self) {
        kill("-INT", &format!("-{}", self.make.id()));
    }

    /// The workflow tool: the one child of make (make runs the recipe without a shell).
    fn tool_pid(&self) -> i32 {
        let tool = children(self.make.id() as i32);
        assert_eq!(
            tool.len(),
            1,
            "make should have one child, the tool: {tool:?}"
        );
        tool[0]
    }

    /// Waits (bounded) for make to end; returns whether it succeeded and its output.
    fn finish(mut self) -> (bool, String, PathBuf) {
        let deadline = Instant::now() + Duration::from_secs(180);
        let status = loop {
            if let Some(status) = self.make.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.make.kill();
                panic!("make did not end after the signal:\n{}", self.output());
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        (status.success(), self.output(), self.tmp.clone())
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn kill(signal: &str, target: &str) {
    let status = Command::new("kill")
        .args([signal, "--", target])
        .status()
        .unwrap();
    assert!(status.success(), "kill {signal} {target}");
}

/// Parent pid of a process, from /proc.
fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

fn all_pids() -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

fn children(pid: i32) -> Vec<i32> {
    all_pids()
        .into_iter()
        .filter(|c| parent_of(*c) == Some(pid) && alive(*c))
        .collect()
}

/// Starts `bringup` (with `env`), waits until `started` holds, then kills every process
/// of the run with SIGKILL (a crash, a lost machine) but the emulator, which holds what
/// was created and stays. Terraform runs in a process group of its own, so the run's
/// processes are found by ancestry, not by group.
pub(crate) fn kill_bringup_when(
    p: &Project,
    env: &[(&str, &str)],
    timeout: Duration,
    what: &str,
    mut started: impl FnMut() -> bool,
) {
    let mut child = p
        .command(&["bringup"])
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + timeout;
    while !started() {
        assert!(Instant::now() < deadline, "waited {timeout:?} for {what}");
        if let Ok(Some(status)) = child.try_wait() {
            panic!("bringup ended before it could be killed: {status}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let emulator = p.emulator_pid();
    let mut victims: Vec<String> = descendants(child.id() as i32)
        .into_iter()
        .filter(|pid| Some(*pid) != emulator)
        .map(|pid| pid.to_string())
        .collect();
    victims.push(child.id().to_string());
    let killed = Command::new("kill")
        .arg("-KILL")
        .args(&victims)
        .status()
        .unwrap();
    assert!(killed.success());
    let _ = child.wait();
}

/// Every live descendant of `pid`.
pub(crate) fn descendants(pid: i32) -> Vec<i32> {
    let mut found = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        for c in children(p) {
            found.push(c);
            todo.push(c);
        }
    }
    found
}

/// No process of this run is left but the emulator (it holds the instances until `make
/// destroy`), and no plugin socket is left in TMPDIR.
fn assert_nothing_left(p: &Project, tmp: &Path, output: &str) {
    let marker = format!("TMPDIR={}", tmp.display());
    let emulator = p.emulator_pid();
    let left: Vec<String> = all_pids()
        .into_iter()
        .filter(|pid| Some(*pid) != emulator && alive(*pid))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .map(|env| env.split(|b| *b == 0).any(|v| v == marker.as_bytes()))
                .unwrap_or(false)
        })
        .map(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            format!(
                "{pid}: {}",
                String::from_utf8_lossy(&cmdline).replace('\0', " ")
            )
        })
        .collect();
    assert!(
        left.is_empty(),
        "processes outlived make: {left:?}\n{output}"
    );
    let sockets: Vec<String> = std::fs::read_dir(tmp)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with("plugin"))
        .collect();
    assert!(
        sockets.is_empty(),
        "plugin sockets left in TMPDIR: {sockets:?}\n{output}"
    );
}

/// make itself must not add noise such as "make: *** wait: No child processes".
fn assert_make_is_quiet(output: &str) {
    assert!(!output.contains("No child processes"), "{output}");
    assert!(!output.contains("error: "), "{output}");
}

/// Bringup again ends with exactly the configured nodes, running, no duplicates.
fn bringup_again_finishes(p: &Project) {
    // Instances still provisioning cannot be deleted (tainted ones are replaced).
    advance_clock(p, 60);
    let out = p.ok(&["bringup"]);
    let live = live_instances(p);
    let mut names: Vec<&str> = live
        .iter()
        .map(|i| i["hostname"].as_str().unwrap_or_default())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["kdevops-0", "kdevops-1", "kdevops-2"],
        "duplicates or missing nodes after:\n{out}"
    );
    assert_eq!(live_ids(p), state_ids(p), "{out}");
    let status = p.status();
    assert_eq!(status.len(), 3);
    assert!(
        status.iter().all(|n| n["status"] == "running"),
        "{status:?}"
    );
}

#[test]
fn ctrl_c_during_bringup_leaves_every_instance_in_state() {
    let p = Project::new();
    p.defconfig("emulator-3-nodes");
    let mut run = Bringup::start(&p);
    run.wait_for_instances(&p, 3);
    run.ctrl_c();
    let (ok, out, tmp) = run.finish();
    assert!(!ok, "an interrupted bringup must fail:\n{out}");
    assert_nothing_left(&p, &tmp, &out);
    assert_make_is_quiet(&out);

    let live = live_ids(&p);
    assert_eq!(live.len(), 3, "{out}");
    let state = state_ids(&p);
    assert!(
        live.is_subset(&state),
        "API {live:?} but state {state:?}:\n{out}"
    );
    assert!(
        out.contains("Interrupted (Ctrl-C): asking Terraform to stop"),
        "{out}"
    );
    for id in &live {
        assert!(out.contains(id), "the report must list {id}:\n{out}");
    }
    assert!(
        out.contains("Every instance is in Terraform's state."),
        "{out}"
    );
    assert!(
        out.contains(
            "`make bringup` to finish the bringup, or `make destroy` to remove everything"
        ),
        "{out}"
    );

    bringup_again_finishes(&p);
    p.ok(&["destroy"]);
}

#[test]
fn sigterm_to_the_tool_during_bringup_leaves_every_instance_in_state() {
    let p = Project::new();
    p.defconfig("emulator-3-nodes");
    let mut run = Bringup::start(&p);
    run.wait_for_instances(&p, 3);
    kill("-TERM", &run.tool_pid().to_string());
    let (ok, out, tmp) = run.finish();
    assert!(!ok, "a terminated bringup must fail:\n{out}");
    // Right when make returns: Terraform and the provider are gone, not still saving.
    assert_nothing_left(&p, &tmp, &out);
    assert_make_is_quiet(&out);

    let live = live_ids(&p);
    let state = state_ids(&p);
    assert_eq!(live.len(), 3, "{out}");
    assert!(
        live.is_subset(&state),
        "API {live:?} but state {state:?}:\n{out}"
    );
    assert!(
        out.contains("Terminated (SIGTERM). Instances of this project now:"),
        "{out}"
    );

    advance_clock(&p, 60);
    let gone = p.ok(&["destroy"]);
    assert!(
        gone.contains("verified: no instance of this project remains"),
        "{gone}"
    );
}

#[test]
fn a_second_ctrl_c_names_what_is_at_risk_and_bringup_adopts_it() {
    let p = Project::new();
    p.defconfig("emulator-3-nodes");
    let mut run = Bringup::start(&p);
    run.wait_for_instances(&p, 3);
    // Listing instances now takes 8 s, and the provider's poll cannot be cut short: the
    // creates that poll stay in flight well after the first Ctrl-C.
    p.admin_put(
        "faults",
        r#"{"endpoint":"GET /v1/instances","latency_ms":8000}"#,
    );
    let polls = requests(&p, "GET /v1/instances");
    wait_until(
        Duration::from_secs(60),
        || requests(&p, "GET /v1/instances") != polls,
        || format!("the provider never polled:\n{}", run.output()),
    );
    run.ctrl_c();
    // Until the first notice is printed the tool may not have seen the first signal
    // (two pending SIGINTs count as one).
    wait_until(
        Duration::from_secs(30),
        || run.output().contains("asking Terraform to stop"),
        || format!("no notice:\n{}", run.output()),
    );
    run.ctrl_c();
    let (ok, out, tmp) = run.finish();
    assert!(!ok, "{out}");
    assert_nothing_left(&p, &tmp, &out);
    assert_make_is_quiet(&out);

    assert!(
        out.contains("Stopping Terraform at once. At risk: datacrunch_instance.kdevops[\"kdevops-"),
        "{out}"
    );
    let live = live_ids(&p);
    let state = state_ids(&p);
    let unknown: Vec<&String> = live.difference(&state).collect();
    assert!(
        !unknown.is_empty(),
        "the forced stop left everything in state:\n{out}"
    );
    for id in &unknown {
        assert!(
            out.lines()
                .any(|l| l.contains(id.as_str()) && l.contains("NOT in Terraform's state")),
            "{id} is not in state and must be named:\n{out}"
        );
    }
    assert!(
        out.contains(&format!(
            "{} instance(s) are not in Terraform's state",
            unknown.len()
        )),
        "{out}"
    );
    assert!(
        out.contains("`make bringup` adopts them into state, `make destroy` deletes them"),
        "{out}"
    );

    let (status, reply) = http(&p.emulator_base(), "DELETE", "/admin/faults", None);
    assert!(status < 300, "{status} {reply}");
    bringup_again_finishes(&p);
    p.ok(&["destroy"]);
}

/// The workflow, Terraform and the provider all killed outright (a crash, a lost
/// machine): bringup again adopts what was created, no duplicates; destroy cleans up.
#[test]
fn killed_bringup_then_bringup_again_has_no_duplicates() {
    let p = Project::new();
    p.defconfig("emulator-3-nodes");
    // Once the API has accepted at least one deploy.
    kill_bringup_when(
        &p,
        &[],
        Duration::from_secs(120),
        "an instance to be created",
        || p.dir().join(".local/emulator/url").exists() && !live_instances(&p).is_empty(),
    );

    let out = p.ok(&["bringup"]);
    let live = live_instances(&p);
    let mut names: Vec<&str> = live
        .iter()
        .map(|i| i["hostname"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["kdevops-0", "kdevops-1", "kdevops-2"],
        "duplicates or missing nodes after:\n{out}"
    );
    let status = p.status();
    assert_eq!(status.len(), 3);
    assert!(
        status.iter().all(|n| n["status"] == "running"),
        "{status:?}"
    );

    let gone = p.ok(&["destroy"]);
    assert!(
        gone.contains("verified: no instance of this project remains"),
        "{gone}"
    );
}

#[test]
fn lost_state_is_adopted_without_replacing_anything() {
    let p = Project::new();
    p.defconfig("emulator-3-nodes");
    p.set("KDEVOPS_NODE_COUNT=2");
    p.ok(&["bringup"]);
    let ids = |nodes: Vec<Value>| {
        nodes
            .iter()
            .map(|n| {
                (
                    n["name"].as_str().unwrap().to_owned(),
                    n["id"].as_str().unwrap().to_owned(),
                )
            })
            .collect::<Vec<_>>()
    };
    let before = ids(p.status());
    for name in ["terraform.tfstate", "terraform.tfstate.backup"] {
        let _ = std::fs::remove_file(p.dir().join("terraform/datacrunch").join(name));
    }
    let out = p.ok(&["bringup"]);
    assert!(out.contains("adopting SSH key"), "{out}");
    assert!(
        out.contains("adopting kdevops-0") && out.contains("adopting kdevops-1"),
        "{out}"
    );
    assert!(
        !out.contains("will replace") && !out.contains("create done"),
        "{out}"
    );
    assert_eq!(ids(p.status()), before);
    p.ok(&["destroy"]);
}

#[test]
fn a_node_deleted_behind_terraforms_back_is_reported_and_recreated() {
    let p = Project::new();
    p.defconfig("emulator-3-nodes");
    p.set("KDEVOPS_NODE_COUNT=2");
    p.ok(&["bringup"]);
    assert!(!p.ok(&["status"]).contains("note:"));
    let victim = p
        .status()
        .into_iter()
        .find(|n| n["name"] == "kdevops-1")
        .unwrap();
    let id = victim["id"].as_str().unwrap();
    let body = format!(r#"{{"action":"delete","id":["{id}"]}}"#);
    let (status, reply) = p.api("PUT", "/instances", Some(&body));
    assert!(status < 300, "{status} {reply}");
    // Wait (bounded) until the API no longer lists it as live.
    wait_until(
        Duration::from_secs(60),
        || !p.status().iter().any(|n| n["id"] == id),
        || format!("instance {id} never left the API"),
    );
    let report = p.ok(&["status"]);
    assert!(
        report.contains(&format!(
            "note: kdevops-1 ({id}) is in Terraform state but not in the API"
        )),
        "{report}"
    );
    let out = p.ok(&["bringup"]);
    assert!(out.contains("kdevops-1: create done"), "{out}");
    assert!(!out.contains("kdevops-0: create done"), "{out}");
    assert_eq!(p.status().len(), 2);
    p.ok(&["destroy"]);
}
