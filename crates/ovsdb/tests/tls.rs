//! `ssl:` remotes against a real `ovsdb-server --remote=pssl:...`, with a CA and
//! certificates made by the `openssl` CLI for each run.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use ovsdb::monitor::TableMonitor;
use ovsdb::remote::Remote;
use ovsdb::session::{Session, SessionConfig};
use ovsdb::tls::TlsConfig;
use ovsdb::{Client, Datum, Error, Operation, Row};
use testbed::Daemon;

const NB: &str = "OVN_Northbound";

fn openssl(dir: &Path, args: &[&str]) {
    testbed::run(
        Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .stderr(Stdio::null()),
    );
}

/// A CA named `ca` and a key+certificate signed by it for each of `names`.
fn make_pki(dir: &Path, ca: &str, names: &[&str]) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &format!("{ca}.key"),
            "-out",
            &format!("{ca}.pem"),
            "-days",
            "2",
            "-subj",
            &format!("/CN={ca}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    let ext = dir.join("leaf.ext");
    std::fs::write(
        &ext,
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=IP:127.0.0.1\n",
    )
    .unwrap();
    for n in names {
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                &format!("{n}.key"),
                "-out",
                &format!("{n}.csr"),
                "-subj",
                &format!("/CN={n}"),
            ],
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{n}.csr"),
                "-CA",
                &format!("{ca}.pem"),
                "-CAkey",
                &format!("{ca}.key"),
                "-CAcreateserial",
                "-out",
                &format!("{n}.pem"),
                "-days",
                "2",
                "-extfile",
                "leaf.ext",
            ],
        );
    }
}

struct SslServer {
    port: u16,
    dir: PathBuf,
    _daemon: Daemon,
    _tmp: tempfile::TempDir,
}

fn start_ssl_server() -> SslServer {
    let tmp = tempfile::Builder::new().prefix("rovn-tls-").tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    make_pki(&dir, "ca", &["server", "client"]);
    make_pki(&dir, "otherca", &["intruder"]);
    let db = dir.join("db.db");
    testbed::run(
        Command::new("ovsdb-tool")
            .arg("create")
            .arg(&db)
            .arg(testbed::nb_schema()),
    );
    let port = testbed::free_tcp_port();
    let mut cmd = Command::new("ovsdb-server");
    cmd.arg(&db)
        .arg(format!("--private-key={}", dir.join("server.key").display()))
        .arg(format!("--certificate={}", dir.join("server.pem").display()))
        .arg(format!("--ca-cert={}", dir.join("ca.pem").display()))
        .arg(format!("--remote=pssl:{port}:127.0.0.1"))
        .arg(format!("--unixctl={}", dir.join("ctl").display()))
        .arg(format!("--log-file={}", dir.join("ovsdb-server.log").display()))
        .arg("--no-chdir")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let daemon = Daemon::spawn("ovsdb-server", &mut cmd);
    assert!(testbed::wait_until(Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    }));
    SslServer {
        port,
        dir,
        _daemon: daemon,
        _tmp: tmp,
    }
}

fn tls(dir: &Path, who: &str, ca: &str) -> TlsConfig {
    TlsConfig::from_files(
        &dir.join(format!("{who}.key")),
        &dir.join(format!("{who}.pem")),
        &dir.join(format!("{ca}.pem")),
    )
    .unwrap()
}

#[tokio::test]
async fn ssl_remote_with_mutual_authentication() {
    if !testbed::require(&["ovsdb-server", "ovsdb-tool", "openssl"]) {
        return;
    }
    let srv = start_ssl_server();
    let remote = Remote::parse(&format!("ssl:127.0.0.1:{}", srv.port)).unwrap();
    let good = tls(&srv.dir, "client", "ca");

    let (c, _) = Client::connect_with(&remote, Some(&good)).await.unwrap();
    assert!(c.list_dbs().await.unwrap().contains(&NB.to_string()));
    let mut row = Row::new();
    row.insert("name".into(), Datum::string("over-tls"));
    c.transact(
        NB,
        &[Operation::Insert {
            table: "Logical_Switch".into(),
            row,
            uuid_name: None,
        }],
    )
    .await
    .unwrap();

    // a whole session over TLS
    let s = Session::start(
        SessionConfig::new(&remote.to_string(), NB)
            .unwrap()
            .tls(good.clone())
            .monitor("Logical_Switch", TableMonitor::all()),
    );
    s.wait_connected().await.unwrap();
    assert_eq!(s.with_idl(|i| i.len("Logical_Switch")), 1);

    // no TLS settings: a typed error, not a plaintext attempt
    assert!(matches!(Client::connect(&remote).await, Err(Error::Tls(_))));

    // a server whose certificate is not signed by our CA is refused
    let wrong_ca = tls(&srv.dir, "client", "otherca");
    assert!(matches!(
        Client::connect_with(&remote, Some(&wrong_ca)).await,
        Err(Error::Connect { .. })
    ));

    // a client the server's CA did not sign gets nowhere (TLS 1.3 may report it
    // only on first use)
    let intruder = tls(&srv.dir, "intruder", "ca");
    match Client::connect_with(&remote, Some(&intruder)).await {
        Err(_) => {}
        Ok((c, _)) => assert!(c.list_dbs().await.is_err()),
    }
}
