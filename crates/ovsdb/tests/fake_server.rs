//! Behaviour a real ovsdb-server will not show on demand: old servers without
//! `monitor_cond_since`/`monitor_cond`, and broken or hostile peers (malformed JSON,
//! unexpected messages, death in the middle of a message). A scripted server on a
//! unix socket plays the other side.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ovsdb::idl::SyncKind;
use ovsdb::jsonrpc::Framer;
use ovsdb::monitor::TableMonitor;
use ovsdb::remote::Remote;
use ovsdb::session::{Event, Session, SessionConfig};
use ovsdb::{Client, Error};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixListener;

const SCHEMA: &str = r#"{"name": "T", "version": "1.0.0", "tables": {
  "R": {"columns": {"name": {"type": "string"}, "tags": {"type": {"key": "string", "min": 0, "max": "unlimited"}}}}}}"#;

const U1: &str = "11111111-1111-1111-1111-111111111111";
const U2: &str = "22222222-2222-2222-2222-222222222222";

/// What the scripted server does for one request.
enum Step {
    Reply(Value),
    Error(Value),
    /// Raw bytes, e.g. a notification or garbage.
    Raw(Vec<u8>),
    Close,
}

type Script = Arc<dyn Fn(&str, &Value) -> Vec<Step> + Send + Sync>;

struct Fake {
    remote: Remote,
    methods: Arc<Mutex<Vec<String>>>,
    _tmp: tempfile::TempDir,
}

