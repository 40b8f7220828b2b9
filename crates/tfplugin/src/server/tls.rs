//! AutoMTLS as go-plugin does it. Terraform hands us its client certificate
//! (`PLUGIN_CLIENT_CERT`, PEM) and pins the server certificate we print in
//! the handshake line. Terraform's certificate is a self-signed CA cert on
//! P-521/SHA-512, which webpki-style chain verification refuses as an end
//! entity, so we verify it by exact DER equality instead and check the TLS
//! handshake signatures ourselves: with ring, and with RustCrypto's `p521`
//! for the P-521 signature Terraform's client makes (ring has no P-521).
//! ring rather than aws-lc because aws-lc was most of the binary's size and
//! resident memory, paid again by each of the provider processes Terraform
//! starts per command.

use std::sync::Arc;

use p521::ecdsa::signature::Verifier;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{
    verify_tls12_signature, verify_tls13_signature, CryptoProvider, WebPkiSupportedAlgorithms,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{
    alg_id, AlgorithmIdentifier, CertificateDer, InvalidSignature, PrivateKeyDer,
    PrivatePkcs8KeyDer, SignatureVerificationAlgorithm, UnixTime,
};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("PLUGIN_CLIENT_CERT does not hold a PEM certificate: {0}")]
    ClientCert(String),
    #[error("generating the server certificate failed: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("building the TLS configuration failed: {0}")]
    Config(#[from] rustls::Error),
}

/// The ephemeral server identity: DER certificate and its private key.
pub struct ServerIdentity {
    pub cert_der: Vec<u8>,
    key_der: Vec<u8>,
}

/// A fresh self-signed certificate for `localhost`, a CA like go-plugin's,
/// because the client pins it as its root.
///
/// The key is Ed25519: generated and used for signing in microseconds, where
/// a P-256 or RSA key costs more per process start. Go's TLS stack accepts
/// Ed25519 certificates.
pub fn generate_identity() -> Result<ServerIdentity, TlsError> {
    let key = KeyPair::generate_for(&rcgen::PKCS_ED25519)?;
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
        key_der: key.serialize_der(),
    })
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
    let provider = Arc::new(rustls::crypto::ring::default_provider());
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
        verify_tls12_signature(message, cert, dss, self.algorithms_for(dss.scheme))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, self.algorithms_for(dss.scheme))
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        let mut schemes = self
            .provider
            .signature_verification_algorithms
            .supported_schemes();
        schemes.extend(P521_SHA512.supported_schemes());
        schemes
    }
}

impl PinnedClientCert {
    fn algorithms_for(&self, scheme: SignatureScheme) -> &WebPkiSupportedAlgorithms {
        if scheme == SignatureScheme::ECDSA_NISTP521_SHA512 {
            &P521_SHA512
        } else {
            &self.provider.signature_verification_algorithms
        }
    }
}

/// The one signature scheme Terraform's client key uses that ring cannot check.
static P521_SHA512: WebPkiSupportedAlgorithms = WebPkiSupportedAlgorithms {
    all: &[&EcdsaP521Sha512],
    mapping: &[(SignatureScheme::ECDSA_NISTP521_SHA512, &[&EcdsaP521Sha512])],
};

/// ECDSA on P-521 with SHA-512 (DER signature, SEC1 public key), by RustCrypto.
#[derive(Debug)]
struct EcdsaP521Sha512;

impl SignatureVerificationAlgorithm for EcdsaP521Sha512 {
    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ECDSA_P521
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ECDSA_SHA512
    }

    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        let key =
            p521::ecdsa::VerifyingKey::from_sec1_bytes(public_key).map_err(|_| InvalidSignature)?;
        let signature =
            p521::ecdsa::Signature::from_der(signature).map_err(|_| InvalidSignature)?;
        key.verify(message, &signature)
            .map_err(|_| InvalidSignature)
    }
}

#[cfg(test)]
mod tests {
    use p521::ecdsa::signature::Signer;
    use p521::ecdsa::{Signature, SigningKey, VerifyingKey};

    use super::*;

    /// A fixed key; the leading zero byte keeps the scalar below the group order.
    fn key(byte: u8) -> SigningKey {
        let mut scalar = [byte; 66];
        scalar[0] = 0;
        SigningKey::from_slice(&scalar).unwrap()
    }

    fn sec1(key: &SigningKey) -> Vec<u8> {
        VerifyingKey::from(key)
            .to_encoded_point(false)
            .as_bytes()
            .to_vec()
    }

    #[test]
    fn p521_signatures_verify_only_for_their_key_and_message() {
        let signer = key(1);
        let signature: Signature = signer.sign(b"handshake transcript");
        let der = signature.to_der();
        let check = |public: &[u8], message: &[u8], sig: &[u8]| {
            EcdsaP521Sha512.verify_signature(public, message, sig)
        };
        assert!(check(&sec1(&signer), b"handshake transcript", der.as_bytes()).is_ok());
        assert!(check(&sec1(&signer), b"another transcript", der.as_bytes()).is_err());
        assert!(check(&sec1(&key(2)), b"handshake transcript", der.as_bytes()).is_err());
        assert!(check(
            &sec1(&signer),
            b"handshake transcript",
            &signature.to_bytes()
        )
        .is_err());
        assert!(check(b"not a point", b"handshake transcript", der.as_bytes()).is_err());
    }

    #[test]
    fn the_client_verifier_offers_p521_besides_rings_schemes() {
        let verifier = PinnedClientCert {
            der: Vec::new(),
            provider: Arc::new(rustls::crypto::ring::default_provider()),
        };
        let schemes = verifier.supported_verify_schemes();
        assert!(schemes.contains(&SignatureScheme::ECDSA_NISTP521_SHA512));
        assert!(schemes.contains(&SignatureScheme::ECDSA_NISTP256_SHA256));
        assert!(schemes.contains(&SignatureScheme::ED25519));
    }
}
