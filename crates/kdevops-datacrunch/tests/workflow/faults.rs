//! Proof under faults: the real workflow and real Terraform against an emulator that
//! answers a fifth of all requests with 429, 500, 503, a dropped connection or a lost
//! answer (done, then the connection reset) run bringup → bringup again → destroy,
//! cycle after cycle. After every step the emulator's own records (deleted instances
//! included) must show that no billed machine was lost, duplicated or replaced:
//!
//! - orphans: live instances that the Terraform state does not know (after a bringup),
//!   or any live instance, ssh key, startup script or volume left after destroy;
//! - duplicates: a node that got more than one instance within a cycle (a duplicate that
//!   was deleted later still counts);
//! - replacements: a node whose instance id changed between the first and the second
//!   bringup of a cycle;
//! - lost: a node missing from the Terraform state after a bringup that succeeded.
//!
//! A step that fails under the faults is run again, as a user would; the number of such
//! retries is reported, not judged, but a step that fails every time stops the soak and
//! fails the test. Size and faults from the environment: `SOAK_CYCLES` (default 2),
//! `SOAK_NODES` (default 3), `SOAK_SEED` (default below). Faults are drawn from the
//! seed, so a run can be repeated (Terraform's parallelism can still reorder requests, so
//! a replay sees the same fault mix rather than the same sequence). The last line
//! printed, `soak-result {json}`, is what `tools/soak` reports.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{http, text, Project};
use serde_json::{json, Value};
use test_support::cargo_bin::workspace_bin;

/// The seed when `SOAK_SEED` is not set.
const DEFAULT_SEED: u64 = 20_261_126;

/// Every endpoint: 4 % each of 429 (Retry-After 1 s), 500, 503, connections closed
/// before the request is handled, and lost answers (the request takes effect, then the
/// connection is reset): a fifth of all requests.
const FAULTS: &str =
    "rate_429=0.04,rate_500=0.04,rate_503=0.04,drop_rate=0.04,lost_answer_rate=0.04";

/// How often one step is run before the soak gives up on it.
const ATTEMPTS_PER_STEP: usize = 4;

#[test]
fn bringup_rebringup_destroy_cycles_under_injected_faults() {
    let cycles = env_number("SOAK_CYCLES", 2);
    let nodes = env_number("SOAK_NODES", 3);
    let seed = env_number("SOAK_SEED", DEFAULT_SEED);
    assert!(
        (1..=32).contains(&nodes),
        "SOAK_NODES must be from 1 to 32 (the node count kdevops allows), got {nodes}"
    );
    println!("soak: seed {seed}, {cycles} cycles of {nodes} nodes, faults {FAULTS}");
    let started = Instant::now();

    let emulator = FaultyEmulator::start(seed, nodes);
    let p = Project::new();
    point_project_at(&p, &emulator, nodes);
    let mut tally = Tally::default();
    let mut gave_up = None;
    for cycle in 1..=cycles {
        if let Err(stuck) = tally.run_cycle(&p, &emulator, cycle, nodes) {
            gave_up = Some(stuck);
            break;
        }
        println!(
            "soak: cycle {cycle} done at {:.0}s: {}",
            started.elapsed().as_secs_f64(),
            tally.summary()
        );
    }

    let result = json!({
        "seed": seed,
        "cycles": cycles,
        "cycles_completed": tally.cycles_completed,
        "nodes": nodes,
        "faults_injected": emulator.injected_faults(),
        "requests": emulator.requests(),
        "orphans": tally.orphans.len(),
        "duplicates": tally.duplicates.len(),
        "replacements": tally.replacements.len(),
        "lost": tally.lost.len(),
        "step_retries": tally.step_retries,
        "gave_up": gave_up,
        "wall_seconds": started.elapsed().as_secs(),
    });
    println!("soak-result {result}");
    let problems: Vec<&str> = [
        &tally.orphans,
        &tally.duplicates,
        &tally.replacements,
        &tally.lost,
    ]
    .into_iter()
    .flatten()
    .chain(&gave_up)
    .map(String::as_str)
    .collect();
    assert!(
        problems.is_empty(),
        "with SOAK_SEED={seed} SOAK_NODES={nodes}, the faults cost machines or stopped the soak:\n{}",
        problems.join("\n")
    );
}

/// A number from the environment, or `default` when unset.
fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => v.trim().parse().unwrap_or_else(|_| {
            panic!("{name} is {v:?}: expected a whole number (leave it unset for the default)")
        }),
        Err(_) => default,
    }
}

/// What the soak found, each entry saying where.
#[derive(Default)]
struct Tally {
    orphans: Vec<String>,
    duplicates: Vec<String>,
    replacements: Vec<String>,
    /// Nodes missing from the state after a bringup that succeeded.
    lost: Vec<String>,
    /// Steps that failed under the faults and were run again.
    step_retries: usize,
    cycles_completed: usize,
}

