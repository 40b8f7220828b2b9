//! The whole loop on the emulator, with real Terraform: defconfig, bringup of 3 nodes,
//! status, ssh config and inventory, a second bringup that changes nothing, destroy that
//! leaves no instance, no ssh config and no emulator process. And ownership by project
//! identity: two trees with the same .config on one emulator, a moved tree.

use std::process::Command;

use crate::common::{alive, Project};

#[test]
fn bringup_status_rebringup_destroy() {
    let p = Project::new();
    p.defconfig("emulator-3-nodes");
    let out = p.ok(&["bringup"]);
    let hash = p.short_id();
    assert!(out.contains("Using the local emulator"), "{out}");
    // The emulator's secret is not on its command line, where every user sees it.
    let credentials = std::fs::read_to_string(p.dir().join(".local/emulator/credentials")).unwrap();
    let secret = credentials
        .lines()
        .find_map(|l| {
            l.split_once('=')
                .filter(|(k, _)| k.trim() == "client_secret")
        })
        .map(|(_, v)| v.trim().to_owned())
        .unwrap();
    let pid = p.emulator_pid().unwrap();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    assert!(
        !String::from_utf8_lossy(&cmdline).contains(&secret),
        "{}",
        String::from_utf8_lossy(&cmdline).replace('\0', " ")
    );
    for phase in [
        "terraform init: provider installed",
        "availability",
        "selected 1H100.80S.30V",
        "ready",
    ] {
        assert!(out.contains(phase), "missing phase {phase:?} in:\n{out}");
    }
    let nodes = p.status();
    let names: Vec<&str> = nodes.iter().map(|n| n["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["kdevops-0", "kdevops-1", "kdevops-2"]);
    for n in &nodes {
        assert_eq!(n["status"], "running");
        assert_eq!(n["instance_type"], "1H100.80S.30V");
        let ip = n["ip"].as_str().unwrap();
        assert!(ip.starts_with("127."), "{ip}");
        assert!(
            out.contains(&format!("{}\t{ip}", n["name"].as_str().unwrap())),
            "{out}"
        );
        assert!(n["price_per_hour"].as_f64().unwrap() > 0.0);
    }
    let table = p.ok(&["status"]);
    assert!(
        table.contains("SPENT") && table.contains("Total:"),
        "{table}"
    );

    // ssh config: one marked block per node, included from ~/.ssh/config.
    let ssh_dir = p.home_dir().join(".ssh");
    let per_project =
        std::fs::read_to_string(ssh_dir.join(format!("config_kdevops_{hash}"))).unwrap();
    for n in &nodes {
        let (name, ip) = (n["name"].as_str().unwrap(), n["ip"].as_str().unwrap());
        let block = format!(
            "# BEGIN host configuration for {name}\nHost {name} {ip}\n\tHostName {ip}\n\tUser root\n\tPort 22\n\tIdentityFile {}/kdevops_terraform_{hash}\n",
            ssh_dir.display()
        );
        assert!(
            per_project.contains(&block),
            "{block}\nnot in\n{per_project}"
        );
        assert!(per_project.contains(&format!("# END host configuration for {name}\n")));
    }
    assert!(per_project.contains("\tStrictHostKeyChecking no\n"));
    let main = std::fs::read_to_string(ssh_dir.join("config")).unwrap();
    assert!(main.starts_with("# BEGIN Managed by kdevops\nInclude ~/.ssh/config_kdevops_*\n# END Managed by kdevops\n"), "{main}");
    assert!(ssh_dir
        .join(format!("kdevops_terraform_{hash}.pub"))
        .is_file());
    let inventory = std::fs::read_to_string(p.dir().join("hosts")).unwrap();
    for n in &nodes {
        let line = format!(
            "{} ansible_host={}",
            n["name"].as_str().unwrap(),
            n["ip"].as_str().unwrap()
        );
        assert!(inventory.contains(&line), "{line} not in {inventory}");
    }
    // State is private.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(p.dir().join("terraform/datacrunch/terraform.tfstate"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "state mode {mode:o}");

    // The provider came from the project mirror with a real lock entry, no dev_overrides.
    let tfrc = std::fs::read_to_string(p.dir().join(".local/terraform/terraform.tfrc")).unwrap();
    assert!(
        tfrc.contains("filesystem_mirror") && !tfrc.contains("dev_overrides"),
        "{tfrc}"
    );
    let lock_path = p.dir().join("terraform/datacrunch/.terraform.lock.hcl");
    let lock = std::fs::read_to_string(&lock_path).unwrap();
    assert!(
        lock.contains("registry.terraform.io/linux-kdevops/datacrunch") && lock.contains("h1:"),
        "{lock}"
    );

    // What a second bringup will apply: nothing, not even no-op in-place updates.
    let (code, plan) = p.terraform_plan_exit_code();
    assert_eq!(
        code, 0,
        "a fresh bringup must leave nothing to change:\n{plan}"
    );

    // A provider binary that no longer matches the lock (as after a rebuild) is
    // reinstalled and init runs again instead of failing on the checksum.
    let mirror = p
        .dir()
        .join(".local/terraform/plugins/registry.terraform.io/linux-kdevops/datacrunch");
    let installed = walk_files(&mirror)
        .into_iter()
        .next()
        .expect("provider in the mirror");
    let mut bytes = std::fs::read(&installed).unwrap();
    bytes.extend_from_slice(b"rebuilt");
    std::fs::write(&installed, bytes).unwrap();

    // A second bringup keeps every node: same instances, nothing created or replaced.
    let again = p.ok(&["bringup"]);
    assert!(
        again.contains("terraform init: provider installed"),
        "changed provider must re-init:\n{again}"
    );
    for name in ["kdevops-0", "kdevops-1", "kdevops-2"] {
        assert!(
            again.contains(&format!("{name}: keep 1H100.80S.30V in FIN-01")),
            "{again}"
        );
    }
    assert!(!again.contains("create done"), "{again}");
    // And Terraform agrees there is nothing to do: no in-place no-op updates either.
    let (code, plan) = p.terraform_plan_exit_code();
    assert_eq!(
        code, 0,
        "a second bringup must leave nothing to change:\n{plan}"
    );
    let ids = |v: &[serde_json::Value]| {
        v.iter()
            .map(|n| n["id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&p.status()), ids(&nodes));

    let pid = p.emulator_pid().expect("emulator pid");
    assert!(alive(pid));
    let gone = p.ok(&["destroy"]);
    assert!(
        gone.contains("verified: no instance of this project remains"),
        "{gone}"
    );
    assert!(gone.contains("stopped the local emulator"), "{gone}");
    for _ in 0..50 {
        if !alive(pid) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(!alive(pid), "emulator {pid} still runs");
    assert!(!ssh_dir.join(format!("config_kdevops_{hash}")).exists());
    // It held nothing but our block (bringup created it): gone, not left empty.
    assert!(!ssh_dir.join("config").exists());
    assert!(!p.dir().join("hosts").exists());
    assert!(!p
        .dir()
        .join("terraform/datacrunch/terraform.tfstate")
        .exists());
    let status = p.ok(&["status"]);
    assert!(status.contains("No nodes"), "{status}");
}

fn ids(nodes: &[serde_json::Value]) -> Vec<String> {
    nodes
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Two clones of one user (same HOME) with the same .config on one emulator: each
/// brings up and destroys its own nodes and key, and sees the other's as foreign.
#[test]
fn two_trees_with_the_same_config_stay_apart() {
    let a = Project::new();
    a.defconfig("emulator-3-nodes");
    a.set("KDEVOPS_NODE_COUNT=2");
    a.ok(&["bringup"]);
    let a_nodes = ids(&a.status());
    assert_eq!(a_nodes.len(), 2);

    // The same .config, pointed at A's emulator (one API account for both).
    let b = Project::new().sharing_home_with(&a);
    std::fs::copy(a.dir().join(".config"), b.dir().join(".config")).unwrap();
    b.set(&format!(
        "TERRAFORM_DATACRUNCH_API_URL=\"{}/v1\"",
        a.emulator_base()
    ));
    b.set(&format!(
        "TERRAFORM_DATACRUNCH_API_KEY_FILE=\"{}\"",
        a.dir().join(".local/emulator/credentials").display()
    ));
    b.set("TERRAFORM_DATACRUNCH_API_KEY_PROFILE=\"emulator\"");
    let out = b.ok(&["bringup"]);
    assert!(!out.contains("adopting"), "{out}");
    let b_nodes = ids(&b.status());
    assert_eq!(b_nodes.len(), 2, "B has its own nodes");
    assert!(b_nodes.iter().all(|id| !a_nodes.contains(id)));
    assert_ne!(a.short_id(), b.short_id());

    // A names B's instances as foreign, not as its strays, and keeps its own.
    let status = a.ok(&["status"]);
    assert_eq!(status.matches("foreign: kdevops-").count(), 2, "{status}");
    assert!(!status.contains("stray:"), "{status}");
    assert!(
        status.contains(&format!("kdevops-project={}", b.project_id())),
        "{status}"
    );
    assert_eq!(ids(&a.status()), a_nodes);

    // B's destroy takes only B's: A's nodes and key are untouched.
    b.ok(&["destroy"]);
    assert_eq!(ids(&a.status()), a_nodes);
    let (code, plan) = a.terraform_plan_exit_code();
    assert_eq!(code, 0, "B's destroy changed A:\n{plan}");
    let (_, keys) = a.api("GET", "/sshkeys", None);
    let keys: Vec<serde_json::Value> = serde_json::from_str(&keys).unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(
        keys[0]["name"],
        format!("kdevops-datacrunch-{}", a.short_id())
    );
    a.ok(&["destroy"]);
}

/// `mv` of a tree with running nodes: bringup keeps them (re-initialising Terraform,
/// whose provider link pointed into the old path), the ssh config keeps its name, and
/// after the state is lost the moved tree still finds and deletes its strays.
/// Meanwhile the user's `~/.ssh/config`, a link into a dotfile repository with CRLF
/// line endings and mode 0644, stays a link, keeps its endings and mode, and gets its
/// exact text back at the end.
#[test]
fn a_moved_tree_keeps_its_nodes_and_finds_its_strays() {
    use std::os::unix::fs::PermissionsExt;
    let mut p = Project::new();
    p.defconfig("emulator-3-nodes");
    p.set("KDEVOPS_NODE_COUNT=2");
    let dotfile = p.home_dir().join("dotfiles/ssh_config");
    std::fs::create_dir_all(dotfile.parent().unwrap()).unwrap();
    let user_text = "Host *\r\n\tServerAliveInterval 30\r\n";
    std::fs::write(&dotfile, user_text).unwrap();
    std::fs::set_permissions(&dotfile, std::fs::Permissions::from_mode(0o644)).unwrap();
    let main_config = p.home_dir().join(".ssh/config");
    std::fs::create_dir_all(main_config.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink("../dotfiles/ssh_config", &main_config).unwrap();
    p.ok(&["bringup"]);
    assert!(std::fs::symlink_metadata(&main_config)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        std::fs::read_to_string(&dotfile).unwrap(),
        format!("# BEGIN Managed by kdevops\r\nInclude ~/.ssh/config_kdevops_*\r\n# END Managed by kdevops\r\n{user_text}")
    );
    let mode = std::fs::metadata(&dotfile).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o644);
    let before = ids(&p.status());
    let ssh_config = p
        .home_dir()
        .join(format!(".ssh/config_kdevops_{}", p.short_id()));
    assert!(ssh_config.is_file());
    p.stop_emulator();
    let old = p.dir().to_owned();
    p.relocate();
    assert!(!old.exists());

    let out = p.ok(&["bringup"]);
    assert!(
        out.contains(&format!("moved from {}", old.display())),
        "{out}"
    );
    assert!(
        out.contains("terraform init: provider installed"),
        "stale provider link: {out}"
    );
    for node in ["kdevops-0", "kdevops-1"] {
        assert!(out.contains(&format!("{node}: keep ")), "{out}");
    }
    assert_eq!(ids(&p.status()), before, "a moved tree replaced its nodes");
    let (code, plan) = p.terraform_plan_exit_code();
    assert_eq!(code, 0, "{plan}");
    let ssh_files: Vec<_> = std::fs::read_dir(p.home_dir().join(".ssh"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("config_kdevops_"))
        .collect();
    assert_eq!(ssh_files.len(), 1, "{ssh_files:?}");
    assert!(ssh_config.is_file());

    // State lost (only the key stays): the instances are strays, named as such.
    let rm = p.terraform(&["state", "rm", "datacrunch_instance.kdevops"]);
    assert!(rm.status.success(), "{}", crate::common::text(&rm));
    let status = p.ok(&["status"]);
    assert_eq!(status.matches("stray: kdevops-").count(), 2, "{status}");
    assert!(status.contains("`make bringup` adopts it"), "{status}");
    let gone = p.ok(&["destroy"]);
    assert!(
        !gone.contains("terraform destroy failed"),
        "false alarm:\n{gone}"
    );
    assert_eq!(
        gone.matches("deleting leftover instance").count(),
        2,
        "{gone}"
    );
    p.ok(&["catalog"]); // restarts the emulator, to look
    assert!(p.status().is_empty(), "strays left billing");
    p.ok(&["destroy"]);
    assert!(std::fs::symlink_metadata(&main_config)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read_to_string(&dotfile).unwrap(), user_text);
}

fn walk_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk_files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Bringup checks the saved plan before applying it: a .config change that would
/// replace running nodes (spot cannot change in place) or destroy one (a lowered node
/// count) is refused, naming each node and why, and nothing is applied; REPLACE
/// confirms it, and then exactly that happens.
#[test]
fn a_plan_that_replaces_or_destroys_a_node_needs_replace() {
    let p = Project::new();
    p.defconfig("emulator-3-nodes");
    p.set("KDEVOPS_NODE_COUNT=2");
    p.ok(&["bringup"]);
    let before = ids(&p.status());

    p.set("TERRAFORM_DATACRUNCH_SPOT=y");
    let err = p.fails(&["bringup"]);
    for node in ["kdevops-0", "kdevops-1"] {
        assert!(
            err.contains(&format!(
                "{node} would be replaced: a change of is_spot cannot be made in place"
            )),
            "{err}"
        );
    }
    assert!(err.contains("nothing was applied"), "{err}");
    assert!(err.contains("REPLACE=kdevops-0,kdevops-1"), "{err}");
    assert_eq!(ids(&p.status()), before, "a refused plan changed instances");

    p.set("TERRAFORM_DATACRUNCH_SPOT=n");
    p.set("KDEVOPS_NODE_COUNT=1");
    let err = p.fails(&["bringup"]);
    assert!(
        err.contains("kdevops-1 would be destroyed: it is no longer configured"),
        "{err}"
    );
    assert!(err.contains("`make bringup REPLACE=kdevops-1`"), "{err}");
    assert!(!err.contains("kdevops-0 would"), "{err}");
    assert_eq!(ids(&p.status()), before, "a refused plan changed instances");

    let out = p.ok(&["bringup", "--replace", "kdevops-1"]);
    assert!(out.contains("kdevops-1: will destroy"), "{out}");
    assert_eq!(ids(&p.status()), before[..1]);
    let (code, plan) = p.terraform_plan_exit_code();
    assert_eq!(code, 0, "{plan}");
    p.ok(&["destroy"]);
}

/// `make bringup` right after an interrupted one: the API accepted a node's deploy but
/// Terraform never saved it. The instance (this project's mark, still provisioning, not
/// in state) is adopted and waited for, not created a second time: exactly the
/// configured nodes, all running with an IP.
#[test]
fn bringup_adopts_a_node_still_provisioning_after_an_interrupted_run() {
    let p = Project::new();
    p.defconfig("emulator-3-nodes");
    p.set("KDEVOPS_NODE_COUNT=1");
    // Slow provisioning, so the instance made below is still on its way at bringup.
    let out = p
        .command(&["bringup"])
        .env("DATACRUNCH_EMULATOR_PROVISIONING_SECONDS", "8")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", crate::common::text(&out));
    let (_, body) = p.api("GET", "/instances", None);
    let instances: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    let first = &instances[0];

    // What the interrupted run left: kdevops-1 deployed with the project's key and
    // mark, and nothing about it in state.
    let deploy = serde_json::json!({
        "instance_type": first["instance_type"], "image": first["image"],
        "location_code": first["location"], "hostname": "kdevops-1",
        "description": "kdevops node kdevops-1", "ssh_key_ids": first["ssh_key_ids"],
        "tags": [{"key": "kdevops-project", "value": p.project_id()}],
    });
    let (status, reply) = p.api("POST", "/instances", Some(&deploy.to_string()));
    assert!(status < 300, "{status} {reply}");
    let left = reply.trim().trim_matches('"').to_owned();
    let (_, one) = p.api("GET", &format!("/instances/{left}"), None);
    let one: serde_json::Value = serde_json::from_str(&one).unwrap();
    assert_ne!(one["status"], "running", "{one}");

    p.set("KDEVOPS_NODE_COUNT=2");
    let out = p.ok(&["bringup"]);
    assert!(
        out.contains(&format!("adopting kdevops-1 ({left})")),
        "{out}"
    );
    assert!(!out.contains("kdevops-1: create done"), "{out}");
    let nodes = p.status();
    let names: Vec<&str> = nodes.iter().map(|n| n["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["kdevops-0", "kdevops-1"], "{nodes:#?}");
    assert_eq!(nodes[1]["id"], left.as_str());
    for n in &nodes {
        assert_eq!(n["status"], "running", "{n}");
        assert!(
            n["ip"].as_str().is_some_and(|ip| ip.starts_with("127.")),
            "{n}"
        );
        assert!(
            out.contains(&format!(
                "{}\t{}",
                n["name"].as_str().unwrap(),
                n["ip"].as_str().unwrap()
            )),
            "{out}"
        );
    }
    let (code, plan) = p.terraform_plan_exit_code();
    assert_eq!(code, 0, "{plan}");
    p.ok(&["destroy"]);
}

/// Untagged instances made by earlier versions carry a path-derived marker in their
/// description. Not in state, status names them "legacy strays" and says how to remove
/// them; one whose marker is this tree's current path is provably ours (bringup deletes
/// it as a stray), any other is left alone by bringup and destroy.
#[test]
fn legacy_strays_are_named_and_only_this_paths_are_deleted() {
    let p = Project::new();
    p.defconfig("emulator-3-nodes");
    p.set("KDEVOPS_NODE_COUNT=1");
    p.ok(&["bringup"]);
    let (_, body) = p.api("GET", "/instances", None);
    let instances: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    let first = &instances[0];
    // printf '%s' TOPDIR | sha256sum | cut -c1-8: how earlier versions marked instances.
    let hash = Command::new("sh")
        .arg("-c")
        .arg("printf '%s' \"$1\" | sha256sum | cut -c1-8")
        .arg("sh")
        .arg(p.dir())
        .output()
        .unwrap();
    let hash = String::from_utf8(hash.stdout).unwrap().trim().to_owned();
    let deploy = |hostname: &str, marker: &str| {
        let body = serde_json::json!({
            "instance_type": first["instance_type"], "image": first["image"],
            "location_code": first["location"], "hostname": hostname,
            "description": format!("kdevops node {hostname} [kdevops:{marker}]"),
            "ssh_key_ids": first["ssh_key_ids"],
        });
        let (status, reply) = p.api("POST", "/instances", Some(&body.to_string()));
        assert!(status < 300, "{status} {reply}");
        reply.trim().trim_matches('"').to_owned()
    };
    let elsewhere = deploy("old-elsewhere", "deadbeef");
    let here = deploy("old-here", &hash);

    let report = p.ok(&["status"]);
    assert!(
        report.contains(&format!("legacy stray: old-elsewhere ({elsewhere},"))
            && report.contains("marker [kdevops:deadbeef]")
            && report.contains("delete it in the DataCrunch dashboard"),
        "{report}"
    );
    assert!(
        report.contains(&format!("stray: old-here ({here},"))
            && report.contains(&format!("marked [kdevops:{hash}]: this tree's path")),
        "{report}"
    );

    let out = p.ok(&["bringup"]);
    assert!(
        out.contains(&format!("deleting stray instance old-here ({here}")),
        "{out}"
    );
    assert!(!out.contains(&elsewhere), "{out}");
    p.ok(&["destroy"]);
    // Destroy stopped the emulator; its state still holds what is left.
    p.ok(&["catalog"]);
    let (_, body) = p.api("GET", "/instances", None);
    let left: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    let live: Vec<&str> = left
        .iter()
        .filter(|i| i["status"] != "discontinued")
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(live, [elsewhere.as_str()], "{body}");
}
