//! SSL remotes (`ssl:HOST:PORT`) over rustls, configured like OVS's
//! `--private-key`, `--certificate` and `--ca-cert`: we present our certificate to
//! the server and accept the server's only if it chains to the CA certificate.
//! As in OVS, the server's host name is not matched against its certificate (OVS
//! PKI certificates name switches and controllers, not hosts); the CA is the trust.

use std::path::Path;
use std::sync::Arc;

use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use tokio_rustls::rustls::crypto::{CryptoProvider, ring};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tokio_rustls::rustls::{
    self, CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use crate::error::Error;

/// Client TLS settings: our key and certificate, and the CA that signs servers'.
#[derive(Clone)]
pub struct TlsConfig {
    config: Arc<ClientConfig>,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsConfig { .. }")
    }
}

fn tls_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Tls(format!("{what}: {e}"))
}

impl TlsConfig {
    /// Reads PEM files, as `--private-key`, `--certificate` and `--ca-cert` name them.
    pub fn from_files(private_key: &Path, certificate: &Path, ca_cert: &Path) -> Result<Self, Error> {
        let read = |p: &Path| std::fs::read(p).map_err(|e| tls_err(&format!("reading {}", p.display()), e));
        Self::from_pem(&read(private_key)?, &read(certificate)?, &read(ca_cert)?)
    }

    /// Builds the configuration from PEM text.
    pub fn from_pem(private_key: &[u8], certificate: &[u8], ca_cert: &[u8]) -> Result<Self, Error> {
        let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut &*private_key)
            .map_err(|e| tls_err("private key", e))?
            .ok_or_else(|| Error::Tls("no private key in PEM".into()))?;
        let certs = pem_certs(certificate, "certificate")?;
        let mut roots = RootCertStore::empty();
        for c in pem_certs(ca_cert, "CA certificate")? {
            roots.add(c).map_err(|e| tls_err("CA certificate", e))?;
        }
        let provider = Arc::new(ring::default_provider());
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| tls_err("CA certificate", e))?;
        let config = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_err("protocol versions", e))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(CaOnlyVerifier { webpki, provider }))
            .with_client_auth_cert(certs, key)
            .map_err(|e| tls_err("certificate/key", e))?;
        Ok(TlsConfig {
            config: Arc::new(config),
        })
    }

    /// Runs the TLS handshake over a connected TCP stream.
    pub async fn connect(
        &self,
        host: &str,
        tcp: TcpStream,
    ) -> Result<tokio_rustls::client::TlsStream<TcpStream>, std::io::Error> {
        let name = ServerName::try_from(host.to_string())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        TlsConnector::from(self.config.clone()).connect(name, tcp).await
    }
}

fn pem_certs(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs = rustls_pemfile::certs(&mut &*pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls_err(what, e))?;
    if certs.is_empty() {
        return Err(Error::Tls(format!("no {what} in PEM")));
    }
    Ok(certs)
}

/// WebPKI chain validation against the CA, without the host-name check.
#[derive(Debug)]
struct CaOnlyVerifier {
    webpki: Arc<WebPkiServerVerifier>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for CaOnlyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // The chain is checked before the name, so a name error means the chain is good.
        match self
            .webpki
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
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
        rustls::crypto::verify_tls13_signature(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_pem_is_a_typed_error() {
        assert!(matches!(TlsConfig::from_pem(b"", b"", b""), Err(Error::Tls(_))));
        assert!(matches!(
            TlsConfig::from_files(Path::new("/nonexistent/k"), Path::new("/x"), Path::new("/y")),
            Err(Error::Tls(_))
        ));
        let junk = b"-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n";
        assert!(TlsConfig::from_pem(b"", junk, junk).is_err());
    }
}
