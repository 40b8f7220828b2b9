//! End to end against real Terraform: the testbed provider installed from a
//! filesystem mirror, driven through init / validate / plan / apply /
//! import / drift / replace / Ctrl-C / destroy, on every Terraform found
//! (the pinned 1.15.5 always, others on PATH when present).

use std::path::Path;
use std::time::Duration;

use test_support::process::{interrupt_group, wait_with_timeout};
use test_support::{terraform_binaries, MirroredProvider, Terraform, Workspace};

const SOURCE: &str = "registry.terraform.io/example/testbed";

pub(crate) fn workspace(tf: &Terraform) -> Workspace {
    let bin = env!("CARGO_BIN_EXE_terraform-provider-testbed");
    Workspace::new(tf, &[MirroredProvider::new(SOURCE, "0.1.0", bin)])
}

pub(crate) fn store_path(ws: &Workspace) -> String {
    ws.root().join("store.json").display().to_string()
}

pub(crate) fn header(ws: &Workspace) -> String {
    format!(
        r#"terraform {{
  required_providers {{
    testbed = {{
      source  = "example/testbed"
      version = "0.1.0"
    }}
  }}
}}

provider "testbed" {{
  store_path = "{}"
}}
"#,
        store_path(ws)
    )
}

/// Writes `main.tf` (the provider header plus `resources`), runs `init`,
/// and returns the configuration as written.
pub(crate) fn configure(ws: &Workspace, resources: &str) -> String {
    let cfg = format!("{}{resources}", header(ws));
    ws.write("main.tf", &cfg);
    ws.init();
    cfg
}

/// A resource using every attribute kind; `name` and `size` vary per test.
fn thing(name: &str, size: &str) -> String {
    format!(
        r#"
resource "testbed_thing" "a" {{
  name     = "{name}"
  size     = "{size}"
  replicas = 3
  big      = 123456789012345678901234567890.5
  tags     = {{ env = "test" }}
  ports    = [22, 443]
  zones    = ["b", "a"]
  secret   = "s3cret"
  token_wo = "write-only"
  meta     = tomap({{ any = "thing", n = "1" }})
  disks    = [{{ size_gb = 10 }}, {{ size_gb = 20, kind = "hdd" }}]
  network  = {{ vpc = "v1", public = true }}
  timeouts = {{ create = "5m" }}

  rule {{
    port = 80
  }}
  rule {{
    port = 443
  }}
}}

data "testbed_catalog" "c" {{
  size = "medium"
}}

output "price" {{
  value = testbed_thing.a.price
}}

output "catalog_price" {{
  value = data.testbed_catalog.c.price
}}

output "big" {{
  value = testbed_thing.a.big
}}
"#
    )
}

pub(crate) fn read_store(ws: &Workspace) -> serde_json::Value {
    let text = std::fs::read_to_string(store_path(ws)).unwrap_or_else(|_| "{}".into());
    serde_json::from_str(&text).expect("store is JSON")
}

pub(crate) fn write_store(ws: &Workspace, v: &serde_json::Value) {
    std::fs::write(store_path(ws), serde_json::to_vec_pretty(v).unwrap()).unwrap();
}

fn each_terraform(f: impl Fn(&Terraform)) {
    for tf in terraform_binaries() {
        eprintln!("=== {tf}");
        f(&tf);
    }
}

#[test]
fn validate_points_at_the_bad_line() {
    each_terraform(|tf| {
        let ws = workspace(tf);
        let cfg = configure(&ws, &thing("alpha", "huge"));
        let line = cfg.lines().position(|l| l.contains("\"huge\"")).unwrap() + 1;
        let out = ws.run(&["validate", "-no-color"]);
        out.assert_code(1)
            .assert_contains("Invalid attribute value")
            .assert_contains("\"huge\" is not allowed here")
            .assert_contains(&format!("on main.tf line {line}"));

        let bad_name = format!("{}{}", header(&ws), thing("Alpha_1", "small"));
        ws.write("main.tf", &bad_name);
        ws.run(&["validate", "-no-color"])
            .assert_code(1)
            .assert_contains("must be lowercase letters, digits and dashes");
    });
}

