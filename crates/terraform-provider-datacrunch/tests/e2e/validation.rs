//! Bad configurations fail `terraform plan` on the exact attribute, before anything is
//! deployed: catalog typos with a suggestion, images the type does not support, missing
//! capacity, and the API's own input rules.

use test_support::datacrunch::*;

fn instance(attrs: &str) -> String {
    format!(
        r#"
provider "datacrunch" {{}}
resource "datacrunch_instance" "n" {{
  description = "validation"
  ssh_key_ids = []
  {attrs}
}}
"#
    )
}

const GOOD: [(&str, &str); 4] = [
    ("hostname", "\"node-1\""),
    ("image", "\"ubuntu-24.04-cuda-12.8-open-docker\""),
    ("instance_type", "\"1H100.80S.30V\""),
    ("location_code", "\"FIN-01\""),
];

fn with(overrides: &[(&str, &str)]) -> String {
    let attrs = GOOD
        .iter()
        .map(|(k, v)| {
            let v = overrides
                .iter()
                .find(|(o, _)| o == k)
                .map_or(*v, |(_, v)| *v);
            format!("{k} = {v}")
        })
        .chain(
            overrides
                .iter()
                .filter(|(k, _)| !GOOD.iter().any(|(g, _)| g == k))
                .map(|(k, v)| format!("{k} = {v}")),
        )
        .collect::<Vec<_>>()
        .join("\n  ");
    instance(&attrs)
}

/// Attribute values replacing or adding to the good configuration.
type Overrides<'a> = &'a [(&'a str, &'a str)];

#[test]
fn bad_values_fail_the_plan_on_their_attribute_and_nothing_is_deployed() {
    let emu = emulator();
    let ws = EmulatedWorkspace::new(&terraform(), &emu);
    ws.write(&with(&[]));
    ws.init();
    let cases: &[(Overrides, &[&str])] = &[
        (
            &[("instance_type", "\"1H100.80S.30\"")],
            &[
                "Unknown instance type",
                "Did you mean \"1H100.80S.30V\"?",
                "instance_type",
            ],
        ),
        (
            &[("image", "\"ubuntu-24.04-cuda-12.8-open-dockr\"")],
            &[
                "Unknown image",
                "Did you mean \"ubuntu-24.04-cuda-12.8-open-docker\"?",
            ],
        ),
        (
            &[("location_code", "\"FIN01\"")],
            &["Unknown location", "Did you mean \"FIN-01\"?", "ICE-01"],
        ),
        (
            &[("instance_type", "\"1V100.6V\"")],
            &[
                "Image not available for this instance type",
                "Images for 1V100.6V",
            ],
        ),
        (
            &[("hostname", "\"node_1\"")],
            &["may contain only letters, digits and '-'", "hostname"],
        ),
        (&[("tags", "{ Team = \"ml\" }")], &["uppercase", "\"team\""]),
        (
            &[("contract", "\"MONTHLY\"")],
            &["PAY_AS_YOU_GO", "contract"],
        ),
        (&[("os_volume", "{ size = 0 }")], &["os_volume"]),
        (
            &[
                ("location_code", "\"FIN-02\""),
                ("instance_type", "\"1V100.6V\""),
                ("image", "\"ubuntu-22.04\""),
            ],
            &[
                "No on-demand capacity for 1V100.6V in FIN-02",
                "It has capacity in: FIN-01",
            ],
        ),
    ];
    for (overrides, needles) in cases {
        ws.write(&with(overrides));
        let text = flat(&ws.fails(&["plan", "-input=false", "-no-color"]));
        for n in *needles {
            assert!(
                text.contains(n),
                "{overrides:?}: {n:?} missing from:\n{text}"
            );
        }
    }
    // A zero timeout would end the create right after the deploy, leaving a tainted
    // instance behind: refused at plan, naming the attribute.
    ws.write(&with(&[]).replacen(
        "ssh_key_ids = []",
        "ssh_key_ids = []\n  timeouts {\n    create = \"0\"\n  }",
        1,
    ));
    let text = flat(&ws.fails(&["plan", "-input=false", "-no-color"]));
    assert!(
        text.contains("timeouts.create: must be more than 0"),
        "{text}"
    );
    let key_case = r#"
provider "datacrunch" {}
resource "datacrunch_ssh_key" "k" {
  name       = "k"
  public_key = "-----BEGIN OPENSSH PRIVATE KEY-----"
}
"#;
    ws.write(key_case);
    let text = flat(&ws.fails(&["plan", "-input=false", "-no-color"]));
    assert!(text.contains("is a private key"), "{text}");
    assert!(text.contains("public_key"), "{text}");

    assert_eq!(
        emu.admin.count("POST /v1/instances"),
        0,
        "{:?}",
        emu.admin.counters()
    );
    assert_eq!(emu.admin.count("POST /v1/sshkeys"), 0);
    assert!(live_instances(&emu).is_empty());
}

#[test]
fn missing_credentials_name_the_attribute_and_the_variable() {
    let emu = emulator();
    let mut ws = EmulatedWorkspace::new(&terraform(), &emu);
    ws.remove_env(|k| k.starts_with("DATACRUNCH_CLIENT"));
    ws.write(&with(&[]));
    ws.init();
    let text = flat(&ws.fails(&["plan", "-input=false", "-no-color"]));
    for n in [
        "`client_id`",
        "DATACRUNCH_CLIENT_ID",
        "DATACRUNCH_CLIENT_SECRET",
        "~/.datacrunch/credentials",
    ] {
        assert!(text.contains(n), "{n} missing from:\n{text}");
    }
}

#[test]
fn wrong_credentials_say_which_settings_to_check() {
    let emu = emulator();
    let mut ws = EmulatedWorkspace::new(&terraform(), &emu);
    ws.set_env("DATACRUNCH_CLIENT_SECRET", "not-the-secret");
    ws.write(&with(&[]));
    ws.init();
    let text = flat(&ws.fails(&["plan", "-input=false", "-no-color"]));
    assert!(text.contains("401"), "{text}");
    assert!(text.contains("DATACRUNCH_CLIENT_SECRET"), "{text}");
    assert!(!text.contains("not-the-secret"), "{text}");
}
