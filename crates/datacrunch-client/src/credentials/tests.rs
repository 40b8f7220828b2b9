//! The credentials module on the shared table of tricky files, plus what the table does
//! not cover: precedence of given values and bearer tokens, permission checks, writing.

use super::*;
use std::os::unix::fs::PermissionsExt;

const SENTINEL: &str = "SENTINEL-SECRET-5f3a";

/// The module's answer in the table's terms.
fn outcome(r: Result<Resolved, CredentialsError>) -> Result<(String, String), String> {
    match r.map_err(|e| e.to_string())?.credentials {
        Credentials::ClientCredentials {
            client_id,
            client_secret,
        } => Ok((client_id, client_secret.expose().to_owned())),
        Credentials::Bearer(_) => Err("a bearer token".into()),
    }
}

#[test]
fn shared_table_of_tricky_files() {
    for case in test_support::credential_cases::load() {
        let request = Request {
            file: case.file.clone(),
            profile: case.profile.clone(),
            ..Request::default()
        };
        case.check("datacrunch-client", outcome(resolve(&request, &case.env)));
    }
}

fn env<'a>(pairs: &[(&'a str, &'a str)]) -> BTreeMap<&'a str, &'a str> {
    pairs.iter().copied().collect()
}

fn write_file(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

#[test]
fn given_values_win_and_bearer_wins_outright() {
    let e = env(&[
        ("DATACRUNCH_CLIENT_ID", "env-id"),
        ("DATACRUNCH_CLIENT_SECRET", "env-secret"),
        ("HOME", "/nonexistent"),
    ]);
    let request = Request {
        client_secret: Some(Secret::new("given")),
        client_id: Some("  ".into()),
        ..Request::default()
    };
    let r = resolve(&request, &e).unwrap();
    assert_eq!(
        outcome(Ok(r.clone())),
        Ok(("env-id".into(), "given".into()))
    );
    assert_eq!(
        r.origins,
        vec![
            (Setting::ClientId, Origin::Env("DATACRUNCH_CLIENT_ID")),
            (Setting::ClientSecret, Origin::Given)
        ]
    );
    assert_eq!(r.describe(), "DATACRUNCH_CLIENT_ID and the configuration");

    let e = env(&[("VERDA_BEARER", "tok"), ("DATACRUNCH_CLIENT_ID", "id")]);
    let r = resolve(&Request::default(), &e).unwrap();
    assert_eq!(r.credentials, Credentials::Bearer(Secret::new("tok")));
    // A blank given bearer is unset.
    let request = Request {
        bearer: Some(Secret::new(" ")),
        client_id: Some("i".into()),
        client_secret: Some(Secret::new("s")),
        ..Request::default()
    };
    assert_eq!(
        outcome(resolve(&request, &env(&[]))),
        Ok(("i".into(), "s".into()))
    );
}

#[test]
fn server_url_given_then_environment_then_default() {
    let e = env(&[("VERDA_BASE_URL", "http://127.0.0.1:9/v1")]);
    assert_eq!(server_url(None, &e), "http://127.0.0.1:9/v1");
    assert_eq!(server_url(Some("https://x/v1"), &e), "https://x/v1");
    assert_eq!(
        server_url(Some(""), &env(&[])),
        crate::config::DEFAULT_BASE_URL
    );
}

#[test]
fn files_group_or_others_may_access_are_refused_with_the_chmod_to_run() {
    let dir = tempfile::tempdir().unwrap();
    for mode in [0o644, 0o640, 0o604, 0o660, 0o602] {
        let file = write_file(
            dir.path(),
            "creds",
            &format!("[default]\nclient_id=i\nclient_secret={SENTINEL}\n"),
            mode,
        );
        let request = Request {
            file: Some(file.display().to_string()),
            ..Request::default()
        };
        let msg = resolve(&request, &env(&[])).unwrap_err().to_string();
        assert!(
            msg.contains(&format!("run `chmod 600 {}`", file.display())),
            "{msg}"
        );
        assert!(msg.contains(&format!("{mode:04o}")), "{msg}");
        assert!(!msg.contains(SENTINEL));
    }
}

#[test]
fn a_symlink_is_judged_by_its_target_and_the_hint_names_the_target() {
    let dir = tempfile::tempdir().unwrap();
    let target = write_file(
        dir.path(),
        "real",
        "[default]\nclient_id=i\nclient_secret=s\n",
        0o644,
    );
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let err = check_private(&link).unwrap_err().to_string();
    let real = target.canonicalize().unwrap();
    assert!(
        err.contains(&link.display().to_string())
            && err.contains(&format!("chmod 600 {}", real.display())),
        "{err}"
    );
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
    check_private(&link).unwrap();
    // A link to a directory, and a dangling default file, are reported, not skipped.
    let to_dir = dir.path().join("to-dir");
    std::os::unix::fs::symlink(dir.path(), &to_dir).unwrap();
    assert!(matches!(
        check_private(&to_dir),
        Err(CredentialsError::NotAFile { .. })
    ));
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".datacrunch")).unwrap();
    std::os::unix::fs::symlink(
        "/nonexistent/x",
        home.path().join(".datacrunch/credentials"),
    )
    .unwrap();
    let home_str = home.path().display().to_string();
    let err = resolve(&Request::default(), &env(&[("HOME", &home_str)])).unwrap_err();
    assert!(matches!(err, CredentialsError::NotFound { .. }), "{err}");
}