#[test]
fn full_lifecycle_with_drift_and_replacement() {
    each_terraform(|tf| {
        let ws = workspace(tf);
        configure(&ws, &thing("alpha", "medium"));

        let plan = ws.run(&["plan", "-no-color", "-input=false"]);
        plan.assert_success()
            .assert_contains("1 to add")
            .assert_contains("+ price      = 0.25")
            .assert_contains("(known after apply)");

        ws.run(&["apply", "-auto-approve", "-no-color", "-input=false"])
            .assert_success()
            .assert_contains("Apply complete! Resources: 1 added")
            .assert_contains("catalog_price = 0.25")
            .assert_contains("big = 123456789012345678901234567890.5");
        let store = read_store(&ws);
        let obj = &store["thing-alpha"];
        assert_eq!(obj["size"], "medium");
        assert!(
            obj.get("token_wo").is_none(),
            "write-only value must not be stored: {obj}"
        );
        let state = std::fs::read_to_string(ws.work_dir().join("terraform.tfstate")).unwrap();
        assert!(
            !state.contains("write-only"),
            "write-only value leaked into state"
        );

        // No changes on a second plan.
        ws.run(&["plan", "-detailed-exitcode", "-no-color", "-input=false"])
            .assert_code(0)
            .assert_contains("No changes");

        // Drift: the object changed behind Terraform's back.
        let mut store = read_store(&ws);
        store["thing-alpha"]["size"] = "large".into();
        write_store(&ws, &store);
        ws.run(&["plan", "-detailed-exitcode", "-no-color", "-input=false"])
            .assert_code(2)
            .assert_contains("\"large\" -> \"medium\"")
            .assert_contains("1 to change");
        ws.run(&["apply", "-auto-approve", "-no-color", "-input=false"])
            .assert_success()
            .assert_contains("1 changed");
        assert_eq!(read_store(&ws)["thing-alpha"]["size"], "medium");

        // Drift: the object vanished; Terraform plans to create it again.
        write_store(&ws, &serde_json::json!({}));
        ws.run(&["plan", "-detailed-exitcode", "-no-color", "-input=false"])
            .assert_code(2)
            .assert_contains("will be created");
        ws.run(&["apply", "-auto-approve", "-no-color", "-input=false"])
            .assert_success();

        // A requires-replace attribute changes: replacement.
        ws.write(
            "main.tf",
            &format!("{}{}", header(&ws), thing("beta", "medium")),
        );
        ws.run(&["plan", "-no-color", "-input=false"])
            .assert_success()
            .assert_contains("must be replaced")
            .assert_contains("forces replacement");
        ws.run(&["apply", "-auto-approve", "-no-color", "-input=false"])
            .assert_success()
            .assert_contains("1 added, 0 changed, 1 destroyed");
        let store = read_store(&ws);
        assert!(
            store.get("thing-alpha").is_none() && store.get("thing-beta").is_some(),
            "{store}"
        );

        ws.run(&["destroy", "-auto-approve", "-no-color", "-input=false"])
            .assert_success()
            .assert_contains("Destroy complete! Resources: 1 destroyed");
        assert_eq!(read_store(&ws), serde_json::json!({}));
    });
}

#[test]
fn import_block_adopts_an_existing_object() {
    each_terraform(|tf| {
        let ws = workspace(tf);
        write_store(
            &ws,
            &serde_json::json!({"thing-imp": {
                "id": "thing-imp", "name": "imp", "size": "small", "price": "0.10",
                "enabled": true, "created_at": "2025-01-01T00:00:00Z", "rule": []
            }}),
        );
        let cfg = configure(
            &ws,
            r#"
import {
  to = testbed_thing.i
  id = "thing-imp"
}

resource "testbed_thing" "i" {
  name = "imp"
}
"#,
        );
        ws.run(&["plan", "-no-color", "-input=false"])
            .assert_success()
            .assert_contains("1 to import, 0 to add, 0 to change, 0 to destroy");
        ws.run(&["apply", "-auto-approve", "-no-color", "-input=false"])
            .assert_success()
            .assert_contains("1 imported");
        ws.run(&["plan", "-detailed-exitcode", "-no-color", "-input=false"])
            .assert_code(0);

        // Importing something that does not exist is a clear error.
        ws.write(
            "main.tf",
            &cfg.replace("thing-imp", "thing-none")
                .replace("testbed_thing.i", "testbed_thing.j")
                .replace("\"i\"", "\"j\""),
        );
        ws.run(&["plan", "-no-color", "-input=false"])
            .assert_failure()
            .assert_contains("Cannot import non-existent remote object");
    });
}

#[test]
fn ctrl_c_during_a_slow_create_cancels_cleanly() {
    each_terraform(|tf| {
        let ws = workspace(tf);
        configure(
            &ws,
            r#"
resource "testbed_thing" "slow" {
  name         = "slow"
  create_delay = "90s"
}
"#,
        );
        let marker = format!("{}.creating", store_path(&ws));
        let args = ["apply", "-auto-approve", "-no-color", "-input=false"];
        let child = ws.spawn(&args);
        wait_for(Path::new(&marker), Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(300));
        interrupt_group(&child);
        let out = wait_with_timeout(child, ws.describe(&args), Duration::from_secs(60));
        assert!(
            !out.timed_out,
            "terraform did not stop after Ctrl-C: {out:?}"
        );
        assert!(
            out.elapsed < Duration::from_secs(45),
            "stopping took {:?}",
            out.elapsed
        );
        out.assert_failure()
            .assert_contains("Operation cancelled")
            .assert_not_contains("plugin crashed")
            .assert_not_contains("Plugin did not respond");
        // Nothing was created and no state claims otherwise.
        assert_eq!(read_store(&ws), serde_json::json!({}));
    });
}

fn wait_for(path: &Path, timeout: Duration) {
    let start = std::time::Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < timeout,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn create_timeout_from_the_timeouts_attribute() {
    each_terraform(|tf| {
        let ws = workspace(tf);
        configure(
            &ws,
            r#"
resource "testbed_thing" "slow" {
  name         = "slow"
  create_delay = "60s"
  timeouts = {
    create = "2s"
  }
}
"#,
        );
        let out = ws.run(&["apply", "-auto-approve", "-no-color", "-input=false"]);
        out.assert_failure().assert_contains("Operation timed out");
        assert!(
            out.elapsed < Duration::from_secs(40),
            "took {:?}",
            out.elapsed
        );
        assert_eq!(read_store(&ws), serde_json::json!({}));
    });
}
