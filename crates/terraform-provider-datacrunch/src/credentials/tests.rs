//! Credentials resolution through the provider's attributes: precedence, file formats,
//! permissions and error messages, and the shared table every credentials reader passes.

use super::*;
use datacrunch_client::DEFAULT_BASE_URL as DEFAULT_SERVER_URL;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

const SENTINEL: &str = "SENTINEL-SECRET-5f3a";

fn write_file(dir: &Path, name: &str, text: &str, mode: u32) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path.display().to_string()
}

fn env<'a>(pairs: &[(&'a str, &'a str)]) -> BTreeMap<&'a str, &'a str> {
    pairs.iter().copied().collect()
}

fn client_credentials(r: &Resolved) -> (&str, &str) {
    match &r.auth {
        Auth::ClientCredentials {
            client_id,
            client_secret,
        } => (client_id.as_str(), client_secret.expose()),
        Auth::Bearer(_) => panic!("expected client credentials, got a bearer token"),
    }
}

#[test]
fn attribute_beats_environment_beats_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(
        dir.path(),
        "creds",
        "[default]\nclient_id = file-id\nclient_secret = file-secret\n",
        0o600,
    );
    let e = env(&[
        ("DATACRUNCH_CLIENT_ID", "env-id"),
        ("DATACRUNCH_CREDENTIALS_FILE", &file),
    ]);
    let input = ConfigInput {
        client_secret: Some(Secret::new("attr-secret")),
        ..Default::default()
    };
    let r = resolve(&input, &e).unwrap();
    assert_eq!(client_credentials(&r), ("env-id", "attr-secret"));
    assert_eq!(r.server_url, DEFAULT_SERVER_URL);

    // Nothing but the file.
    let e = env(&[("DATACRUNCH_CREDENTIALS_FILE", &file)]);
    let r = resolve(&ConfigInput::default(), &e).unwrap();
    assert_eq!(client_credentials(&r), ("file-id", "file-secret"));
}

#[test]
fn verda_spellings_and_base_url() {
    let e = env(&[
        ("VERDA_CLIENT_ID", "v-id"),
        ("VERDA_CLIENT_SECRET", "v-secret"),
        ("VERDA_BASE_URL", "http://127.0.0.1:9/v1"),
        ("HOME", "/nonexistent"),
    ]);
    let r = resolve(&ConfigInput::default(), &e).unwrap();
    assert_eq!(client_credentials(&r), ("v-id", "v-secret"));
    assert_eq!(r.server_url, "http://127.0.0.1:9/v1");
    // The DATACRUNCH_ name wins over the Verda one.
    let e = env(&[
        ("DATACRUNCH_SERVER_URL", "http://127.0.0.1:1/v1"),
        ("VERDA_BASE_URL", "http://127.0.0.1:9/v1"),
        ("DATACRUNCH_BEARER", "tok"),
    ]);
    let r = resolve(&ConfigInput::default(), &e).unwrap();
    assert_eq!(r.server_url, "http://127.0.0.1:1/v1");
    assert_eq!(r.auth, Auth::Bearer(Secret::new("tok")));
}

#[test]
fn bearer_wins_and_empty_strings_are_unset() {
    let input = ConfigInput {
        bearer: Some(Secret::new("token")),
        client_id: Some(String::new()),
        ..Default::default()
    };
    let r = resolve(&input, &env(&[])).unwrap();
    assert_eq!(r.auth, Auth::Bearer(Secret::new("token")));
    let input = ConfigInput {
        bearer: Some(Secret::new("  ")),
        client_id: Some("id".into()),
        client_secret: Some(Secret::new("s")),
        ..Default::default()
    };
    let r = resolve(&input, &env(&[])).unwrap();
    assert_eq!(client_credentials(&r), ("id", "s"));
}

#[test]
fn ini_profiles_secret_aliases_and_default_spelling() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(
        dir.path(),
        "creds",
        "# kdevops\n[DEFAULT]\nclient_id: upper-id\ndatacrunch_api_key = \"upper\\secret\"\n\n\
         [work]\nCLIENT_ID = work-id\napi_key = work-secret\n",
        0o600,
    );
    let input = |profile: Option<&str>| ConfigInput {
        credentials_file: Some(file.clone()),
        profile: profile.map(str::to_owned),
        ..Default::default()
    };
    let r = resolve(&input(None), &env(&[])).unwrap();
    assert_eq!(client_credentials(&r), ("upper-id", "upper\\secret"));
    let r = resolve(&input(Some("work")), &env(&[])).unwrap();
    assert_eq!(client_credentials(&r), ("work-id", "work-secret"));
    let r = resolve(
        &ConfigInput {
            profile: None,
            ..input(None)
        },
        &env(&[("DATACRUNCH_PROFILE", "work")]),
    )
    .unwrap();
    assert_eq!(client_credentials(&r), ("work-id", "work-secret"));

    let err = resolve(&input(Some("home")), &env(&[])).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, CredentialsError::NoProfile { .. }), "{msg}");
    assert!(msg.contains("\"home\"") && msg.contains("work"), "{msg}");
}

