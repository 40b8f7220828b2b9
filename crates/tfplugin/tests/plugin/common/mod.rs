//! Launching the testbed provider the way go-plugin does, and gRPC clients
//! that connect to it over its unix socket with or without mTLS.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use base64::Engine;
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tfplugin::handshake::{COOKIE_KEY, COOKIE_VALUE};
use tonic::transport::{Channel, Endpoint};

/// The testbed binary (integration tests only; the benchmark passes its own).
fn testbed() -> &'static str {
    // option_env! because the benchmark example includes this module too,
    // where cargo does not define the variable (it passes its own binaries).
    match option_env!("CARGO_BIN_EXE_terraform-provider-testbed") {
        Some(bin) => bin,
        None => panic!("the testbed binary is only known to integration tests"),
    }
}

/// A client certificate shaped like Terraform's: self-signed CA, P-521/SHA-512.
pub struct ClientIdentity {
    pub cert_pem: String,
    pub cert_der: Vec<u8>,
    pub key_der: Vec<u8>,
}

pub fn client_identity() -> ClientIdentity {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::KeyEncipherment,
        rcgen::KeyUsagePurpose::KeyCertSign,
    ];
    params.extended_key_usages = vec![
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
    ];
    let cert = params.self_signed(&key).unwrap();
    ClientIdentity {
        cert_pem: cert.pem(),
        cert_der: cert.der().to_vec(),
        key_der: key.serialize_der(),
    }
}

/// A running provider process and what its handshake told us.
pub struct Launched {
    pub child: Child,
    pub handshake: String,
    pub socket: String,
    pub server_cert: Option<Vec<u8>>,
    pub tls_identity: Option<ClientIdentity>,
}

impl Drop for Launched {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the testbed like Terraform does; `client` enables AutoMTLS.
pub fn start_provider(client: Option<&ClientIdentity>) -> Launched {
    start_plugin(testbed(), client)
}

/// [`start_provider`] with extra environment variables for the testbed.
pub fn start_provider_with_env(client: Option<&ClientIdentity>, env: &[(&str, &str)]) -> Launched {
    start_plugin_with_env(testbed(), client, env)
}

/// Starts any provider plugin binary like Terraform does.
pub fn start_plugin(bin: &str, client: Option<&ClientIdentity>) -> Launched {
    start_plugin_with_env(bin, client, &[])
}

/// [`start_plugin`] with extra environment variables for the plugin.
pub fn start_plugin_with_env(
    bin: &str,
    client: Option<&ClientIdentity>,
    env: &[(&str, &str)],
) -> Launched {
    let mut cmd = Command::new(bin);
    cmd.envs(env.iter().copied())
        .env(COOKIE_KEY, COOKIE_VALUE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
        .env_remove("PLUGIN_CLIENT_CERT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(if std::env::var_os("PLUGIN_STDERR").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        });
    if let Some(c) = client {
        cmd.env("PLUGIN_CLIENT_CERT", &c.cert_pem);
    }
    let mut child = cmd.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let handshake = line.trim_end().to_string();
    let fields: Vec<&str> = handshake.split('|').collect();
    assert_eq!(fields.len(), 6, "handshake line: {handshake:?}");
    let server_cert = (!fields[5].is_empty()).then(|| {
        base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(fields[5])
            .expect("base64 cert")
    });
    Launched {
        socket: fields[3].to_string(),
        child,
        handshake,
        server_cert,
        tls_identity: client.map(|c| ClientIdentity {
            cert_pem: c.cert_pem.clone(),
            cert_der: c.cert_der.clone(),
            key_der: c.key_der.clone(),
        }),
    }
}

/// Accepts exactly the server certificate from the handshake line, as the
/// Go client does by pinning it as its only root.
#[derive(Debug)]
struct PinnedServer(Vec<u8>, Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.0.as_slice() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "unexpected server certificate".into(),
            ))
        }
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.1.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.1.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.1.signature_verification_algorithms.supported_schemes()
    }
}

/// An mTLS gRPC channel over the unix socket, presenting `id`.
pub async fn connect_tls(
    p: &Launched,
    id: &ClientIdentity,
) -> Result<Channel, tonic::transport::Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let server_cert = p.server_cert.clone().expect("TLS handshake line");
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedServer(server_cert, provider)))
        .with_client_auth_cert(
            vec![CertificateDer::from(id.cert_der.clone())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(id.key_der.clone())),
        )
        .unwrap();
    cfg.alpn_protocols = vec![b"h2".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(cfg));
    let socket = p.socket.clone();
    Endpoint::from_static("http://localhost")
        .connect_with_connector(tower::service_fn(move |_| {
            let (connector, socket) = (connector.clone(), socket.clone());
            async move {
                let stream = tokio::net::UnixStream::connect(socket).await?;
                let name = ServerName::try_from("localhost").unwrap();
                let tls = connector.connect(name, stream).await?;
                Ok::<_, std::io::Error>(TokioIo::new(tls))
            }
        }))
        .await
}

/// A plaintext gRPC channel over the unix socket.
pub async fn connect_plain(p: &Launched) -> Result<Channel, tonic::transport::Error> {
    connect_socket(p.socket.clone()).await
}

/// A plaintext gRPC channel over the unix socket at `socket`.
pub async fn connect_socket(socket: String) -> Result<Channel, tonic::transport::Error> {
    Endpoint::from_static("http://localhost")
        .connect_with_connector(tower::service_fn(move |_| {
            let socket = socket.clone();
            async move {
                let stream = tokio::net::UnixStream::connect(socket).await?;
                Ok::<_, std::io::Error>(TokioIo::new(stream))
            }
        }))
        .await
}
