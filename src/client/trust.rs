//! Certificates to trust for `https://` besides the usual web roots: a private CA,
//! or a self-signed server such as `serve-sim --tls`.
//!
//! Read once, when the run's options are checked, so an unreadable or empty file
//! is a usage error naming the file before anything is sent, not one failure per
//! request. There is no switch that turns verification off: a benchmark that
//! trusts any certificate would measure whichever server answers.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use pki_types::pem::PemObject;
use pki_types::CertificateDer;

/// The CA certificates of one PEM file.
#[derive(Clone)]
pub struct CaCert {
    path: PathBuf,
    certs: Arc<Vec<CertificateDer<'static>>>,
}

impl std::fmt::Debug for CaCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaCert")
            .field("path", &self.path)
            .field("certificates", &self.certs.len())
            .finish()
    }
}

/// Why a CA file cannot be used; the message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum CaCertError {
    #[error("cannot read the CA certificate file {}: {error}", path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(
        "{} is not a PEM certificate file ({why}); give the server's CA certificate \
         (a `-----BEGIN CERTIFICATE-----` block), e.g. the file `serve-sim --tls-cert-out` wrote",
        path.display()
    )]
    NotPem { path: PathBuf, why: String },
    #[error(
        "{} holds no certificate (no `-----BEGIN CERTIFICATE-----` block); give the \
         server's CA certificate, not its key",
        path.display()
    )]
    Empty { path: PathBuf },
}

impl CaCert {
    /// Reads every certificate in the PEM file at `path`.
    pub fn load(path: &Path) -> Result<CaCert, CaCertError> {
        let text = std::fs::read(path).map_err(|error| CaCertError::Read {
            path: path.to_path_buf(),
            error,
        })?;
        let certs = CertificateDer::pem_slice_iter(&text)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| CaCertError::NotPem {
                path: path.to_path_buf(),
                why: e.to_string(),
            })?;
        if certs.is_empty() {
            return Err(CaCertError::Empty {
                path: path.to_path_buf(),
            });
        }
        Ok(CaCert {
            path: path.to_path_buf(),
            certs: Arc::new(certs),
        })
    }

    /// The file the certificates came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The certificates, DER-encoded.
    pub fn certs(&self) -> &[CertificateDer<'static>] {
        &self.certs
    }

    /// `builder`, also trusting these certificates.
    pub fn trust_in(&self, mut builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        for cert in self.certs.iter() {
            // Parsed as DER above; reqwest checks again when the client is built.
            if let Ok(cert) = reqwest::Certificate::from_der(cert) {
                builder = builder.add_root_certificate(cert);
            }
        }
        builder
    }
}

/// Trusts `ca` (if any) in `builder`: for every reqwest client that talks to the
/// target (model discovery, metrics).
pub fn trusting(builder: reqwest::ClientBuilder, ca: Option<&CaCert>) -> reqwest::ClientBuilder {
    match ca {
        Some(ca) => ca.trust_in(builder),
        None => builder,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_an_empty_file_and_a_key_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let e = CaCert::load(&missing).unwrap_err().to_string();
        assert!(
            e.contains("missing.pem") && e.contains("cannot read"),
            "{e}"
        );

        let key = dir.path().join("key.pem");
        let pair = rcgen::KeyPair::generate().unwrap();
        std::fs::write(&key, pair.serialize_pem()).unwrap();
        let e = CaCert::load(&key).unwrap_err().to_string();
        assert!(e.contains("key.pem") && e.contains("no certificate"), "{e}");

        let garbage = dir.path().join("garbage.pem");
        std::fs::write(
            &garbage,
            "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let e = CaCert::load(&garbage).unwrap_err().to_string();
        assert!(e.contains("garbage.pem") && e.contains("not a PEM"), "{e}");
    }

    #[test]
    fn every_certificate_in_the_file_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        let a = rcgen::generate_simple_self_signed(vec!["a".to_string()]).unwrap();
        let b = rcgen::generate_simple_self_signed(vec!["b".to_string()]).unwrap();
        std::fs::write(&path, format!("{}{}", a.cert.pem(), b.cert.pem())).unwrap();
        let ca = CaCert::load(&path).unwrap();
        assert_eq!(ca.certs().len(), 2);
        assert_eq!(ca.certs()[0], *a.cert.der());
    }
}