/// Serves every connection with `script` until the test ends.
fn fake(script: Script) -> Fake {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("fake.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let methods = Arc::new(Mutex::new(Vec::new()));
    let log = methods.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let script = script.clone();
            let log = log.clone();
            tokio::spawn(async move {
                let mut framer = Framer::new();
                let mut buf = vec![0u8; 4096];
                loop {
                    let Ok(n) = sock.read(&mut buf).await else { return };
                    if n == 0 {
                        return;
                    }
                    framer.push(&buf[..n]);
                    while let Ok(Some(msg)) = framer.next_message() {
                        let (Some(method), id) = (msg["method"].as_str(), msg["id"].clone()) else {
                            continue;
                        };
                        log.lock().unwrap().push(method.to_string());
                        for step in script(method, &msg["params"]) {
                            let bytes = match step {
                                Step::Reply(r) => json!({"id": id, "result": r, "error": null})
                                    .to_string()
                                    .into_bytes(),
                                Step::Error(e) => json!({"id": id, "result": null, "error": e})
                                    .to_string()
                                    .into_bytes(),
                                Step::Raw(b) => b,
                                Step::Close => return,
                            };
                            if sock.write_all(&bytes).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    Fake {
        remote: Remote::Unix(path.display().to_string()),
        methods,
        _tmp: tmp,
    }
}

fn unknown() -> Vec<Step> {
    vec![Step::Error(json!("unknown method"))]
}

#[tokio::test]
async fn falls_back_to_monitor_cond_then_monitor() {
    let schema: Value = serde_json::from_str(SCHEMA).unwrap();
    let srv = fake(Arc::new(move |method, params| match method {
        "get_schema" => vec![Step::Reply(schema.clone())],
        "monitor_cond_since" | "monitor_cond" => unknown(),
        "monitor" => {
            assert_eq!(
                params[2]["R"]["columns"],
                json!(["name", "tags"]),
                "plain monitor takes one request object"
            );
            let update = json!({"id": null, "method": "update", "params": [params[1].clone(),
                {"R": {U1: {"old": {"name": "a"}, "new": {"name": "a2", "tags": ["set", ["x", "y"]]}},
                       U2: {"new": {"name": "b"}}}}]});
            vec![
                Step::Reply(json!({"R": {U1: {"new": {"name": "a", "tags": "x"}}}})),
                Step::Raw(update.to_string().into_bytes()),
            ]
        }
        "echo" => vec![Step::Reply(params.clone())],
        _ => unknown(),
    }));
    let s = Session::start(
        SessionConfig::with_remotes(vec![srv.remote.clone()], "T").monitor("R", TableMonitor::all()),
    );
    let mut ev = s.events();
    s.wait_connected().await.unwrap();
    let sync = loop {
        if let Ok(Ok(Event::Connected { sync, .. })) =
            tokio::time::timeout(Duration::from_secs(5), ev.recv()).await
        {
            break sync;
        }
    };
    assert_eq!(sync, Some(SyncKind::Replaced));
    let mut seq = s.seqno();
    while s.with_idl(|i| i.len("R")) != 2 {
        seq = tokio::time::timeout(Duration::from_secs(5), s.changed(seq))
            .await
            .unwrap()
            .unwrap();
    }
    let tags = s.with_idl(|i| i.row("R", &U1.parse().unwrap()).unwrap()["tags"].strings());
    assert_eq!(tags, vec!["x", "y"]);
    let m = srv.methods.lock().unwrap().clone();
    // _Server is probed with monitor_cond first (unknown here: no cluster checks)
    let mons: Vec<&String> = m.iter().filter(|x| x.starts_with("monitor")).collect();
    assert_eq!(
        mons,
        ["monitor_cond", "monitor_cond_since", "monitor_cond", "monitor"]
    );
}

#[tokio::test]
async fn malformed_update_makes_the_session_resync() {
    let schema: Value = serde_json::from_str(SCHEMA).unwrap();
    let n = Arc::new(Mutex::new(0));
    let srv = fake(Arc::new(move |method, params| match method {
        "get_schema" => vec![Step::Reply(schema.clone())],
        "monitor_cond_since" => {
            let mut n = n.lock().unwrap();
            *n += 1;
            let mut steps = vec![Step::Reply(
                json!([false, "t1", {"R": {U1: {"initial": {"name": "a"}}}}]),
            )];
            if *n == 1 {
                // a diff of the wrong type for the column
                let bad = json!({"id": null, "method": "update3", "params": [params[1].clone(), "t2",
                    {"R": {U1: {"modify": {"name": 42}}}}]});
                steps.push(Step::Raw(bad.to_string().into_bytes()));
            }
            steps
        }
        _ => unknown(),
    }));
    let s = Session::start(
        SessionConfig::with_remotes(vec![srv.remote.clone()], "T").monitor("R", TableMonitor::all()),
    );
    let mut ev = s.events();
    let reason = loop {
        match tokio::time::timeout(Duration::from_secs(5), ev.recv())
            .await
            .unwrap()
            .unwrap()
        {
            Event::Disconnected { reason, .. } => break reason,
            _ => continue,
        }
    };
    assert!(reason.contains("bad update"), "{reason}");
    loop {
        if let Event::Connected { .. } = tokio::time::timeout(Duration::from_secs(5), ev.recv())
            .await
            .unwrap()
            .unwrap()
        {
            break;
        }
    }
    assert_eq!(s.with_idl(|i| i.len("R")), 1);
}

async fn connect(srv: &Fake) -> Client {
    Client::connect(&srv.remote).await.unwrap().0
}

#[tokio::test]
async fn unexpected_messages_do_not_disturb_the_client() {
    let srv = fake(Arc::new(|method, params| match method {
        "echo" => vec![
            // a reply nobody asked for, one with a string id, a notification nobody
            // expects, a server request we do not implement, then the real reply
            Step::Raw(br#"{"id": 999999, "result": [], "error": null}"#.to_vec()),
            Step::Raw(br#"{"id": "weird", "result": [], "error": null}"#.to_vec()),
            Step::Raw(br#"{"id": null, "method": "surprise", "params": [1]}"#.to_vec()),
            Step::Raw(br#"{"id": "srv1", "method": "frobnicate", "params": []}"#.to_vec()),
            Step::Raw(b"\n  \n".to_vec()),
            Step::Reply(params.clone()),
        ],
        "lock" => vec![Step::Reply(json!({"unexpected": true}))],
        "transact" => vec![Step::Reply(json!({"not": "an array"}))],
        "get_schema" => vec![Step::Reply(json!({"name": 5}))],
        _ => unknown(),
    }));
    let (c, mut notes) = Client::connect(&srv.remote).await.unwrap();
    for _ in 0..3 {
        c.echo().await.unwrap();
    }
    assert_eq!(notes.recv().await.unwrap().method, "surprise");
    assert!(matches!(c.lock("x").await, Err(Error::Protocol(_))));
    assert!(matches!(c.transact("T", &[]).await, Err(Error::Protocol(_))));
    assert!(matches!(c.get_schema("T").await, Err(Error::Schema(_))));
    assert!(matches!(c.list_dbs().await, Err(Error::Rpc { .. })));
    c.echo().await.unwrap();
}

#[tokio::test]
async fn garbage_and_death_mid_message_end_the_connection_cleanly() {
    for ending in [
        b"{\"id\": 1, \"result\": [tru".to_vec(),
        b"this is not json".to_vec(),
        b"{\"id\": 1 \"result\": 2}".to_vec(),
        b"[1, 2, 3]".to_vec(),
        b"\"a bare string\"".to_vec(),
    ] {
        let srv = fake(Arc::new(move |_, _| vec![Step::Raw(ending.clone()), Step::Close]));
        let c = connect(&srv).await;
        let e = c.echo().await.unwrap_err();
        assert!(matches!(e, Error::Disconnected), "{e}");
        assert!(matches!(c.echo().await, Err(Error::Disconnected)));
    }
    // the server closes without answering
    let srv = fake(Arc::new(|_, _| vec![Step::Close]));
    let c = connect(&srv).await;
    assert!(matches!(c.list_dbs().await, Err(Error::Disconnected)));
}

#[tokio::test]
async fn a_closed_client_fails_fast() {
    let srv = fake(Arc::new(|_, params| vec![Step::Reply(params.clone())]));
    let (c, mut notes) = Client::connect(&srv.remote).await.unwrap();
    c.echo().await.unwrap();
    let other = c.clone();
    c.close();
    assert!(notes.recv().await.is_none(), "the notification stream ends");
    assert!(matches!(other.echo().await, Err(Error::Disconnected)));
    assert!(!other.is_connected());
}