impl Tally {
    /// bringup, bringup again, destroy, each step checked against the emulator's
    /// records. `Err` when a step keeps failing (the soak cannot go on).
    fn run_cycle(
        &mut self,
        p: &Project,
        emulator: &FaultyEmulator,
        cycle: usize,
        nodes: usize,
    ) -> Result<(), String> {
        let known_before: BTreeSet<String> = emulator.instances().into_keys().collect();

        self.run_step(p, cycle, "bringup")?;
        let first = state_nodes(p);
        self.check_nodes_complete(cycle, "bringup", &first, nodes);
        self.check_orphans(emulator, cycle, "bringup", &first);

        self.run_step(p, cycle, "bringup")?;
        let second = state_nodes(p);
        self.check_orphans(emulator, cycle, "second bringup", &second);
        for (node, id) in &first {
            match second.get(node) {
                Some(again) if again == id => {}
                other => self.replacements.push(format!(
                    "cycle {cycle}: {node} was {id} after the first bringup, {other:?} after the second"
                )),
            }
        }

        self.run_step(p, cycle, "destroy")?;
        self.check_duplicates(emulator, cycle, &known_before);
        self.check_destroyed(emulator, cycle);
        self.cycles_completed += 1;
        Ok(())
    }

    fn summary(&self) -> String {
        format!(
            "{} orphans, {} duplicates, {} replacements, {} lost, {} step retries",
            self.orphans.len(),
            self.duplicates.len(),
            self.replacements.len(),
            self.lost.len(),
            self.step_retries
        )
    }

    /// Runs a workflow command until it succeeds, as a user would after a failure.
    fn run_step(&mut self, p: &Project, cycle: usize, step: &str) -> Result<(), String> {
        for attempt in 1..=ATTEMPTS_PER_STEP {
            let out = p.run(&[step]);
            if out.status.success() {
                return Ok(());
            }
            println!(
                "soak: cycle {cycle}: {step} attempt {attempt} failed under the faults:\n{}",
                text(&out)
            );
            self.step_retries += 1;
        }
        Err(format!(
            "cycle {cycle}: {step} failed {ATTEMPTS_PER_STEP} times in a row (the soak stopped there)"
        ))
    }

    fn check_nodes_complete(
        &mut self,
        cycle: usize,
        step: &str,
        state: &BTreeMap<String, String>,
        nodes: usize,
    ) {
        for node in (0..nodes).map(|i| format!("kdevops-{i}")) {
            if !state.contains_key(&node) {
                self.lost.push(format!(
                    "cycle {cycle}: {node} is not in the Terraform state after a successful {step}"
                ));
            }
        }
    }

    /// Live instances the Terraform state does not hold are billed and unmanaged.
    fn check_orphans(
        &mut self,
        emulator: &FaultyEmulator,
        cycle: usize,
        step: &str,
        state: &BTreeMap<String, String>,
    ) {
        let managed: BTreeSet<&String> = state.values().collect();
        for (id, record) in emulator.instances() {
            if is_live(&record) && !managed.contains(&id) {
                self.orphans.push(format!(
                    "cycle {cycle}, after {step}: live instance {id} ({}) is not in the Terraform state",
                    record["hostname"]
                ));
            }
        }
    }

    /// Every node gets exactly one instance per cycle: more is a duplicate, whether or
    /// not it was deleted later.
    fn check_duplicates(
        &mut self,
        emulator: &FaultyEmulator,
        cycle: usize,
        known_before: &BTreeSet<String>,
    ) {
        let mut made: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (id, record) in emulator.instances() {
            if !known_before.contains(&id) {
                let host = record["hostname"].as_str().unwrap_or("?").to_owned();
                made.entry(host).or_default().push(id);
            }
        }
        for (host, ids) in made.into_iter().filter(|(_, ids)| ids.len() > 1) {
            self.duplicates.push(format!(
                "cycle {cycle}: {host} got {} instances: {}",
                ids.len(),
                ids.join(", ")
            ));
        }
    }

