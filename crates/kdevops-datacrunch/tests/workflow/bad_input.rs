//! Bad input: each is a one-line error that says what to fix, and nothing is created.

use std::os::unix::fs::PermissionsExt;

use crate::common::Project;

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

/// A `~/.ssh/config` whose kdevops block lost its END line: bringup refuses before
/// creating anything and destroy refuses too, naming the file and line; the user's
/// lines after the marker survive both.
#[test]
fn broken_ssh_config_block_is_refused_and_kept() {
    let p = Project::new();
    p.defconfig("emulator-3-nodes");
    let main = p.home_dir().join(".ssh/config");
    std::fs::create_dir_all(main.parent().unwrap()).unwrap();
    let text = "Host first\r\n# BEGIN Managed by kdevops\r\nInclude ~/.ssh/config_kdevops_*\r\n\
                Host work\r\n\tUser me\r\n";
    std::fs::write(&main, text).unwrap();
    for command in ["bringup", "destroy"] {
        let err = p.fails(&[command]);
        let line = one_line(&err);
        assert!(
            line.contains(&format!("{} line 2:", main.display()))
                && line.contains("no matching `# END Managed by kdevops` line"),
            "{command}: {line}"
        );
        assert_eq!(std::fs::read_to_string(&main).unwrap(), text, "{command}");
    }
    assert!(p.emulator_pid().is_none(), "bringup started the emulator");
    assert!(!p.dir().join("hosts").exists());
}

#[test]
fn unreachable_endpoint() {
    let p = Project::new();
    let file = p.home.path().join("creds");
    set_credentials(
        &p,
        &["--file", file.to_str().unwrap(), "--client-id", "a"],
        "b\n",
    );
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

/// A near miss of a `.config` symbol, a tier group, a location, an instance type or a
/// subcommand is answered with the name that was meant.
#[test]
fn typos_get_a_did_you_mean() {
    let p = Project::new();
    p.defconfig("emulator-3-nodes");
    // Kconfig would drop the misspelt cap without a word: refused, nothing started.
    p.set("TERRAFORM_DATACRUNCH_MAX_PRICE_PER_HOR=\"1.00\"");
    let line = one_line(&p.fails(&["show-config"])).to_owned();
    assert!(
        line.contains("CONFIG_TERRAFORM_DATACRUNCH_MAX_PRICE_PER_HOR in .config is not an option")
            && line.ends_with(
                "Did you mean CONFIG_TERRAFORM_DATACRUNCH_MAX_PRICE_PER_HOUR? \
                 Correct the name, or run `make olddefconfig` to drop it"
            ),
        "{line}"
    );
    // A symbol of another Kconfig tree is only a warning.
    p.defconfig("emulator-3-nodes");
    p.set("WORKFLOWS_FSTESTS=y");
    let out = p.run(&["show-config"]);
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning:")
            && stderr.contains("CONFIG_WORKFLOWS_FSTESTS in .config is not an option")
            && !stderr.contains("Did you mean"),
        "{stderr}"
    );

    p.defconfig("emulator-3-nodes");
    p.set("TERRAFORM_DATACRUNCH_INSTANCE_TYPE=\"h100-or-les\"");
    let line = one_line(&p.fails(&["show-config"])).to_owned();
    assert!(line.ends_with("Did you mean \"H100_OR_LESS\"?"), "{line}");
    let line = one_line(&p.fails(&["select-tier", "a100-80-or-les"])).to_owned();
    assert!(
        line.ends_with("Did you mean \"A100_80_OR_LESS\"?"),
        "{line}"
    );
    p.defconfig("emulator-3-nodes");
    p.set("TERRAFORM_DATACRUNCH_LOCATION=\"ICE01\"");
    let line = one_line(&p.fails(&["show-config"])).to_owned();
    assert!(line.ends_with("Did you mean \"ICE-01\"?"), "{line}");

    p.defconfig("emulator-3-nodes");
    p.set("TERRAFORM_DATACRUNCH_INSTANCE_TYPE=\"1H100.80S.30\"");
    let line = one_line(&p.fails(&["bringup"])).to_owned();
    assert!(
        line.contains("unknown instance type \"1H100.80S.30\"")
            && line.ends_with("Did you mean \"1H100.80S.30V\"?"),
        "{line}"
    );
    assert!(p.status().is_empty(), "nothing may be created");
    p.ok(&["destroy"]);

    // Subcommands and flags: clap's own suggestions.
    let err = p.fails(&["statsu"]);
    assert!(err.contains("similar subcommand exists: 'status'"), "{err}");
}

