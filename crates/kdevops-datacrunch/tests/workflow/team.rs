//! Team state on PostgreSQL end to end: a real PostgreSQL (Debian `postgresql`, run as
//! an unprivileged user on a private socket directory in a temp dir), one shared
//! emulator reached through the custom URL option, and checkouts of the team started at
//! once on a fresh database; every locking Terraform command says when it waits.

mod support;

use std::time::Duration;

use rustix::process::Signal;
use test_support::process::wait_until;

use crate::common::{http, text, Project};
use support::{checkout, process_tree, signal_all, Stopped, Team};

#[test]
fn two_checkouts_share_one_fleet_and_bring_it_up_at_once() {
    let Some(team) = Team::start() else { return };
    let Team { pg, emu, creds, .. } = &team;
    let a = checkout(&emu.url(), creds);
    // One checkout names the database in .config, the other through PG_CONN_STR.
    a.set(&format!(
        "TERRAFORM_DATACRUNCH_STATE_PG_CONN_STR=\"{}\"",
        pg.conn_str()
    ));
    let b = checkout(&emu.url(), creds);
    let with_env = |p: &Project, args: &[&str]| {
        let mut cmd = p.command(args);
        cmd.env("PG_CONN_STR", pg.conn_str());
        cmd
    };

    // Both first bringups at once, on a database with no schema yet.
    let first = a.command(&["bringup"]).spawn().unwrap();
    let second = with_env(&b, &["bringup"]).output().unwrap();
    let first = first.wait_with_output().unwrap();
    assert!(first.status.success(), "A: {}", text(&first));
    assert!(second.status.success(), "B: {}", text(&second));
    let live = emu.live();
    assert_eq!(live.len(), 2, "exactly the configured nodes: {live:#?}");
    assert_eq!(emu.ssh_keys(), 1, "one team key");
    assert!(!a
        .dir()
        .join("terraform/datacrunch/terraform.tfstate")
        .exists());

    // B sees what A made; a second bringup from B changes nothing.
    let out = with_env(&b, &["status", "--json"]).output().unwrap();
    let nodes: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(nodes.len(), 2, "{}", text(&out));
    let again = with_env(&b, &["bringup"]).output().unwrap();
    assert!(again.status.success(), "{}", text(&again));
    let ids: Vec<_> = emu.live().iter().map(|i| i["id"].clone()).collect();
    assert_eq!(
        ids,
        live.iter().map(|i| i["id"].clone()).collect::<Vec<_>>()
    );

    // A lock held by a process that is then killed: bringup waits, naming the holder,
    // and goes on once the database drops the dead session's lock.
    let holder = pg.hold_state_lock();
    let log_dir = tempfile::tempdir().unwrap();
    let log = log_dir.path().join("stderr");
    let mut waiting = with_env(&b, &["bringup"])
        .stderr(std::fs::File::create(&log).unwrap())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let said = || std::fs::read_to_string(&log).unwrap_or_default();
    wait_until(
        Duration::from_secs(120),
        || said().contains("waiting for the state lock held by psql (database session"),
        || format!("the wait naming the holder: {}", said()),
    );
    drop(holder);
    let status = waiting.wait().unwrap();
    assert!(status.success(), "{}", said());
    assert_eq!(emu.live().len(), 2);

    // A destroy from B removes them all, A's view included.
    let out = with_env(&b, &["destroy"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(emu.live().is_empty());
    assert!(a.status().is_empty());
}

#[test]
fn a_database_that_is_down_is_named_and_nothing_is_created() {
    // The database is not used: a PostgreSQL that can start proves the test can run.
    let Some(team) = Team::start() else { return };
    let (emu, creds) = (&team.emu, &team.creds);
    let p = checkout(&emu.url(), creds);
    let nowhere = tempfile::tempdir().unwrap();
    let conn = format!(
        "host={} port=5999 user=postgres password=hunter2 dbname=postgres sslmode=disable",
        nowhere.path().display()
    );
    p.set(&format!(
        "TERRAFORM_DATACRUNCH_STATE_PG_CONN_STR=\"{conn}\""
    ));
    let err = p.fails(&["bringup"]);
    assert!(
        err.contains(&format!(
            "cannot use the Terraform state in PostgreSQL host={}",
            nowhere.path().display()
        )) && err.contains("nothing was created")
            && !err.contains("hunter2"),
        "{err}"
    );
    assert!(emu.live().is_empty());

    // No connection string at all: the options to set are named.
    let q = checkout(&emu.url(), creds);
    let out = q
        .command(&["bringup"])
        .env_remove("PG_CONN_STR")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = text(&out);
    assert!(
        err.contains("CONFIG_TERRAFORM_DATACRUNCH_STATE_PG_CONN_STR")
            && err.contains("PG_CONN_STR"),
        "{err}"
    );
}

#[test]
fn a_stopped_holder_of_the_state_lock_is_named_with_the_session_to_end() {
    let Some(team) = Team::start() else { return };
    let Team { pg, emu, creds, .. } = &team;
    let conn = format!(
        "TERRAFORM_DATACRUNCH_STATE_PG_CONN_STR=\"{}\"",
        pg.conn_str()
    );
    let (a, b) = (checkout(&emu.url(), creds), checkout(&emu.url(), creds));
    a.set(&conn);
    b.set(&conn);
    a.ok(&["bringup"]);
    let ids: Vec<_> = emu.live().iter().map(|i| i["id"].clone()).collect();
    assert_eq!(ids.len(), 2);

    // A's next bringup reads each node slowly (the plan's refresh holds the lock
    // meanwhile) and is stopped, Terraform included, while its run holds the lock: a
    // stopped process keeps its database session, and so the lock, for good.
    let slow = r#"{"endpoint": "GET /v1/instances/{id}", "latency_ms": 10000}"#;
    let (status, body) = http(&emu.base, "PUT", "/admin/faults", Some(slow));
    assert!(status < 300, "{status} {body}");
    let mut holder = Stopped {
        child: a
            .command(&["bringup"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
        tree: Vec::new(),
    };
    let holder_pid = holder.child.id();
    wait_until(
        Duration::from_secs(180),
        || {
            if !pg.lock_held_by(holder_pid) {
                return false;
            }
            holder.tree = process_tree(holder_pid);
            signal_all(&holder.tree, Signal::STOP);
            if pg.lock_held_by(holder_pid) {
                return true;
            }
            // Stopped just after its run let go: let it take the lock again.
            signal_all(&holder.tree, Signal::CONT);
            holder.tree.clear();
            false
        },
        || "A's bringup to hold the state lock".to_owned(),
    );
    let (status, body) = http(&emu.base, "DELETE", "/admin/faults", None);
    assert!(status < 300, "{status} {body}");

    // B waits a bounded time, names A's run, and says which session to end.
    let out = b
        .command(&["bringup"])
        .env("KDEVOPS_LOCK_TIMEOUT", "3s")
        .output()
        .unwrap();
    let err = text(&out);
    assert!(!out.status.success(), "{err}");
    let named = "kdevops-datacrunch bringup ";
    let pid = format!(" pid {holder_pid} (database session ");
    assert!(
        err.contains(&format!("waiting for the state lock held by {named}"))
            && err.contains(&pid)
            && err.contains("(up to 3s, KDEVOPS_LOCK_TIMEOUT)")
            && err.contains("still held after 3s by kdevops-datacrunch bringup")
            && err.contains("force-unlock` cannot release it"),
        "{err}"
    );
    let session = err
        .split("SELECT pg_terminate_backend(")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .expect("the statement that ends the holder's session");
    assert!(err.contains(&format!("{pid}{session}")), "{err}");

    // The remedy works: B goes on and finds the fleet as it is.
    assert_eq!(
        pg.sql(&format!("SELECT pg_terminate_backend({session})")),
        "t"
    );
    b.ok(&["bringup"]);
    let after: Vec<_> = emu.live().iter().map(|i| i["id"].clone()).collect();
    assert_eq!(after, ids);

    drop(holder);

    // Past the default 8h TTL: a place with no .config lists the team's expired nodes
    // on the shared emulator (flags), and another checkout of the team reaps them with
    // what its .config names, as `make reap` runs it; the team state then has nothing
    // left to destroy.
    let (status, body) = http(
        &emu.base,
        "POST",
        "/admin/clock/advance",
        Some(r#"{"seconds": 32400}"#),
    );
    assert!(status < 300, "{status} {body}");
    let reap = |p: &Project, args: &[&str]| {
        let out = p.command(args).output().unwrap();
        assert!(out.status.success(), "{}", text(&out));
        serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout).unwrap()
    };
    let listed = reap(
        &Project::new(),
        &[
            "reap",
            "--dry-run",
            "--json",
            "--url",
            &emu.url(),
            "--profile",
            "default",
            "--credentials-file",
            creds.to_str().unwrap(),
        ],
    );
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(emu.live().len(), 2);
    let c = checkout(&emu.url(), creds);
    c.set(&conn);
    let reaped = reap(&c, &["reap", "--json"]);
    assert_eq!(reaped.len(), 2, "{reaped:?}");
    assert!(reaped.iter().all(|r| r["deleted"] == true));
    assert!(emu.live().is_empty());
    b.ok(&["destroy"]);
}

#[test]
fn a_lock_taken_after_the_probe_is_waited_for_visibly_by_the_plan() {
    let Some(team) = Team::start() else { return };
    let Team { pg, emu, creds, .. } = &team;
    let p = checkout(&emu.url(), creds);
    p.set(&format!(
        "TERRAFORM_DATACRUNCH_STATE_PG_CONN_STR=\"{}\"",
        pg.conn_str()
    ));
    p.ok(&["bringup"]);
    let ids: Vec<_> = emu.live().iter().map(|i| i["id"].clone()).collect();

    // The next bringup probes the lock (free), then asks the API's clock (GET
    // /v1/balance, made slow) before its plan: the lock is taken in that window, so the
    // plan, not the probe, is the one that finds it held.
    let slow = r#"{"endpoint": "GET /v1/balance", "latency_ms": 8000}"#;
    let (status, body) = http(&emu.base, "PUT", "/admin/faults", Some(slow));
    assert!(status < 300, "{status} {body}");
    let (status, body) = http(&emu.base, "DELETE", "/admin/counters", None);
    assert!(status < 300, "{status} {body}");
    let log_dir = tempfile::tempdir().unwrap();
    let log = log_dir.path().join("stderr");
    let mut run = p
        .command(&["bringup"])
        .stderr(std::fs::File::create(&log).unwrap())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let said = || std::fs::read_to_string(&log).unwrap_or_default();
    let asked_the_clock = || {
        let (_, body) = http(&emu.base, "GET", "/admin/counters", None);
        let counters: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        counters["GET /v1/balance"].as_u64().unwrap_or(0) > 0
    };
    wait_until(Duration::from_secs(120), asked_the_clock, || {
        format!("bringup to pass its lock probe: {}", said())
    });
    assert!(
        !said().contains("waiting for the state lock"),
        "the probe found the lock free: {}",
        said()
    );
    let holder = pg.hold_state_lock();
    wait_until(
        Duration::from_secs(120),
        || said().contains("waiting for the state lock held by psql (database session"),
        || format!("the plan's wait naming the holder: {}", said()),
    );
    let (status, body) = http(&emu.base, "DELETE", "/admin/faults", None);
    assert!(status < 300, "{status} {body}");
    drop(holder);
    let status = run.wait().unwrap();
    assert!(status.success(), "{}", said());
    let after: Vec<_> = emu.live().iter().map(|i| i["id"].clone()).collect();
    assert_eq!(after, ids, "the waiting bringup kept the nodes");
    p.ok(&["destroy"]);
}