#[test]
fn json_flat_and_by_profile() {
    let dir = tempfile::tempdir().unwrap();
    let flat = write_file(
        dir.path(),
        "flat.json",
        r#"{"client_id": "j-id", "client_secret": "j-secret"}"#,
        0o400,
    );
    let by_profile = write_file(
        dir.path(),
        "profiles.json",
        r#"{"default": {"client_id": "d-id", "api_key": "d-secret"}}"#,
        0o600,
    );
    for (file, want) in [
        (flat, ("j-id", "j-secret")),
        (by_profile, ("d-id", "d-secret")),
    ] {
        let input = ConfigInput {
            credentials_file: Some(file),
            ..Default::default()
        };
        let r = resolve(&input, &env(&[])).unwrap();
        assert_eq!(client_credentials(&r), want);
    }
    let bad = write_file(dir.path(), "bad.json", "{not json", 0o600);
    let input = ConfigInput {
        credentials_file: Some(bad),
        ..Default::default()
    };
    assert!(matches!(
        resolve(&input, &env(&[])),
        Err(CredentialsError::Malformed { format: "JSON", .. })
    ));
}

#[test]
fn group_or_world_readable_file_is_refused_with_the_chmod_to_run() {
    let dir = tempfile::tempdir().unwrap();
    for mode in [0o644, 0o640, 0o604, 0o660] {
        let file = write_file(
            dir.path(),
            "creds",
            &format!("[default]\nclient_id=i\nclient_secret={SENTINEL}\n"),
            mode,
        );
        let input = ConfigInput {
            credentials_file: Some(file.clone()),
            ..Default::default()
        };
        let err = resolve(&input, &env(&[])).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(&format!("chmod 600 {file}")), "{msg}");
        assert!(msg.contains(&format!("{mode:04o}")), "{msg}");
        assert!(!msg.contains(SENTINEL));
    }
}

#[test]
fn default_file_is_found_under_home_and_optional() {
    let home = tempfile::tempdir().unwrap();
    let home_str = home.path().display().to_string();
    // Missing default file: a clear error naming attributes and variables.
    let err = resolve(&ConfigInput::default(), &env(&[("HOME", &home_str)])).unwrap_err();
    let msg = err.to_string();
    for needle in [
        "`client_id`",
        "`client_secret`",
        "DATACRUNCH_CLIENT_ID",
        "DATACRUNCH_CLIENT_SECRET",
        "~/.datacrunch/credentials",
    ] {
        assert!(msg.contains(needle), "{needle} missing from: {msg}");
    }
    std::fs::create_dir(home.path().join(".datacrunch")).unwrap();
    write_file(
        &home.path().join(".datacrunch"),
        "credentials",
        "[default]\nclient_id=h-id\nclient_secret=h-secret\n",
        0o600,
    );
    let r = resolve(&ConfigInput::default(), &env(&[("HOME", &home_str)])).unwrap();
    assert_eq!(client_credentials(&r), ("h-id", "h-secret"));
}

#[test]
fn missing_secret_names_only_the_secret() {
    let e = env(&[("DATACRUNCH_CLIENT_ID", "id"), ("HOME", "/nonexistent")]);
    let msg = resolve(&ConfigInput::default(), &e)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("`client_secret` not set"), "{msg}");
    assert!(msg.contains("DATACRUNCH_CLIENT_SECRET"), "{msg}");
    assert!(!msg.contains("DATACRUNCH_CLIENT_ID"), "{msg}");
}

#[test]
fn named_file_must_exist() {
    let input = ConfigInput {
        credentials_file: Some("/nonexistent/creds".into()),
        ..Default::default()
    };
    let err = resolve(&input, &env(&[])).unwrap_err();
    assert!(matches!(err, CredentialsError::NotFound { .. }), "{err}");
    assert!(err.to_string().contains("/nonexistent/creds"));
}

/// The same table the client module and the workflow's adapter are tested on: the
/// provider, given the file as `credentials_file` and the profile as `profile`, must
/// see exactly what they see.
#[test]
fn shared_table_of_tricky_files() {
    for case in test_support::credential_cases::load() {
        let input = ConfigInput {
            credentials_file: case.file.clone(),
            profile: case.profile.clone(),
            ..ConfigInput::default()
        };
        let got = resolve(&input, &case.env)
            .map_err(|e| e.to_string())
            .and_then(|r| match r.auth {
                Auth::ClientCredentials {
                    client_id,
                    client_secret,
                } => Ok((client_id, client_secret.expose().to_owned())),
                Auth::Bearer(_) => Err("a bearer token".to_owned()),
            });
        case.check("provider", got);
    }
}

#[test]
fn an_explicit_credentials_file_wins_over_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(
        dir.path(),
        "creds",
        "[default]\nclient_id = file-id\nclient_secret = file\\secret\n",
        0o600,
    );
    let e = env(&[
        ("DATACRUNCH_CLIENT_ID", "env-id"),
        ("DATACRUNCH_CLIENT_SECRET", "env-secret"),
    ]);
    let input = ConfigInput {
        credentials_file: Some(file),
        ..Default::default()
    };
    let r = resolve(&input, &e).unwrap();
    assert_eq!(client_credentials(&r), ("file-id", "file\\secret"));
}

#[test]
fn secrets_never_show_in_debug() {
    let r = Resolved {
        server_url: "x".into(),
        auth: Auth::ClientCredentials {
            client_id: "id".into(),
            client_secret: Secret::new(SENTINEL),
        },
    };
    assert!(!format!("{r:?}").contains(SENTINEL));
    let input = ConfigInput {
        bearer: Some(Secret::new(SENTINEL)),
        ..Default::default()
    };
    assert!(!format!("{input:?}").contains(SENTINEL));
}