#[test]
fn rejected_credentials() {
    let p = Project::new();
    p.defconfig("emulator-3-nodes");
    p.ok(&["catalog"]); // starts the emulator with its generated credentials
    let file = p.dir().join(".local/emulator/credentials");
    set_credentials(
        &p,
        &[
            "--file",
            file.to_str().unwrap(),
            "--profile",
            "emulator",
            "--client-id",
            "someone-else",
        ],
        "wrong\n",
    );
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

/// `credentials set ARGS` with `input` on standard input (a pipe, not a terminal);
/// asserts success and returns what it printed.
fn set_credentials(p: &Project, args: &[&str], input: &str) -> String {
    use std::io::Write;
    let mut command = p.command(&[&["credentials", "set"], args].concat());
    let mut child = command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}:\n{}",
        crate::common::text(&out)
    );
    crate::common::text(&out)
}

/// `credentials test` without `--url` asks the endpoint .config configures, with the
/// credentials file and profile .config names; `credentials set --help` offers no way to
/// put the secret on the command line.
#[test]
fn credentials_test_uses_the_configured_endpoint() {
    let emu = OwnEmulator::start("cfg-client", "cfg-secret");
    let p = Project::new();
    let file = p.home.path().join("work.ini");
    set_credentials(
        &p,
        &["--file", file.to_str().unwrap(), "--profile", "work"],
        "cfg-client\ncfg-secret\n",
    );
    point_at(&p, &emu.url, &file);
    p.set("TERRAFORM_DATACRUNCH_API_KEY_PROFILE=\"work\"");
    let out = p.ok(&["credentials", "test"]);
    assert!(
        out.contains(&format!("OK: {} accepted", emu.url)) && out.contains("[work]"),
        "{out}"
    );

    let help = p.ok(&["credentials", "set", "--help"]);
    assert!(
        !help.contains("--client-secret") && help.contains("not shown"),
        "{help}"
    );
    let refused = p.fails(&["credentials", "set", "--client-secret", "x"]);
    assert!(refused.contains("--client-secret"), "{refused}");
}

/// An emulator of our own, accepting one client id and secret; killed on drop.
struct OwnEmulator {
    child: std::process::Child,
    url: String,
}

impl OwnEmulator {
    fn start(client_id: &str, secret: &str) -> Self {
        use std::io::BufRead;
        let binary =
            test_support::cargo_bin::workspace_bin("datacrunch-emulator", "datacrunch-emulator");
        let mut child = std::process::Command::new(binary)
            .args(["--listen", "127.0.0.1:0", "--client-id", client_id])
            .env("DATACRUNCH_EMULATOR_CLIENT_SECRET", secret)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .to_owned();
        OwnEmulator { child, url }
    }
}

