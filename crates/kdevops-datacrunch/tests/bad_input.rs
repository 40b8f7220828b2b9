//! Bad input: each is a one-line error that says what to fix, and nothing is created.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::Project;

/// One line, starting with "error: ".
fn one_line(stderr: &str) -> &str {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line, got:\n{stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    lines[0]
}

/// Points the project at a custom (loopback) URL with the given credentials file.
fn point_at(p: &Project, url: &str, credentials: &std::path::Path) {
    p.defconfig("emulator-3-nodes");
    p.set(&format!("TERRAFORM_DATACRUNCH_API_URL=\"{url}\""));
    p.set(&format!(
        "TERRAFORM_DATACRUNCH_API_KEY_FILE=\"{}\"",
        credentials.display()
    ));
}

#[test]
fn missing_credentials_file() {
    let p = Project::new();
    let missing = p.home.path().join(".datacrunch/credentials");
    point_at(&p, "http://127.0.0.1:9/v1", &missing);
    let err = p.fails(&["bringup"]);
    let line = one_line(&err);
    assert!(
        line.contains(&missing.display().to_string()) && line.contains("credentials set"),
        "{line}"
    );
    assert!(!p
        .dir()
        .join("terraform/datacrunch/terraform.tfstate")
        .exists());
}

#[test]
fn world_readable_credentials_file() {
    let p = Project::new();
    let file = p.home.path().join("creds");
    std::fs::write(&file, "[default]\nclient_id = a\nclient_secret = b\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    point_at(&p, "http://127.0.0.1:9/v1", &file);
    let line = one_line(&p.fails(&["bringup"])).to_owned();
    assert!(
        line.contains(&format!("run `chmod 600 {}`", file.display())),
        "{line}"
    );
    // The check command says the same.
    let check = p.fails(&["credentials", "check", "--file", file.to_str().unwrap()]);
    assert!(one_line(&check).contains("chmod 600"), "{check}");
}

#[test]
fn unreachable_endpoint() {
    let p = Project::new();
    let file = p.home.path().join("creds");
    p.ok(&[
        "credentials",
        "set",
        "--file",
        file.to_str().unwrap(),
        "--client-id",
        "a",
        "--client-secret",
        "b",
    ]);
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // Port 1 on loopback: nothing listens there.
    point_at(&p, "http://127.0.0.1:1/v1", &file);
    let line = one_line(&p.fails(&["bringup"])).to_owned();
    assert!(
        line.contains("cannot reach the API at http://127.0.0.1:1/v1"),
        "{line}"
    );
    assert!(
        line.contains("CONFIG_TERRAFORM_DATACRUNCH_API_URL"),
        "{line}"
    );
}

#[test]
fn unknown_instance_type_creates_nothing() {
    let p = Project::new();
    p.defconfig("emulator-3-nodes");
    p.set("TERRAFORM_DATACRUNCH_INSTANCE_TYPE=\"9X999.1V\"");
    let err = p.fails(&["bringup"]);
    let line = one_line(&err);
    assert!(
        line.contains("unknown instance type \"9X999.1V\"") && line.contains("make menuconfig"),
        "{line}"
    );
    assert!(p.status().is_empty(), "nothing may be created");
    assert!(!p
        .dir()
        .join("terraform/datacrunch/terraform.tfstate")
        .exists());
    p.ok(&["destroy"]);
}

#[test]
fn rejected_credentials() {
    let p = Project::new();
    p.defconfig("emulator-3-nodes");
    p.ok(&["catalog"]); // starts the emulator with its generated credentials
    let file = p.dir().join(".local/emulator/credentials");
    p.ok(&[
        "credentials",
        "set",
        "--file",
        file.to_str().unwrap(),
        "--profile",
        "emulator",
        "--client-id",
        "someone-else",
        "--client-secret",
        "wrong",
    ]);
    let line = one_line(&p.fails(&["bringup"])).to_owned();
    assert!(
        line.contains("rejected the credentials") && line.contains("(401)"),
        "{line}"
    );
    assert!(
        line.contains(&file.display().to_string()) && line.contains("[emulator]"),
        "{line}"
    );
    assert!(!p
        .dir()
        .join("terraform/datacrunch/terraform.tfstate")
        .exists());
}
