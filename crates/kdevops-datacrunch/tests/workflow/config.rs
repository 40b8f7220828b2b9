//! The configuration layer: every defconfig loads through kconfiglib and reads back as
//! the instance type, endpoint and nodes it promises; and every Kconfig symbol is read
//! by the workflow (no option the menu offers is silently ignored).

use crate::common::Project;
use serde_json::Value;
use test_support::cargo_bin::workspace_root;

fn show(p: &Project) -> Value {
    serde_json::from_str(&p.ok(&["show-config"])).unwrap()
}

#[test]
fn every_defconfig_reads_back_as_promised() {
    let cases = [
        ("datacrunch-4x-b200", "4B200.120V", "explicit"),
        ("datacrunch-4x-b300", "4B300.120V", "explicit"),
        ("datacrunch-4x-h100-pytorch", "4H100.80S.176V", "explicit"),
        ("datacrunch-a100", "1A100.40S.22V", "explicit"),
        ("datacrunch-a100-40-or-less", "A100_40_OR_LESS", "wildcard"),
        ("datacrunch-a100-80-or-less", "A100_80_OR_LESS", "wildcard"),
        ("datacrunch-b200-or-less", "B200_OR_LESS", "wildcard"),
        ("datacrunch-b300", "1B300.30V", "explicit"),
        ("datacrunch-b300-or-less", "B300_OR_LESS", "wildcard"),
        ("datacrunch-h100-pytorch", "ANY_1H100", "wildcard"),
        (
            "datacrunch-h100-pytorch-or-less",
            "H100_OR_LESS",
            "wildcard",
        ),
        ("datacrunch-v100", "1V100.6V", "explicit"),
    ];
    let p = Project::new();
    for (name, instance_type, kind) in cases {
        p.defconfig(name);
        let v = show(&p);
        let s = &v["settings"];
        assert_eq!(s["instance_type"][kind], instance_type, "{name}: {v}");
        assert_eq!(
            s["endpoint"]["url"], "https://api.datacrunch.io/v1",
            "{name}"
        );
        assert_eq!(s["nodes"], serde_json::json!(["kdevops-0"]), "{name}");
        assert_eq!(s["genkey"]["enabled"], true, "{name}");
        // The per-project names come from the project id, not from .config.
        let short = p.short_id();
        assert_eq!(v["project_id"], p.project_id().as_str());
        assert_eq!(s["ssh_key"], "unique", "{name}");
        assert_eq!(v["ssh_key_name"], format!("kdevops-datacrunch-{short}"));
        assert!(
            v["ssh_key_file"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/.ssh/kdevops_terraform_{short}")),
            "{v}"
        );
        // The same defconfig on the emulator.
        p.defconfig(&format!("{name}+emulator"));
        assert_eq!(
            show(&p)["settings"]["endpoint"],
            "emulator",
            "{name}+emulator"
        );
    }
    p.defconfig("emulator-3-nodes");
    let s = show(&p)["settings"].clone();
    assert_eq!(s["endpoint"], "emulator");
    assert_eq!(
        s["nodes"],
        serde_json::json!(["kdevops-0", "kdevops-1", "kdevops-2"])
    );
    assert_eq!(s["instance_type"]["wildcard"], "H100_OR_LESS");
    p.defconfig("datacrunch-b200-or-less+verda+spot");
    let s = show(&p)["settings"].clone();
    assert_eq!(s["endpoint"]["url"], "https://api.verda.com/v1");
    assert_eq!(s["spot"], true);
    // olddefconfig needs no terminal (make's stdin is not one here) and keeps choices.
    let old = p.make(&["olddefconfig"]);
    assert!(old.status.success(), "{}", crate::common::text(&old));
    assert_eq!(show(&p)["settings"]["spot"], true);
    let bad = p.make(&["defconfig-no-such-thing"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no defconfig named 'no-such-thing'"));
}

/// Every `config SYMBOL` of the Kconfig tree is read in settings.rs, directly or through
/// the derived string symbol whose default it selects or supplies.
#[test]
fn every_kconfig_symbol_is_read() {
    let root = workspace_root();
    let settings =
        std::fs::read_to_string(root.join("crates/kdevops-datacrunch/src/settings.rs")).unwrap();
    let mut tree = std::fs::read_to_string(root.join("Kconfig")).unwrap();
    for entry in std::fs::read_dir(root.join("kconfigs")).unwrap() {
        tree.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    let symbols: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.strip_prefix("config "))
        .map(str::trim)
        .collect();
    assert!(symbols.len() > 60, "{}", symbols.len());
    let quoted = |s: &str| format!("\"{s}\"");
    let mut dead = Vec::new();
    for sym in &symbols {
        if settings.contains(&quoted(sym)) {
            continue;
        }
        // A choice member selects the default of a derived string symbol that is read;
        // a free-text symbol (…_CUSTOM_NAME) is the default value of one.
        let read_blocks: Vec<&str> = tree
            .split("\nconfig ")
            .filter(|block| {
                block
                    .lines()
                    .next()
                    .is_some_and(|name| settings.contains(&quoted(name.trim())))
            })
            .collect();
        let selects = read_blocks
            .iter()
            .any(|b| b.contains(&format!(" if {sym}\n")));
        let feeds = read_blocks
            .iter()
            .any(|b| b.contains(&format!("\tdefault {sym} if ")));
        let derived_read = selects || feeds;
        if !derived_read {
            dead.push(*sym);
        }
    }
    assert!(dead.is_empty(), "Kconfig symbols nothing reads: {dead:?}");
}

/// The tier table is a fact about the catalog kept in one place, the client's
/// `offer::tiers`; the Kconfig menu must offer exactly its groups (a choice and a
/// string default each, the other way round too) and show its tiers in its order.
#[test]
fn kconfig_tier_options_match_the_tier_table() {
    use datacrunch_client::offer::{TierGroup, TIERS};
    let text = std::fs::read_to_string(workspace_root().join("kconfigs/Kconfig.compute"))
        .expect("kconfigs/Kconfig.compute");
    const PREFIX: &str = "config TERRAFORM_DATACRUNCH_INSTANCE_TYPE_";
    let is_group = |s: &str| s.ends_with("_OR_LESS") || s.starts_with("ANY_");
    let in_kconfig: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix(PREFIX))
        .filter(|s| is_group(s))
        .collect();
    let in_table: Vec<&str> = TierGroup::ALL.iter().map(|g| g.name()).collect();
    assert_eq!(
        in_kconfig, in_table,
        "Kconfig tier choices vs the tier table"
    );
    for group in TierGroup::ALL {
        let name = group.name();
        let default = format!("default \"{name}\" if TERRAFORM_DATACRUNCH_INSTANCE_TYPE_{name}");
        assert!(text.contains(&default), "missing: {default}");
    }
    let any = TierGroup::Any1H100.instance_types().join(", then ");
    assert!(
        text.contains(&format!("bool \"ANY_1H100 - any single H100 ({any})\"")),
        "the ANY_1H100 prompt must list {any}"
    );

    // The help's tier lines, `name: type type`, after "Tier order" up to a blank line.
    let help: Vec<(String, Vec<String>)> = text
        .lines()
        .skip_while(|l| !l.contains("Tier order"))
        .skip(2)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| {
            let (name, types) = l.trim().split_once(": ").expect("`tier: types` line");
            let types = types.split_whitespace().map(str::to_owned).collect();
            (name.to_owned(), types)
        })
        .collect();
    let table: Vec<(String, Vec<String>)> = TIERS
        .iter()
        .map(|t| {
            let types = t.instance_types.iter().map(|s| s.to_string()).collect();
            (t.name.to_owned(), types)
        })
        .collect();
    assert_eq!(
        help, table,
        "the Kconfig help's tier order vs the tier table"
    );
}
