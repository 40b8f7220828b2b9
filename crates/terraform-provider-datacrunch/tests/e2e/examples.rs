//! Every file under `examples/` (the ones the registry docs show) is applied against
//! the emulator: apply, a plan with no changes, destroy.

use std::path::{Path, PathBuf};
use test_support::datacrunch::*;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// `examples/<kind>/<type>/<file>` for every type directory.
fn example_files(kind: &str, file: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(examples().join(kind))
        .unwrap()
        .flatten()
        .map(|e| e.path().join(file))
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    found
}

fn apply_clean_destroy(
    ws: &EmulatedWorkspace,
    emu: &datacrunch_emulator::RunningEmulator,
    what: &Path,
) {
    ws.init();
    ws.apply();
    ws.assert_no_changes();
    ws.destroy();
    assert!(
        live_instances(emu).is_empty(),
        "{} left instances",
        what.display()
    );
}

#[test]
fn every_resource_and_data_source_example_applies() {
    let files: Vec<PathBuf> = example_files("resources", "resource.tf")
        .into_iter()
        .chain(example_files("data-sources", "data-source.tf"))
        .collect();
    assert_eq!(files.len(), 19, "{files:?}");
    let emu = emulator();
    for file in files {
        let ws = EmulatedWorkspace::new(&terraform(), &emu);
        let body = std::fs::read_to_string(&file).unwrap();
        ws.write(&format!("provider \"datacrunch\" {{}}\n\n{body}"));
        apply_clean_destroy(&ws, &emu, &file);
        // Every resource example documents its import command.
        if file.ends_with("resource.tf") {
            let import = std::fs::read_to_string(file.with_file_name("import.sh")).unwrap();
            let dir = file
                .parent()
                .unwrap()
                .file_name()
                .unwrap()
                .to_str()
                .unwrap();
            assert!(
                import.contains("terraform import ") && import.contains(&format!("{dir}.")),
                "{import}"
            );
        }
    }
}

#[test]
fn provider_example_configures_from_the_credentials_file() {
    let emu = emulator();
    let mut ws = EmulatedWorkspace::new(&terraform(), &emu);
    // Only the server URL from the environment: the credentials come from the
    // default file, as the example's comment says.
    ws.remove_env(|k| k.starts_with("DATACRUNCH_CLIENT"));
    let home = ws.home().join(".datacrunch");
    std::fs::create_dir_all(&home).unwrap();
    let creds = home.join("credentials");
    std::fs::write(
        &creds,
        format!(
            "[default]\nclient_id = {}\nclient_secret = {}\n",
            emu.client_id, emu.client_secret
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o600)).unwrap();
    let provider = examples().join("provider/provider.tf");
    ws.write_file("provider.tf", &std::fs::read_to_string(&provider).unwrap());
    ws.write_file(
        "main.tf",
        "data \"datacrunch_locations\" \"all\" {}\noutput \"n\" { value = length(data.datacrunch_locations.all.locations) }\n",
    );
    ws.init();
    ws.apply();
    assert_eq!(ws.ok(&["output", "-raw", "n"]).trim(), "4");
    ws.assert_no_changes();
}

/// The examples of the Terraform 1.14+ pages: each function example applies, each
/// list example runs in `terraform query`, and the action example is applied and then
/// invoked.
#[test]
fn function_list_and_action_examples_run() {
    let emu = emulator();
    let functions = example_files("functions", "function.tf");
    let lists = example_files("list-resources", "list.tfquery.hcl");
    let actions = example_files("actions", "action.tf");
    assert_eq!((functions.len(), lists.len(), actions.len()), (2, 4, 1));
    for file in functions {
        let ws = EmulatedWorkspace::new(&terraform(), &emu);
        ws.write(&std::fs::read_to_string(&file).unwrap());
        ws.init();
        ws.apply();
    }
    let ws = EmulatedWorkspace::new(&terraform(), &emu);
    ws.write("provider \"datacrunch\" {}\n");
    for (i, file) in lists.iter().enumerate() {
        ws.write_file(
            &format!("q{i}.tfquery.hcl"),
            &std::fs::read_to_string(file).unwrap(),
        );
    }
    ws.init();
    ws.ok(&["query", "-no-color"]);

    let ws = EmulatedWorkspace::new(&terraform(), &emu);
    let body = std::fs::read_to_string(&actions[0]).unwrap();
    ws.write(&format!("provider \"datacrunch\" {{}}\n\n{body}"));
    ws.init();
    ws.apply();
    ws.ok(&[
        "apply",
        "-auto-approve",
        "-input=false",
        "-no-color",
        "-invoke=action.datacrunch_instance_power.off",
    ]);
    assert_eq!(live_instances(&emu)[0]["status"], "offline");
    ws.destroy();
}