impl Drop for OwnEmulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A secret with backslashes, `=` and `#` authenticates from an INI file the workflow
/// wrote or the user did; the original `~/datacrunch-credentials.json` (secret only) is
/// found with nothing configured, refused without DATACRUNCH_CLIENT_ID (naming the file
/// and the variable), and with it a whole bringup works: the provider, run by
/// Terraform, finds the same file and gets the same variable.
#[test]
fn tricky_secret_and_the_original_json_file_work_end_to_end() {
    const TRICKY: &str = r"bs\secret\\n=#x\";
    let emu = OwnEmulator::start("bs-client", TRICKY);
    let p = Project::new();
    let written = p.home.path().join("written");
    // Piped in: the ID and the secret, one line each, nothing on the command line.
    let out = set_credentials(
        &p,
        &["--file", written.to_str().unwrap()],
        &format!("bs-client\r\n{TRICKY}\n"),
    );
    assert!(!out.contains(TRICKY), "the secret was echoed: {out}");
    let by_hand = p.home.path().join("by-hand");
    std::fs::write(
        &by_hand,
        format!("[default]\nclient_id = bs-client\nclient_secret = {TRICKY}\n"),
    )
    .unwrap();
    std::fs::set_permissions(&by_hand, std::fs::Permissions::from_mode(0o600)).unwrap();
    for file in [&written, &by_hand] {
        let out = p.ok(&[
            "credentials",
            "test",
            "--file",
            file.to_str().unwrap(),
            "--url",
            &emu.url,
        ]);
        assert!(out.contains("OK: "), "{out}");
    }

    let json = p.home.path().join("datacrunch-credentials.json");
    std::fs::write(
        &json,
        serde_json::json!({ "client_secret": TRICKY }).to_string(),
    )
    .unwrap();
    std::fs::set_permissions(&json, std::fs::Permissions::from_mode(0o600)).unwrap();
    let refused = p.fails(&["credentials", "check"]);
    let line = one_line(&refused);
    assert!(
        line.contains(&format!(
            "{} has client_secret but no `client_id`",
            json.display()
        )) && line.contains("DATACRUNCH_CLIENT_ID"),
        "{line}"
    );
    let with_id = |args: &[&str]| {
        let out = p
            .command(args)
            .env("DATACRUNCH_CLIENT_ID", "bs-client")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}:\n{}",
            crate::common::text(&out)
        );
        crate::common::text(&out)
    };
    let out = with_id(&["credentials", "test", "--url", &emu.url]);
    assert!(
        out.contains("OK: ") && out.contains("datacrunch-credentials.json"),
        "{out}"
    );

    p.defconfig("emulator-3-nodes");
    p.set(&format!("TERRAFORM_DATACRUNCH_API_URL=\"{}\"", emu.url));
    p.set("TERRAFORM_DATACRUNCH_API_KEY_FILE=\"~/.datacrunch/credentials\"");
    with_id(&["bringup"]);
    with_id(&["destroy"]);
}

/// The embedded emulator stops answering at its URL (here: its url file names a port
/// nothing listens on, as after the process was replaced): commands say which URL is
/// dead and how to bring it back; `bringup` restarts it and finds the same instances.
#[test]
fn a_dead_emulator_endpoint_is_named_and_bringup_restarts_it() {
    let p = Project::new();
    p.defconfig("emulator-3-nodes");
    p.set("KDEVOPS_NODE_COUNT=1");
    p.ok(&["bringup"]);
    let before = p.status();
    let url_file = p.dir().join(".local/emulator/url");
    std::fs::write(&url_file, "http://127.0.0.1:1/v1\n").unwrap();

    let line = one_line(&p.fails(&["status"])).to_owned();
    assert!(
        line.contains("the local emulator at http://127.0.0.1:1/v1 does not answer"),
        "{line}"
    );
    assert!(line.contains("`make bringup` restarts it"), "{line}");
    assert!(
        line.contains(&format!(
            "kdevops-datacrunch --topdir {} bringup",
            p.dir().display()
        )),
        "{line}"
    );

    let out = p.ok(&["bringup"]);
    assert!(
        out.contains("does not answer at http://127.0.0.1:1/v1: restarting it"),
        "{out}"
    );
    let after = p.status();
    assert_eq!(after.len(), 1, "{after:#?}");
    assert_eq!(after[0]["id"], before[0]["id"]);
    p.ok(&["destroy"]);
}
