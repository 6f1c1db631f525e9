//! Connecting to PostgreSQL the way the URL asks: plain, or over TLS (rustls, ring provider) with
//! libpq's `sslmode` meanings.
//!
//! | `sslmode`     | what happens                                                                  |
//! |---------------|-------------------------------------------------------------------------------|
//! | (absent)      | plain, as before TLS was supported                                            |
//! | `disable`     | plain                                                                         |
//! | `prefer`      | TLS if the server offers it, else plain; the certificate is not checked       |
//! | `require`     | TLS or fail; the certificate is not checked, unless `sslrootcert` is given:  |
//! |               | then as `verify-ca` (libpq does the same)                                     |
//! | `verify-ca`   | TLS, the certificate must chain to `sslrootcert`; its name is not checked     |
//! | `verify-full` | TLS, the certificate must chain to `sslrootcert` and name the host connected |
//!
//! `sslrootcert` is a PEM file of trusted certificates, or `system` for the Mozilla roots (the
//! default for `verify-ca` and `verify-full` without one). `sslmode=allow` and client
//! certificates (`sslcert`, `sslkey`) are refused with a message rather than half-supported.

use std::sync::Arc;

use postgres::{Client, Config, NoTls};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{ring, verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::StoreError;

/// How the connection is secured, from the URL's `sslmode` and `sslrootcert`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SslMode {
    /// No `sslmode`: plain.
    Unset,
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn as_str(&self) -> &'static str {
        match self {
            SslMode::Unset => "(unset)",
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// A connection URL split into what the `postgres` crate reads and the TLS settings it does not.
#[derive(Debug, PartialEq, Eq)]
pub struct TlsSettings {
    /// The URL for the `postgres` crate: `sslrootcert` removed, `verify-*` written as `require`.
    pub url: String,
    pub mode: SslMode,
    pub root_cert: Option<String>,
}

/// Splits the TLS settings off a `postgres://` URL. A key=value connection string is passed on
/// unchanged (with its `sslmode`, which the `postgres` crate reads itself).
pub fn tls_settings(url: &str) -> Result<TlsSettings, StoreError> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok(TlsSettings {
            url: url.to_string(),
            mode: SslMode::Unset,
            root_cert: None,
        });
    };
    let mut mode = SslMode::Unset;
    let mut root_cert = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(value);
        match key {
            "sslmode" => {
                mode = match value.as_str() {
                    "disable" => SslMode::Disable,
                    "prefer" => SslMode::Prefer,
                    "require" => SslMode::Require,
                    "verify-ca" => SslMode::VerifyCa,
                    "verify-full" => SslMode::VerifyFull,
                    other => {
                        return Err(StoreError::PostgresSettings(format!(
                            "sslmode={other} is not supported; use disable, prefer, require, \
                             verify-ca or verify-full"
                        )))
                    }
                };
            }
            "sslrootcert" => root_cert = Some(value),
            "sslcert" | "sslkey" | "sslpassword" => {
                return Err(StoreError::PostgresSettings(format!(
                    "{key}: client certificates are not supported; authenticate with a password"
                )))
            }
            _ => kept.push(pair.to_string()),
        }
    }
    if mode == SslMode::Require && root_cert.is_some() {
        mode = SslMode::VerifyCa;
    }
    let for_driver = match mode {
        SslMode::Unset => None,
        SslMode::Disable => Some("disable"),
        SslMode::Prefer => Some("prefer"),
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => Some("require"),
    };
    if let Some(driver_mode) = for_driver {
        kept.push(format!("sslmode={driver_mode}"));
    }
    let url = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok(TlsSettings {
        url,
        mode,
        root_cert,
    })
}

/// Opens a client on `url`, over TLS when its `sslmode` asks for it (see the module documentation).
pub fn connect(url: &str) -> Result<Client, StoreError> {
    let settings = tls_settings(url)?;
    if matches!(settings.mode, SslMode::Unset | SslMode::Disable) {
        return Ok(Client::connect(&settings.url, NoTls)?);
    }
    let tls = MakeRustlsConnect::new(client_config(&settings)?);
    Client::connect(&settings.url, tls).map_err(|e| tls_error(&settings, e))
}

fn tls_error(settings: &TlsSettings, error: postgres::Error) -> StoreError {
    let target = settings
        .url
        .parse::<Config>()
        .map(|c| {
            let hosts: Vec<String> = c
                .get_hosts()
                .iter()
                .map(|h| match h {
                    postgres::config::Host::Tcp(name) => name.clone(),
                    postgres::config::Host::Unix(path) => path.display().to_string(),
                })
                .collect();
            let ports: Vec<String> = c.get_ports().iter().map(u16::to_string).collect();
            format!("{} port {}", hosts.join(","), ports.join(","))
        })
        .unwrap_or_else(|_| "the server".into());
    // postgres::Error's Display leaves out its cause, which is what says why TLS failed.
    let mut message = error.to_string();
    let mut cause = std::error::Error::source(&error);
    while let Some(inner) = cause {
        message.push_str(&format!(": {inner}"));
        cause = inner.source();
    }
    let hint = if message.contains("server does not support TLS") {
        " (the server refused TLS: turn ssl on in its postgresql.conf, or connect with \
         sslmode=prefer or disable)"
    } else if message.contains("certificate") || message.contains("Certificate") {
        " (the server's certificate did not verify against sslrootcert)"
    } else {
        ""
    };
    StoreError::PostgresTls {
        mode: settings.mode.as_str(),
        target,
        error: format!("{message}{hint}"),
    }
}

