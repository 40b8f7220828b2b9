//! go-plugin's launch protocol: the magic cookie that tells us Terraform
//! started us, the protocol version negotiation, the unix socket, and the
//! one handshake line on stdout (`1|6|unix|PATH|grpc|CERT`).

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;

pub const COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
pub const COOKIE_VALUE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

/// Why the process cannot serve.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    #[error(
        "This binary is a plugin. These are not meant to be executed directly.\n\
         Please execute the program that consumes these plugins (terraform), which will\n\
         load any plugins automatically. To debug the provider, run it with --debug."
    )]
    NotLaunchedByTerraform,
    #[error("Terraform offers plugin protocol versions {0:?}, but this provider speaks only version 6; use Terraform 1.0 or later")]
    NoCommonVersion(String),
    #[error("cannot listen on a unix socket in {dir}: {source}")]
    Listen {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write the handshake line: {0}")]
    Stdout(std::io::Error),
}

/// Checks the magic cookie and that protocol 6 is on offer.
pub fn check_environment(get: impl Fn(&str) -> Option<String>) -> Result<(), HandshakeError> {
    if get(COOKIE_KEY).as_deref() != Some(COOKIE_VALUE) {
        return Err(HandshakeError::NotLaunchedByTerraform);
    }
    // Absent means the client takes the plugin's default, which is 6.
    if let Some(v) = get("PLUGIN_PROTOCOL_VERSIONS") {
        if !v.split(',').any(|x| x.trim() == "6") {
            return Err(HandshakeError::NoCommonVersion(v));
        }
    }
    Ok(())
}

/// A fresh socket path in `PLUGIN_UNIX_SOCKET_DIR` or the temp dir.
pub fn socket_path(dir_override: Option<String>) -> PathBuf {
    let dir = dir_override
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    dir.join(format!("plugin{}-{nanos}", std::process::id()))
}

/// The line go-plugin clients parse: core version 1, app protocol 6,
/// network, address, protocol grpc, and the server cert (DER, base64
/// without padding) when TLS is on.
pub fn handshake_line(socket: &Path, cert_der: Option<&[u8]>) -> String {
    let cert = cert_der
        .map(|d| base64::engine::general_purpose::STANDARD_NO_PAD.encode(d))
        .unwrap_or_default();
    format!("1|6|unix|{}|grpc|{cert}\n", socket.display())
}

/// Writes the handshake line to stdout: the only stdout write of a served provider.
pub fn announce(line: &str) -> Result<(), HandshakeError> {
    let mut out = std::io::stdout().lock();
    out.write_all(line.as_bytes())
        .and_then(|_| out.flush())
        .map_err(HandshakeError::Stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(a, _)| *a == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn cookie_and_versions() {
        assert!(matches!(
            check_environment(env(&[])),
            Err(HandshakeError::NotLaunchedByTerraform)
        ));
        assert!(check_environment(env(&[
            (COOKIE_KEY, COOKIE_VALUE),
            ("PLUGIN_PROTOCOL_VERSIONS", "5,6")
        ]))
        .is_ok());
        assert!(matches!(
            check_environment(env(&[
                (COOKIE_KEY, COOKIE_VALUE),
                ("PLUGIN_PROTOCOL_VERSIONS", "4,5")
            ])),
            Err(HandshakeError::NoCommonVersion(_))
        ));
    }

    #[test]
    fn line_format() {
        let l = handshake_line(Path::new("/tmp/p1"), Some(&[0xff, 0xee]));
        assert_eq!(l, "1|6|unix|/tmp/p1|grpc|/+4\n");
        assert_eq!(
            handshake_line(Path::new("/tmp/p1"), None),
            "1|6|unix|/tmp/p1|grpc|\n"
        );
        let p = socket_path(Some("/x".into()));
        assert!(
            p.starts_with("/x")
                && p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("plugin")
        );
    }
}