#[test]
fn the_owner_refusal_says_what_to_run() {
    // Creating a file owned by someone else needs root; the rule itself is tested in
    // discover::tests, this checks the message built from it.
    let shown = CredentialsError::NotOwned {
        path: "/l".into(),
        target: "/p".into(),
        owner: 1001,
        me: 1000,
    }
    .to_string();
    assert!(
        shown.contains("/l is owned by uid 1001") && shown.contains("run `chown 1000 /p`"),
        "{shown}"
    );
}

#[test]
fn written_profiles_read_back_exactly_and_keep_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/credentials");
    let tricky = ["a\\b\\\\n", " lead", "\"quoted\"", "x=y#z;w", "'"];
    for (i, secret) in tricky.iter().enumerate() {
        write_profile(&path, &format!("p{i}"), "id", &Secret::new(*secret)).unwrap();
    }
    write_profile(&path, "p0", "id-again", &Secret::new("new\\one")).unwrap();
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    for (i, secret) in tricky.iter().enumerate().skip(1) {
        let request = Request {
            file: Some(path.display().to_string()),
            profile: Some(format!("p{i}")),
            ..Request::default()
        };
        assert_eq!(
            outcome(resolve(&request, &env(&[]))),
            Ok(("id".into(), (*secret).to_owned()))
        );
    }
    let request = Request {
        file: Some(path.display().to_string()),
        profile: Some("p0".into()),
        ..Request::default()
    };
    assert_eq!(
        outcome(resolve(&request, &env(&[]))),
        Ok(("id-again".into(), "new\\one".into()))
    );
    let err = write_profile(&path, "p", "id", &Secret::new("two\nlines")).unwrap_err();
    assert!(err.to_string().contains("single line"), "{err}");
}

#[test]
fn missing_names_the_caller_options_and_only_what_is_missing() {
    let request = Request {
        option_name: Some(|s| format!("the provider attribute `{}`", s.name())),
        ..Request::default()
    };
    let e = env(&[("DATACRUNCH_CLIENT_ID", "id"), ("HOME", "/nonexistent")]);
    let msg = resolve(&request, &e).unwrap_err().to_string();
    assert!(msg.contains("`client_secret` not set"), "{msg}");
    assert!(
        msg.contains("Set the provider attribute `client_secret`, or the environment variable DATACRUNCH_CLIENT_SECRET"),
        "{msg}"
    );
    assert!(!msg.contains("DATACRUNCH_CLIENT_ID"), "{msg}");
}

#[test]
fn secrets_never_show_in_debug() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(
        dir.path(),
        "creds",
        &format!("[default]\nclient_id=i\nclient_secret={SENTINEL}\n"),
        0o600,
    );
    let request = Request {
        file: Some(file.display().to_string()),
        bearer: None,
        client_secret: Some(Secret::new("")),
        ..Request::default()
    };
    let r = resolve(&request, &env(&[])).unwrap();
    assert_eq!(r.file.as_deref(), Some(file.as_path()));
    assert!(!format!("{r:?}").contains(SENTINEL));
    assert!(!format!("{request:?}").contains(SENTINEL));
}
