//! SSH key modes. MANUAL uses a key already in the account, found by name: nothing is
//! uploaded or deleted, even though uploading a new key would also "work".

use crate::common::Project;
use serde_json::Value;

#[test]
fn manual_key_is_used_not_created_or_deleted() {
    let p = Project::new();
    p.defconfig("emulator-3-nodes");
    p.set("KDEVOPS_NODE_COUNT=1");
    p.ok(&["catalog"]); // starts the emulator
                        // A key the user uploaded earlier, with its private half in ~/.ssh/mine.
    let private = p.home.path().join(".ssh/mine");
    std::fs::create_dir_all(private.parent().unwrap()).unwrap();
    let made = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&private)
        .status()
        .unwrap();
    assert!(made.success());
    let public = std::fs::read_to_string(private.with_extension("pub")).unwrap();
    let body = serde_json::json!({"name": "my-laptop", "key": public.trim()}).to_string();
    let (status, id) = p.api("POST", "/sshkeys", Some(&body));
    assert!(status < 300, "{status} {id}");
    let id = id.trim().trim_matches('"').to_owned();

    p.set("TERRAFORM_DATACRUNCH_SSH_KEY_MANUAL=y");
    p.set("TERRAFORM_DATACRUNCH_SSH_KEY_NAME=\"nope\"");
    let err = p.fails(&["bringup"]);
    assert!(err.contains("no SSH key named \"nope\""), "{err}");

    p.set("TERRAFORM_DATACRUNCH_SSH_KEY_NAME=\"my-laptop\"");
    p.set(&format!(
        "TERRAFORM_DATACRUNCH_SSH_KEY_FILE=\"{}\"",
        private.display()
    ));
    let out = p.ok(&["bringup"]);
    assert!(out.contains("kdevops-0\t127."), "{out}");
    let (_, keys) = p.api("GET", "/sshkeys", None);
    let keys: Vec<Value> = serde_json::from_str(&keys).unwrap();
    assert_eq!(keys.len(), 1, "no key may be uploaded: {keys:?}");
    let (_, instances) = p.api("GET", "/instances", None);
    let instances: Vec<Value> = serde_json::from_str(&instances).unwrap();
    assert_eq!(instances[0]["ssh_key_ids"], serde_json::json!([id]));
    let ssh = std::fs::read_to_string(
        p.home
            .path()
            .join(format!(".ssh/config_kdevops_{}", p.short_id())),
    )
    .unwrap();
    assert!(
        ssh.contains(&format!("IdentityFile {}", private.display())),
        "{ssh}"
    );

    p.ok(&["destroy"]);
    // destroy stopped the emulator; its state survives: start it again to look.
    p.ok(&["catalog"]);
    let (_, keys) = p.api("GET", "/sshkeys", None);
    let keys: Vec<Value> = serde_json::from_str(&keys).unwrap();
    assert_eq!(keys.len(), 1, "the user's key must survive destroy");
    p.ok(&["destroy"]);
}
