//! Connection strings as OVS tools accept them: `unix:PATH`, `tcp:HOST:PORT`,
//! `ssl:HOST:PORT`, and comma-separated lists of those.

use std::fmt;

use tokio::io::{AsyncRead, AsyncWrite};

use crate::error::Error;
use crate::tls::TlsConfig;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remote {
    Unix(String),
    Tcp { host: String, port: u16 },
    Ssl { host: String, port: u16 },
}

impl Remote {
    pub fn parse(s: &str) -> Result<Self, Error> {
        let bad = |why: &str| Error::BadRemote(s.to_string(), why.to_string());
        let (kind, rest) = s
            .split_once(':')
            .ok_or_else(|| bad("expected unix:PATH, tcp:HOST:PORT or ssl:HOST:PORT"))?;
        match kind {
            "unix" if !rest.is_empty() => Ok(Remote::Unix(rest.to_string())),
            "unix" => Err(bad("empty path")),
            "tcp" | "ssl" => {
                let (host, port) = split_host_port(rest).ok_or_else(|| bad("expected HOST:PORT"))?;
                let port: u16 = port.parse().map_err(|_| bad("bad port"))?;
                Ok(if kind == "tcp" {
                    Remote::Tcp { host, port }
                } else {
                    Remote::Ssl { host, port }
                })
            }
            _ => Err(bad("unknown connection type")),
        }
    }

    /// Parses `a,b,c`, skipping empty items and surrounding spaces.
    pub fn parse_list(s: &str) -> Result<Vec<Self>, Error> {
        let list: Vec<Remote> = s
            .split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(Remote::parse)
            .collect::<Result<_, _>>()?;
        if list.is_empty() {
            return Err(Error::BadRemote(s.to_string(), "no remote given".into()));
        }
        Ok(list)
    }
}

/// `[::1]:6641` (IPv6 in brackets) or `1.2.3.4:6641`.
fn split_host_port(s: &str) -> Option<(String, &str)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (h, p) = rest.split_once("]:")?;
        return Some((h.to_string(), p));
    }
    let (h, p) = s.rsplit_once(':')?;
    (!h.is_empty()).then(|| (h.to_string(), p))
}

impl fmt::Display for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hp = |f: &mut fmt::Formatter<'_>, kind: &str, host: &str, port: u16| {
            if host.contains(':') {
                write!(f, "{kind}:[{host}]:{port}")
            } else {
                write!(f, "{kind}:{host}:{port}")
            }
        };
        match self {
            Remote::Unix(p) => write!(f, "unix:{p}"),
            Remote::Tcp { host, port } => hp(f, "tcp", host, *port),
            Remote::Ssl { host, port } => hp(f, "ssl", host, *port),
        }
    }
}

pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// Opens a byte stream to one remote (`ssl:` remotes need [`open_with`] and a
/// [`TlsConfig`]).
pub async fn open(remote: &Remote) -> Result<Box<dyn Stream>, Error> {
    open_with(remote, None).await
}

/// Opens a byte stream to one remote, with TLS settings for `ssl:` remotes.
pub async fn open_with(remote: &Remote, tls: Option<&TlsConfig>) -> Result<Box<dyn Stream>, Error> {
    let err = |source| Error::Connect {
        remote: remote.to_string(),
        source,
    };
    match remote {
        Remote::Unix(path) => Ok(Box::new(
            tokio::net::UnixStream::connect(path).await.map_err(err)?,
        )),
        Remote::Tcp { host, port } => {
            let s = tokio::net::TcpStream::connect((host.as_str(), *port))
                .await
                .map_err(err)?;
            s.set_nodelay(true).ok();
            Ok(Box::new(s))
        }
        Remote::Ssl { host, port } => {
            let Some(tls) = tls else {
                return Err(Error::Tls(format!(
                    "{remote} needs a private key, certificate and CA certificate"
                )));
            };
            let s = tokio::net::TcpStream::connect((host.as_str(), *port))
                .await
                .map_err(err)?;
            s.set_nodelay(true).ok();
            Ok(Box::new(tls.connect(host, s).await.map_err(err)?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_remotes() {
        assert_eq!(
            Remote::parse("unix:/run/ovn/ovnnb_db.sock").unwrap(),
            Remote::Unix("/run/ovn/ovnnb_db.sock".into())
        );
        assert_eq!(
            Remote::parse("tcp:10.0.0.1:6641").unwrap(),
            Remote::Tcp {
                host: "10.0.0.1".into(),
                port: 6641
            }
        );
        assert_eq!(
            Remote::parse("ssl:[::1]:6642").unwrap(),
            Remote::Ssl {
                host: "::1".into(),
                port: 6642
            }
        );
        assert_eq!(
            Remote::parse("ssl:[::1]:6642").unwrap().to_string(),
            "ssl:[::1]:6642"
        );
        let l = Remote::parse_list("tcp:a:1, tcp:b:2,").unwrap();
        assert_eq!(l.len(), 2);
        for bad in [
            "",
            "unix:",
            "tcp:1.2.3.4",
            "tcp::1",
            "tcp:h:99999",
            "pipe:x",
            "tcp:h:p",
        ] {
            assert!(Remote::parse(bad).is_err(), "{bad}");
        }
        assert!(Remote::parse_list(" , ").is_err());
    }
}
