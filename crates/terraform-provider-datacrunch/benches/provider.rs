//! Provider benchmarks with a real Terraform against the emulator, counted with the
//! emulator's request counters. Run with `cargo bench -p terraform-provider-datacrunch`
//! (release build); results are recorded in `docs/benchmarks-provider.md`.
//!
//! 1. Refresh of 100 instances: API calls by endpoint and wall time of
//!    `terraform plan -refresh-only` (target: at most 2 list calls, no per-instance get).
//! 2. Apply of 10 instances that take 5 s to provision: wall time of `terraform apply`
//!    (target: within 10% of 5 s of provisioning; a fixed 10 s poll would take 10-15 s).

use datacrunch_emulator::Timing;
use std::time::{Duration, Instant};
use test_support::datacrunch::*;
use test_support::MirroredProvider;

/// The provider as this benchmark built it (release), not the debug build.
fn release_provider() -> MirroredProvider {
    provider_binary(env!("CARGO_BIN_EXE_terraform-provider-datacrunch").into())
}

fn fleet(n: usize, prefix: &str) -> String {
    let names = (1..=n)
        .map(|i| format!("\"{prefix}-{i:03}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        r#"
provider "datacrunch" {{}}

resource "datacrunch_instance" "n" {{
  for_each      = toset([{names}])
  hostname      = each.key
  description   = "bench ${{each.key}}"
  image         = "ubuntu-24.04-cuda-12.8-open-docker"
  instance_type = "CPU.4V.16G"
  location_code = "FIN-01"
  ssh_key_ids   = []
}}
"#
    )
}

fn calls(emu: &datacrunch_emulator::RunningEmulator) -> String {
    emu.admin
        .counters()
        .iter()
        .map(|(k, v)| format!("`{k}` {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn refresh_100() {
    let emu = emulator_with(|b| {
        b.capacity_per_slot(200).timing(Timing {
            ordered: Duration::from_millis(50),
            provisioning: Duration::from_millis(200),
            ..Timing::fast()
        })
    });
    let ws = EmulatedWorkspace::with_provider(&terraform(), &emu, &release_provider());
    ws.write(&fleet(100, "refresh"));
    ws.init();
    ws.ok(&[
        "apply",
        "-auto-approve",
        "-input=false",
        "-no-color",
        "-parallelism=20",
    ]);
    assert_eq!(live_instances(&emu).len(), 100);
    emu.admin.reset_counters();
    let start = Instant::now();
    ws.ok(&["plan", "-refresh-only", "-input=false", "-no-color"]);
    let took = start.elapsed();
    let lists = emu.admin.count("GET /v1/instances");
    let gets = emu.admin.count("GET /v1/instances/{id}");
    println!("| refresh of 100 instances (`plan -refresh-only`) | {:.2} s | {lists} list, {gets} get by id | {} |", took.as_secs_f64(), calls(&emu));
    ws.ok(&[
        "destroy",
        "-auto-approve",
        "-input=false",
        "-no-color",
        "-parallelism=20",
    ]);
}

/// Wall time of a planned `terraform apply` of 10 instances that each take
/// `provisioning` to come up, and the emulator's request counts.
fn timed_apply_of_10(provisioning: Duration) -> (Duration, String, u64) {
    let emu = emulator_with(|b| {
        b.timing(Timing {
            ordered: Duration::ZERO,
            provisioning,
            ..Timing::fast()
        })
    });
    let ws = EmulatedWorkspace::with_provider(&terraform(), &emu, &release_provider());
    ws.write(&fleet(10, "apply"));
    ws.init();
    // A plan first, so the measured apply is what a user waits for after approving.
    ws.ok(&["plan", "-input=false", "-no-color", "-out=tfplan"]);
    emu.admin.reset_counters();
    let start = Instant::now();
    ws.ok(&["apply", "-input=false", "-no-color", "tfplan"]);
    let took = start.elapsed();
    let deploys = emu.admin.count("POST /v1/instances");
    let all = calls(&emu);
    ws.ok(&["destroy", "-auto-approve", "-input=false", "-no-color"]);
    (took, all, deploys)
}

fn apply_10_with_5s_provisioning() {
    let provisioning = Duration::from_secs(5);
    // What the apply costs without any provisioning wait: Terraform's own start-up,
    // the provider's start, configure and re-plan, the deploy calls.
    let (baseline, _, _) = timed_apply_of_10(Duration::from_millis(1));
    let (took, all, deploys) = timed_apply_of_10(provisioning);
    let waited = took.saturating_sub(baseline);
    let over = (waited.as_secs_f64() / provisioning.as_secs_f64() - 1.0) * 100.0;
    println!(
        "| apply of 10 instances, 5 s provisioning | {:.2} s; {:.2} s without provisioning; so {:.2} s waiting ({over:+.1}% over 5 s) | {deploys} deploys | {all} |",
        took.as_secs_f64(),
        baseline.as_secs_f64(),
        waited.as_secs_f64(),
    );
}

fn main() {
    // `cargo test --benches` runs this too: only measure under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    println!("| scenario | wall time | API calls | all requests |\n|---|---|---|---|");
    refresh_100();
    apply_10_with_5s_provisioning();
}
