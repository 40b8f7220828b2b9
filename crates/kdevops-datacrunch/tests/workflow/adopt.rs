//! `adopt`: an instance a crashed run left out of Terraform's state is listed by
//! `terraform query` (the module's project-tag query) and imported at its node's
//! address, so the next bringup creates no duplicate.

use crate::common::{text, Project};
use crate::power::per_node;

fn ids(p: &Project) -> Vec<(String, String)> {
    per_node(p, "id")
}

#[test]
fn adopt_imports_a_crashed_runs_instance_listed_by_terraform_query() {
    let p = Project::new();
    p.defconfig("emulator-3-nodes");
    p.set("KDEVOPS_NODE_COUNT=2");
    p.ok(&["bringup"]);
    let before = ids(&p);
    let lost = before[1].1.clone();
    // What a bringup killed before Terraform saved state leaves: a live, tagged
    // instance that state does not know.
    let rm = p.terraform(&["state", "rm", "datacrunch_instance.kdevops[\"kdevops-1\"]"]);
    assert!(rm.status.success(), "{}", text(&rm));

    let listed = p.ok(&["adopt", "--dry-run"]);
    assert!(listed.contains("by `terraform query`"), "{listed}");
    let line = |name: &str| {
        listed
            .lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("{name} not listed:\n{listed}"))
            .to_owned()
    };
    assert!(line("kdevops-1").contains(&lost), "{listed}");
    assert!(line("kdevops-1").ends_with("not in state"), "{listed}");
    assert!(line("kdevops-0").ends_with(" in state"), "{listed}");
    assert!(listed.contains("nothing imported"), "{listed}");

    let adopted = p.ok(&["adopt"]);
    assert!(
        adopted.contains(&format!("adopted kdevops-1 ({lost})")),
        "{adopted}"
    );
    let again = p.ok(&["adopt"]);
    assert!(again.contains("Nothing to adopt"), "{again}");

    // No duplicate: bringup keeps both instances, and nothing is left to change.
    p.ok(&["bringup"]);
    assert_eq!(ids(&p), before);
    let (code, plan) = p.terraform_plan_exit_code();
    assert_eq!(code, 0, "{plan}");
}