/// ring, the provider the rest of the workspace builds (aws-lc-rs, rustls' default, compiles a large
/// C library). rustls 0.23.48 deprecates it for lacking post-quantum key exchange; classical ECDHE
/// is what PostgreSQL servers offer today.
#[allow(deprecated)]
fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring::default_provider())
}

fn client_config(settings: &TlsSettings) -> Result<ClientConfig, StoreError> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::PostgresSettings(format!("TLS protocol versions: {e}")))?;
    let config = match settings.mode {
        SslMode::Prefer | SslMode::Require => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(LenientVerifier {
                chain: None,
                provider: provider(),
            }))
            .with_no_client_auth(),
        SslMode::VerifyCa | SslMode::VerifyFull => {
            let roots = Arc::new(root_store(settings.root_cert.as_deref())?);
            let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider())
                .build()
                .map_err(|e| StoreError::PostgresSettings(format!("sslrootcert: {e}")))?;
            let verifier: Arc<dyn ServerCertVerifier> = if settings.mode == SslMode::VerifyCa {
                Arc::new(LenientVerifier {
                    chain: Some(webpki),
                    provider: provider(),
                })
            } else {
                webpki
            };
            builder
                .dangerous()
                .with_custom_certificate_verifier(verifier)
                .with_no_client_auth()
        }
        SslMode::Unset | SslMode::Disable => {
            return Err(StoreError::PostgresSettings(
                "a TLS configuration was asked for a plain connection".into(),
            ))
        }
    };
    Ok(config)
}

/// The trusted roots: the PEM file `path`, or the Mozilla roots for `system` or none.
fn root_store(path: Option<&str>) -> Result<RootCertStore, StoreError> {
    let mut roots = RootCertStore::empty();
    match path {
        None | Some("system") => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| StoreError::PostgresSettings(format!("sslrootcert {path}: {e}")))?;
            if certs.is_empty() {
                return Err(StoreError::PostgresSettings(format!(
                    "sslrootcert {path}: no PEM certificate in it"
                )));
            }
            for cert in certs {
                roots.add(cert).map_err(|e| {
                    StoreError::PostgresSettings(format!("sslrootcert {path}: {e}"))
                })?;
            }
        }
    }
    Ok(roots)
}

/// The server's certificate as the weaker modes check it, the handshake's signatures always
/// checked: `prefer` and `require` without a root certificate (`chain: None`) accept any
/// certificate: encrypted, the server unauthenticated (as libpq); `verify-ca` requires the chain
/// to verify but accepts a certificate naming another host.
#[derive(Debug)]
struct LenientVerifier {
    chain: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for LenientVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
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

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// `%XX` escapes decoded (a path in `sslrootcert` may be written with them); other bytes kept.
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_settings_are_split_off_the_url() {
        let s = tls_settings(
            "postgres://u@h:5/db?sslmode=verify-full&sslrootcert=%2Ftmp%2Fca.pem&options=-cx",
        )
        .unwrap();
        assert_eq!(s.mode, SslMode::VerifyFull);
        assert_eq!(s.root_cert.as_deref(), Some("/tmp/ca.pem"));
        assert_eq!(s.url, "postgres://u@h:5/db?options=-cx&sslmode=require");

        let s = tls_settings("postgres://u@h/db?sslmode=require&sslrootcert=ca.pem").unwrap();
        assert_eq!(
            s.mode,
            SslMode::VerifyCa,
            "require with a root certificate verifies the chain"
        );

        let s = tls_settings("postgres://u@h/db").unwrap();
        assert_eq!(
            (s.mode, s.url.as_str()),
            (SslMode::Unset, "postgres://u@h/db")
        );
        let s = tls_settings("postgres://u@h/db?sslmode=disable").unwrap();
        assert_eq!(s.url, "postgres://u@h/db?sslmode=disable");

        for bad in ["sslmode=allow", "sslmode=yes", "sslcert=c.pem"] {
            let err = tls_settings(&format!("postgres://u@h/db?{bad}")).unwrap_err();
            assert!(
                matches!(err, StoreError::PostgresSettings(_)),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn percent_escapes_decode() {
        assert_eq!(percent_decode("%2Fa%2fb"), "/a/b");
        assert_eq!(percent_decode("50%"), "50%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }

    #[test]
    fn a_missing_or_empty_root_file_is_a_settings_error() {
        let err = root_store(Some("/nonexistent/ca.pem")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
        let empty = tempfile::NamedTempFile::new().unwrap();
        let path = empty.path().to_str().unwrap().to_string();
        assert!(root_store(Some(&path)).is_err());
        assert!(!root_store(None).unwrap().is_empty());
    }
}
