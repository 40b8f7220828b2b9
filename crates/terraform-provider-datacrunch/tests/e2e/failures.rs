//! Failure runs: injected faults, failed polls, capacity lost after the deploy was
//! accepted, a create timeout, the API dying mid-apply, deploys whose answers are lost,
//! and a Terraform killed mid-apply. A create that fails after the deploy keeps its
//! instance in state, tainted, for the next apply to replace or destroy to delete. After
//! each, Terraform's state is compared with what the emulator holds: no duplicate, no
//! orphan, nothing left billing.

use datacrunch_emulator::{FaultRule, Timing};
use std::collections::BTreeSet;
use std::time::Duration;
use test_support::datacrunch::*;
use test_support::process::wait_until;

fn nodes(n: usize, prefix: &str) -> Vec<String> {
    (1..=n).map(|i| format!("{prefix}-{i}")).collect()
}

fn fleet(hostnames: &[String], location: &str) -> String {
    let set = hostnames
        .iter()
        .map(|h| format!("\"{h}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        r#"
provider "datacrunch" {{
  poll_interval = "100ms"
}}

resource "datacrunch_instance" "n" {{
  for_each      = toset([{set}])
  hostname      = each.key
  description   = "failure run ${{each.key}}"
  image         = "ubuntu-24.04-cuda-12.8-open-docker"
  instance_type = "1H100.80S.30V"
  location_code = "{location}"
  ssh_key_ids   = []
}}
"#
    )
}

/// State and emulator agree: every managed instance is live, every live instance is
/// managed, one per hostname.
fn assert_state_matches_emulator(
    ws: &EmulatedWorkspace,
    emu: &datacrunch_emulator::RunningEmulator,
    hostnames: &[String],
) {
    let live = live_instances(emu);
    let live_hosts: Vec<&str> = live
        .iter()
        .map(|i| i["hostname"].as_str().unwrap())
        .collect();
    let unique: BTreeSet<&str> = live_hosts.iter().copied().collect();
    assert_eq!(
        live_hosts.len(),
        unique.len(),
        "duplicate instances: {live_hosts:?}"
    );
    assert_eq!(
        unique,
        hostnames
            .iter()
            .map(String::as_str)
            .collect::<BTreeSet<_>>(),
        "live instances differ from the configuration"
    );
    let state_ids: BTreeSet<String> = ws
        .resources()
        .iter()
        .filter(|r| r["type"] == "datacrunch_instance")
        .map(|r| r["values"]["id"].as_str().unwrap().to_owned())
        .collect();
    let live_ids: BTreeSet<String> = live
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(state_ids, live_ids, "state and emulator disagree");
}

#[test]
fn twenty_percent_faults_while_applying_ten_instances() {
    let emu = emulator_with(|b| {
        b.fault(
            "*",
            FaultRule {
                rate_429: 0.07,
                rate_500: 0.07,
                drop_rate: 0.06,
                retry_after_secs: Some(0),
                ..Default::default()
            },
        )
        .fault_seed(7)
    });
    let hosts = nodes(10, "faulty");
    let ws = EmulatedWorkspace::new(&terraform(), &emu);
    ws.write(&fleet(&hosts, "FIN-03"));
    ws.init();
    ws.apply();
    assert_state_matches_emulator(&ws, &emu, &hosts);
    let counters = emu.admin.counters();
    eprintln!("requests under faults: {counters:?}");
    ws.assert_no_changes();
    ws.destroy();
    assert!(
        live_instances(&emu).is_empty(),
        "left after destroy: {:#?}",
        live_instances(&emu)
    );
}

/// The instances in state, each as `(id, status, tainted)`.
fn instances_in_state(ws: &EmulatedWorkspace) -> Vec<(String, String, bool)> {
    ws.resources()
        .iter()
        .filter(|r| r["type"] == "datacrunch_instance")
        .map(|r| {
            (
                r["values"]["id"].as_str().unwrap().to_owned(),
                r["values"]["status"].as_str().unwrap_or("null").to_owned(),
                r["tainted"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

fn live_ids(emu: &datacrunch_emulator::RunningEmulator) -> BTreeSet<String> {
    live_instances(emu)
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn capacity_lost_after_the_deploy_keeps_the_instances_tainted_until_replaced() {
    let emu = emulator();
    emu.admin
        .set_late_no_capacity("1H100.80S.30V", "FIN-01", true);
    let hosts = nodes(2, "late");
    let ws = EmulatedWorkspace::new(&terraform(), &emu);
    ws.write(&fleet(&hosts, "FIN-01"));
    ws.init();
    let text = flat(&ws.fails(&["apply", "-auto-approve", "-input=false", "-no-color"]));
    assert!(text.contains("no_capacity"), "{text}");
    assert!(text.contains("ran out of capacity"), "{text}");
    assert!(text.contains("datacrunch_offer"), "{text}");
    assert!(text.contains("marked tainted"), "{text}");
    // Both failed instances are in state, tainted, as last seen: nothing is unknown to
    // Terraform, and state and emulator hold the same ids.
    let failed = instances_in_state(&ws);
    assert_eq!(failed.len(), 2, "{failed:?}");
    for (_, status, tainted) in &failed {
        assert_eq!(status, "no_capacity");
        assert!(tainted, "{failed:?}");
    }
    let failed_ids: BTreeSet<String> = failed.iter().map(|f| f.0.clone()).collect();
    assert_eq!(failed_ids, live_ids(&emu), "state and emulator disagree");
    // Capacity back: the next apply replaces both, leaving exactly the configuration.
    emu.admin
        .set_late_no_capacity("1H100.80S.30V", "FIN-01", false);
    ws.apply();
    assert_state_matches_emulator(&ws, &emu, &hosts);
    for (id, status, tainted) in instances_in_state(&ws) {
        assert!(!failed_ids.contains(&id), "a failed instance was kept");
        assert_eq!((status.as_str(), tainted), ("running", false));
    }
    ws.assert_no_changes();
    ws.destroy();
    assert!(live_instances(&emu).is_empty());
}

/// Pids of processes running `binary` (the provider copy of one workspace).
fn processes_running(binary: &std::path::Path) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe.starts_with(binary))
        })
        .collect()
}

/// SIGKILL for a running `terraform` and for the provider it started (which lost its
/// parent and is ours to stop: it runs the binary copied into this workspace).
pub(crate) fn kill_terraform_and_its_provider(
    ws: &EmulatedWorkspace,
    child: &mut std::process::Child,
) {
    child.kill().unwrap();
    child.wait().unwrap();
    let mirror = ws.root().join("mirror");
    for pid in processes_running(&mirror) {
        // bash's builtin kill: no procps needed on a fresh machine.
        let _ = std::process::Command::new("bash")
            .args(["-c", &format!("kill -9 {pid}")])
            .status();
    }
}

/// Starts `terraform apply` in the background and returns once `deploys` deploy
/// requests reached the emulator.
fn apply_until_deployed(
    ws: &EmulatedWorkspace,
    emu: &datacrunch_emulator::RunningEmulator,
    deploys: u64,
) -> std::process::Child {
    let child = ws
        .command(&["apply", "-auto-approve", "-input=false", "-no-color"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for_deploys(emu, deploys);
    child
}

fn wait_for_deploys(emu: &datacrunch_emulator::RunningEmulator, deploys: u64) {
    wait_until(
        Duration::from_secs(60),
        || emu.admin.count("POST /v1/instances") >= deploys,
        || format!("{deploys} deploys never happened"),
    );
}

#[test]
fn terraform_killed_mid_apply_then_rerun_adopts_without_duplicates() {
    let emu = emulator_with(|b| b.provisioning_time(Duration::from_secs(6)));
    let hosts = nodes(3, "killed");
    let ws = EmulatedWorkspace::new(&terraform(), &emu);
    ws.write(&fleet(&hosts, "FIN-03"));
    ws.init();
    // Kill Terraform once every deploy went out, while the instances provision.
    let mut child = apply_until_deployed(&ws, &emu, 3);
    kill_terraform_and_its_provider(&ws, &mut child);
    assert_eq!(live_instances(&emu).len(), 3, "the deploys happened");

    // Re-run (the killed run left its state lock behind).
    ws.ok(&[
        "apply",
        "-auto-approve",
        "-input=false",
        "-no-color",
        "-lock=false",
    ]);
    assert_eq!(
        emu.admin.count("POST /v1/instances"),
        3,
        "a deploy was repeated"
    );
    assert_state_matches_emulator(&ws, &emu, &hosts);
    ws.assert_no_changes();
    ws.destroy();
    assert!(live_instances(&emu).is_empty());
}

#[test]
fn create_timeout_keeps_the_instance_tainted_and_destroy_deletes_it() {
    // Provisioning outlasts the create timeout; the destroy that follows first meets
    // "Can't discontinue a provisioning instance" and must retry until it is accepted.
    let emu = emulator_with(|b| b.provisioning_time(Duration::from_secs(4)));
    let ws = EmulatedWorkspace::new(&terraform(), &emu);
    ws.write(&fleet(&nodes(1, "slow"), "FIN-03").replace(
        "  ssh_key_ids   = []\n",
        "  ssh_key_ids   = []\n  timeouts {\n    create = \"1s\"\n  }\n",
    ));
    ws.init();
    let text = flat(&ws.fails(&["apply", "-auto-approve", "-input=false", "-no-color"]));
    assert!(text.contains("Instance did not become ready"), "{text}");
    assert!(text.contains("timed out"), "{text}");
    assert!(text.contains("raise timeouts.create"), "{text}");
    let in_state = instances_in_state(&ws);
    assert_eq!(in_state.len(), 1, "{in_state:?}");
    let (id, status, tainted) = &in_state[0];
    assert!(tainted, "{in_state:?}");
    assert!(
        ["ordered", "provisioning"].contains(&status.as_str()),
        "{in_state:?}"
    );
    assert_eq!(live_ids(&emu), BTreeSet::from([id.clone()]));
    // The id is in state: destroy deletes the instance, nothing is left.
    ws.destroy();
    assert!(
        live_instances(&emu).is_empty(),
        "{:#?}",
        live_instances(&emu)
    );
    assert!(ws.resources().is_empty());
}

#[test]
fn failed_leftover_of_a_killed_apply_is_deleted_not_adopted() {
    // The deploy is accepted, Terraform and the provider die, then the instance ends in
    // no_capacity: a billed-or-broken leftover carrying this configuration's token.
    let emu = emulator_with(|b| {
        b.timing(Timing {
            ordered: Duration::from_secs(2),
            ..Timing::fast()
        })
    });
    emu.admin
        .set_late_no_capacity("1H100.80S.30V", "FIN-03", true);
    let hosts = nodes(1, "leftover");
    let ws = EmulatedWorkspace::new(&terraform(), &emu);
    ws.write(&fleet(&hosts, "FIN-03"));
    ws.init();
    let mut child = apply_until_deployed(&ws, &emu, 1);
    kill_terraform_and_its_provider(&ws, &mut child);
    emu.admin.advance_clock(Duration::from_secs(3));
    let live = live_instances(&emu);
    assert_eq!(live.len(), 1);
    assert_eq!(live[0]["status"], "no_capacity", "{live:#?}");
    let leftover = live[0]["id"].clone();

    emu.admin
        .set_late_no_capacity("1H100.80S.30V", "FIN-03", false);
    ws.ok(&[
        "apply",
        "-auto-approve",
        "-input=false",
        "-no-color",
        "-lock=false",
    ]);
    assert_state_matches_emulator(&ws, &emu, &hosts);
    let now = live_instances(&emu);
    assert_ne!(now[0]["id"], leftover, "the failed leftover was adopted");
    assert_eq!(now[0]["status"], "running");
    ws.destroy();
    assert!(live_instances(&emu).is_empty());
}

#[test]
fn interrupted_apply_returns_with_the_instance_tainted_in_state() {
    // Provisioning would take minutes: Ctrl-C (StopProvider) must end the wait at once,
    // without deleting anything, and leave the instance in state for destroy.
    let emu = emulator_with(|b| b.provisioning_time(Duration::from_secs(600)));
    let ws = EmulatedWorkspace::new(&terraform(), &emu);
    ws.write(&fleet(&nodes(1, "interrupted"), "FIN-03"));
    ws.init();
    let child = ws
        .command(&["apply", "-auto-approve", "-input=false", "-no-color"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_deploys(&emu, 1);
    // Let the first poll see the instance, then interrupt like Ctrl-C.
    std::thread::sleep(Duration::from_millis(500));
    let interrupted = std::process::Command::new("bash")
        .args(["-c", &format!("kill -INT {}", child.id())])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let out = child.wait_with_output().unwrap();
    let text = flat(&format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ));
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("cancelled while waiting"), "{text}");
    let in_state = instances_in_state(&ws);
    assert_eq!(in_state.len(), 1, "{in_state:?}\n{text}");
    assert!(in_state[0].2, "not tainted: {in_state:?}");
    assert_eq!(live_ids(&emu), BTreeSet::from([in_state[0].0.clone()]));
    // Destroy deletes it once it can be deleted (provisioning refuses a delete).
    emu.admin.advance_clock(Duration::from_secs(600));
    ws.destroy();
    assert!(live_instances(&emu).is_empty());
}

/// Starts `terraform apply` in its own process group and returns once `deploys` deploy
/// requests reached the emulator and the provider has polled them at least once.
fn apply_until_polling(
    ws: &EmulatedWorkspace,
    emu: &datacrunch_emulator::RunningEmulator,
    deploys: u64,
) -> std::process::Child {
    let child = ws.spawn(&["apply", "-auto-approve", "-input=false", "-no-color"]);
    wait_for_deploys(emu, deploys);
    let listed = emu.admin.count("GET /v1/instances");
    wait_until(
        Duration::from_secs(60),
        || emu.admin.count("GET /v1/instances") > listed,
        || "no poll".into(),
    );
    child
}

#[test]
fn failed_polls_while_waiting_never_taint_a_created_instance() {
    // Every poll answered 503 (and then every connection reset) for a while after the
    // deploys were accepted: the waits keep polling, and once the API answers again
    // the instances are running and clean in state.
    let emu = emulator_with(|b| b.provisioning_time(Duration::from_secs(3)));
    let hosts = nodes(2, "polled");
    let ws = EmulatedWorkspace::new(&terraform(), &emu);
    ws.write(&fleet(&hosts, "FIN-03"));
    ws.init();
    let child = apply_until_polling(&ws, &emu, 2);
    for rule in [
        FaultRule {
            rate_503: 1.0,
            ..Default::default()
        },
        FaultRule {
            drop_rate: 1.0,
            ..Default::default()
        },
    ] {
        let before = emu.admin.count("GET /v1/instances");
        emu.admin.set_fault("GET /v1/instances", rule).unwrap();
        wait_until(
            Duration::from_secs(60),
            || emu.admin.count("GET /v1/instances") >= before + 2,
            || "no failed poll".into(),
        );
    }
    emu.admin.clear_faults();
    let out = test_support::process::wait_with_timeout(
        child,
        "terraform apply".into(),
        Duration::from_secs(180),
    );
    out.assert_success();
    for (_, status, tainted) in instances_in_state(&ws) {
        assert_eq!((status.as_str(), tainted), ("running", false));
    }
    assert_state_matches_emulator(&ws, &emu, &hosts);
    ws.destroy();
    assert!(live_instances(&emu).is_empty());
}

#[test]
fn api_dying_mid_apply_ends_the_apply_naming_the_url_and_keeps_the_instances() {
    // The emulator is stopped while the provider waits for three instances it just
    // created: the apply must end on its own (not after the 20-minute create timeout)
    // with the API's address in the error, and every created instance in state, so
    // that a destroy against the API once it is back deletes them.
    let dir = tempfile::tempdir().unwrap();
    let state_file = dir.path().join("emulator.db");
    let emu = emulator_with(|b| {
        b.state_file(&state_file)
            .provisioning_time(Duration::from_secs(600))
    });
    let url = emu.base_url.clone();
    let hosts = nodes(3, "orphan");
    let mut ws = EmulatedWorkspace::new(&terraform(), &emu);
    ws.write(&fleet(&hosts, "FIN-03"));
    ws.init();
    let child = apply_until_polling(&ws, &emu, 3);
    emu.shutdown_blocking();
    // Well beyond "about a minute", far below the create timeout.
    let out = test_support::process::wait_with_timeout(
        child,
        "terraform apply".into(),
        Duration::from_secs(150),
    );
    out.assert_failure();
    let text = flat(&out.combined());
    assert!(
        text.contains("lost contact with the DataCrunch API"),
        "{text}"
    );
    assert!(text.contains(&url), "{text}");
    let kept = instances_in_state(&ws);
    assert_eq!(kept.len(), 3, "{kept:?}\n{text}");

    // The API is back (same data): destroy deletes every instance the apply created.
    let back = emulator_with(|b| b.state_file(&state_file));
    let kept_ids: BTreeSet<String> = kept.iter().map(|k| k.0.clone()).collect();
    assert_eq!(live_ids(&back), kept_ids);
    back.admin.advance_clock(Duration::from_secs(600));
    ws.set_env("DATACRUNCH_SERVER_URL", &back.base_url);
    ws.destroy();
    assert!(live_instances(&back).is_empty());
}

#[test]
fn lost_deploy_answers_never_make_a_second_instance() {
    // Half the deploys take effect and lose their answer (the connection is reset): the
    // provider cannot know they worked. Sending such a deploy again would leave a second,
    // billed machine that Terraform does not know about; the apply must instead find the
    // instance the lost deploy made. Every instance ever deployed (deleted ones too)
    // is counted, so a duplicate cleaned up later still shows.
    let emu = emulator_with(|b| {
        b.fault(
            "POST /v1/instances",
            FaultRule {
                lost_answer_rate: 0.5,
                ..Default::default()
            },
        )
        .fault_seed(11)
    });
    let hosts = nodes(3, "lost");
    let ws = EmulatedWorkspace::new(&terraform(), &emu);
    ws.write(&fleet(&hosts, "FIN-03"));
    ws.init();
    ws.apply();
    let lost = emu.admin.injected_faults().get("lost_answer").copied();
    assert!(
        lost.unwrap_or(0) >= 1,
        "the seed no longer loses a deploy answer"
    );
    let deployed: Vec<String> = emu
        .admin
        .instances()
        .iter()
        .map(|i| i["hostname"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(deployed.len(), 3, "{lost:?} lost answers: {deployed:?}");
    assert_state_matches_emulator(&ws, &emu, &hosts);
    ws.assert_no_changes();
    ws.destroy();
    assert!(live_instances(&emu).is_empty());
}
