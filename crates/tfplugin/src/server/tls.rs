//! AutoMTLS as go-plugin does it. Terraform hands us its client certificate
//! (`PLUGIN_CLIENT_CERT`, PEM) and pins the server certificate we print in
//! the handshake line. Terraform's certificate is a self-signed CA cert on
//! P-521/SHA-512, which webpki-style chain verification refuses as an end
//! entity, so we verify it by exact DER equality instead and check the TLS
//! handshake signatures with aws-lc-rs (which supports P-521).

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("PLUGIN_CLIENT_CERT does not hold a PEM certificate: {0}")]
    ClientCert(String),
    #[error("generating the server certificate failed: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("reading /dev/urandom for the server key failed: {0}")]
    Random(std::io::Error),
    #[error("building the TLS configuration failed: {0}")]
    Config(#[from] rustls::Error),
}

/// The ephemeral server identity: DER certificate and its private key.
pub struct ServerIdentity {
    pub cert_der: Vec<u8>,
    key_der: Vec<u8>,
}

/// PKCS#8 v1 header of an Ed25519 private key (RFC 8410); the 32-byte seed follows.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// A fresh self-signed certificate for `localhost`, a CA like go-plugin's,
/// because the client pins it as its root.
///
/// The key is Ed25519 seeded straight from the kernel: the first use of
/// aws-lc's random generator costs tens of milliseconds, and Ed25519 signs
/// deterministically, so the handshake line goes out without waiting for it
/// (see [`warm_up`]). Go's TLS stack accepts Ed25519 certificates.
pub fn generate_identity() -> Result<ServerIdentity, TlsError> {
    let mut key_der = ED25519_PKCS8_PREFIX.to_vec();
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut seed))
        .map_err(TlsError::Random)?;
    key_der.extend_from_slice(&seed);
    let key = KeyPair::try_from(key_der.as_slice())?;
    let mut params = CertificateParams::new(vec!["localhost".to_string()])?;
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params
        .distinguished_name
        .push(DnType::OrganizationName, "tfplugin");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::KeyCertSign,
    ];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let cert = params.self_signed(&key)?;
    Ok(ServerIdentity {
        cert_der: cert.der().to_vec(),
        key_der,
    })
}

/// Initialises aws-lc's random generator on a background thread, so that
/// its one-off cost overlaps with the handshake instead of delaying the
/// first TLS connection.
pub fn warm_up() {
    std::thread::spawn(|| {
        let mut b = [0u8; 16];
        let _ = rustls::crypto::aws_lc_rs::default_provider()
            .secure_random
            .fill(&mut b);
    });
}

/// Parses the PEM client certificate Terraform passes in the environment.
pub fn parse_client_cert(pem: &str) -> Result<Vec<u8>, TlsError> {
    CertificateDer::from_pem_slice(pem.as_bytes())
        .map(|c| c.to_vec())
        .map_err(|e| TlsError::ClientCert(e.to_string()))
}

/// The server TLS configuration: our identity, the pinned client
/// certificate required, ALPN `h2` (grpc-go ≥ 1.67 insists on it).
pub fn server_config(
    identity: &ServerIdentity,
    client_cert_der: Vec<u8>,
) -> Result<rustls::ServerConfig, TlsError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = Arc::new(PinnedClientCert {
        der: client_cert_der,
        provider: provider.clone(),
    });
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(identity.key_der.clone()));
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![CertificateDer::from(identity.cert_der.clone())], key)?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

/// Accepts exactly one client certificate, compared byte for byte.
#[derive(Debug)]
struct PinnedClientCert {
    der: Vec<u8>,
    provider: Arc<CryptoProvider>,
}

impl ClientCertVerifier for PinnedClientCert {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.der.as_slice() {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