    /// After destroy nothing may be left: instances, ssh keys, startup scripts, volumes.
    fn check_destroyed(&mut self, emulator: &FaultyEmulator, cycle: usize) {
        let state = emulator.admin_get("/admin/state");
        let left = |what: &str, items: Vec<&Value>| -> Option<String> {
            (!items.is_empty()).then(|| {
                format!(
                    "cycle {cycle}, after destroy: {} {what} left: {}",
                    items.len(),
                    items
                        .iter()
                        .map(|v| v["id"].as_str().unwrap_or("?"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
        };
        let list = |key: &str| state[key].as_array().cloned().unwrap_or_default();
        let instances = list("instances");
        let keys = list("ssh_keys");
        let scripts = list("scripts");
        let volumes = list("volumes");
        let found = [
            left(
                "instances",
                instances.iter().filter(|i| is_live(i)).collect(),
            ),
            left("ssh keys", keys.iter().collect()),
            left("startup scripts", scripts.iter().collect()),
            left(
                "volumes",
                volumes
                    .iter()
                    .filter(|v| v["status"] != "deleted")
                    .collect(),
            ),
        ];
        self.orphans.extend(found.into_iter().flatten());
    }
}

/// Not deleted (a `discontinued` instance no longer bills).
fn is_live(record: &Value) -> bool {
    record["deleted_at"].is_null() && record["status"] != "discontinued"
}

/// node name → instance id, from the project's Terraform state.
fn state_nodes(p: &Project) -> BTreeMap<String, String> {
    let path = p.dir().join("terraform/datacrunch/terraform.tfstate");
    let Ok(raw) = std::fs::read_to_string(&path) else {
        return BTreeMap::new();
    };
    let state: Value = serde_json::from_str(&raw)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    let mut nodes = BTreeMap::new();
    for resource in state["resources"].as_array().into_iter().flatten() {
        if resource["type"] != "datacrunch_instance" || resource["mode"] != "managed" {
            continue;
        }
        for instance in resource["instances"].as_array().into_iter().flatten() {
            if let (Some(node), Some(id)) = (
                instance["index_key"].as_str(),
                instance["attributes"]["id"].as_str(),
            ) {
                nodes.insert(node.to_owned(), id.to_owned());
            }
        }
    }
    nodes
}

/// Points the project at the faulty emulator as a custom API URL: the workflow then
/// treats it as a real service (it neither starts nor stops it), so one emulator, its
/// records and its fault counters span every cycle.
fn point_project_at(p: &Project, emulator: &FaultyEmulator, nodes: usize) {
    p.defconfig("emulator-3-nodes");
    let credentials = p.home.path().join("soak-credentials");
    std::fs::write(
        &credentials,
        format!(
            "[default]\nclient_id = {}\nclient_secret = {}\n",
            CLIENT_ID, CLIENT_SECRET
        ),
    )
    .unwrap();
    std::fs::set_permissions(&credentials, std::fs::Permissions::from_mode(0o600)).unwrap();
    p.set(&format!(
        "TERRAFORM_DATACRUNCH_API_URL=\"{}/v1\"",
        emulator.base
    ));
    p.set(&format!(
        "TERRAFORM_DATACRUNCH_API_KEY_FILE=\"{}\"",
        credentials.display()
    ));
    p.set(&format!("KDEVOPS_NODE_COUNT={nodes}"));
}

/// The API client credentials the emulator is started with.
const CLIENT_ID: &str = "soak-client";
const CLIENT_SECRET: &str = "soak-secret";

/// An emulator process started by this test with the soak's faults on every endpoint
/// (the admin API is never faulted), stopped when dropped.
struct FaultyEmulator {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl FaultyEmulator {
    fn start(seed: u64, nodes: usize) -> FaultyEmulator {
        let binary = workspace_bin("datacrunch-emulator", "datacrunch-emulator");
        let dir = tempfile::Builder::new()
            .prefix("soak-emulator")
            .tempdir()
            .unwrap();
        let port_file = dir.path().join("port");
        // Room for every node twice over in one location, so a duplicate shows up as a
        // duplicate rather than as a fallback to another location.
        let capacity = (2 * nodes).max(20);
        let child = Command::new(&binary)
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--port-file")
            .arg(&port_file)
            .args(["--client-id", CLIENT_ID])
            .env("DATACRUNCH_EMULATOR_CLIENT_SECRET", CLIENT_SECRET)
            .env_remove("DATACRUNCH_EMULATOR_CLIENT_SECRET_FILE")
            .arg("--capacity")
            .arg(capacity.to_string())
            .arg("--balance")
            .arg("1000000")
            .arg("--fault")
            .arg(FAULTS)
            .arg("--fault-seed")
            .arg(seed.to_string())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        // Owned before waiting, so a start that fails still stops the process.
        let mut emulator = FaultyEmulator {
            child,
            base: String::new(),
            _dir: dir,
        };
        let port = wait_for_port(&port_file);
        emulator.base = format!("http://127.0.0.1:{port}");
        emulator
    }

    fn admin_get(&self, path: &str) -> Value {
        let (status, body) = http(&self.base, "GET", path, None);
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
    }

    /// Every instance ever deployed, deleted ones included, by id.
    fn instances(&self) -> BTreeMap<String, Value> {
        let all = self.admin_get("/admin/instances");
        all.as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| Some((i["id"].as_str()?.to_owned(), i.clone())))
            .collect()
    }

    fn injected_faults(&self) -> Value {
        self.admin_get("/admin/faults/injected")
    }

    /// Requests made to the API, all endpoints together.
    fn requests(&self) -> u64 {
        let counters = self.admin_get("/admin/counters");
        counters
            .as_object()
            .map(|c| c.values().filter_map(Value::as_u64).sum())
            .unwrap_or(0)
    }
}

impl Drop for FaultyEmulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The port the emulator writes once it listens.
fn wait_for_port(file: &Path) -> u16 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(port) = std::fs::read_to_string(file)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            return port;
        }
        assert!(
            Instant::now() < deadline,
            "the emulator wrote no port to {}",
            file.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
