//! One JSON-RPC session with an OVSDB server. A background task owns the socket:
//! it answers the server's `echo` probes, routes replies to the waiting caller and
//! forwards notifications (`update`, `update2`, `update3`, `locked`, `stolen`) to the
//! receiver returned by [`Client::connect`]. When the connection drops, every
//! waiting call fails with [`Error::Disconnected`] and the notification stream ends.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{Notify, mpsc, oneshot};

use crate::error::Error;
use crate::jsonrpc::{Framer, FramingError, Message};
use crate::ops::{OpResult, Operation, parse_results, parse_results_text};
use crate::remote::{self, Remote};
use crate::schema::DatabaseSchema;
use crate::tls::TlsConfig;

/// A server-initiated message other than `echo`.
#[derive(Debug, Clone)]
pub struct Notification {
    pub method: String,
    /// `null` when `raw` holds the parameters.
    pub params: Value,
    /// With [`Client::keep_updates_raw`], an update notification's parameters as
    /// text: the IDL parses them straight into rows. As a JSON tree a big update (the
    /// echo of a large transaction) took four times its text.
    pub raw: Option<Box<RawValue>>,
}

/// The parts of a message needed to route it, its parameters left as text.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(default)]
    id: Value,
    #[serde(default)]
    method: Option<String>,
    #[serde(borrow, default)]
    params: Option<&'a RawValue>,
}

/// An update notification in `bytes` (a whole message), with its parameters as text
/// made of the message's own buffer (an update can be tens of megabytes: no second
/// copy); any other message is handed back.
fn raw_update(mut bytes: Vec<u8>) -> Result<Notification, Vec<u8>> {
    let (method, start, len) = {
        let Ok(e) = serde_json::from_slice::<Envelope<'_>>(&bytes) else {
            return Err(bytes);
        };
        let (Some(method), Some(params), true) = (e.method, e.params, e.id.is_null()) else {
            return Err(bytes);
        };
        if !matches!(method.as_str(), "update" | "update2" | "update3") {
            return Err(bytes);
        }
        let text = params.get();
        (
            method,
            text.as_ptr() as usize - bytes.as_ptr() as usize,
            text.len(),
        )
    };
    bytes.truncate(start + len);
    bytes.drain(..start);
    // Exactly sized, so that the conversion below keeps this buffer.
    bytes.shrink_to_fit();
    let raw = String::from_utf8(bytes)
        .ok()
        .and_then(|s| RawValue::from_string(s).ok());
    Ok(Notification {
        method,
        params: Value::Null,
        raw,
    })
}

/// A reply's result: parsed, or (for a caller that asked for it, on a connection
/// whose updates are kept as text) its text, which the caller parses into its own
/// types: a 28 k-operation transaction's result is 18 MB as a JSON tree.
enum Body {
    Tree(Value),
    Text(Box<RawValue>),
}

type Reply = Result<Body, Value>;

/// A waiting call, and whether it takes its result as text.
type Pending = (oneshot::Sender<Reply>, bool);

static NEXT_SERIAL: AtomicU64 = AtomicU64::new(1);

struct Shared {
    pending: Mutex<HashMap<u64, Pending>>,
    next_id: AtomicU64,
    out: mpsc::UnboundedSender<Vec<u8>>,
    /// Hand update notifications over as text (see [`Notification::raw`]).
    raw_updates: AtomicBool,
    /// Notifications handed to the receiver so far, in order with the replies: a
    /// reply's caller reads it to know which notifications the server sent first.
    notes_queued: AtomicU64,
    /// Tells connections apart (see [`Client::serial`]).
    serial: u64,
    remote: Remote,
    closer: Arc<Notify>,
}

/// A cheap-to-clone handle on one connection.
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
}

impl Client {
    /// Connects to the first reachable remote of the list.
    pub async fn connect_any(
        remotes: &[Remote],
    ) -> Result<(Client, mpsc::UnboundedReceiver<Notification>), Error> {
        let mut last = Error::BadRemote(String::new(), "no remote given".into());
        for r in remotes {
            match Client::connect(r).await {
                Ok(c) => return Ok(c),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    pub async fn connect(remote: &Remote) -> Result<(Client, mpsc::UnboundedReceiver<Notification>), Error> {
        Client::connect_with(remote, None).await
    }

    /// Like [`Client::connect`], with TLS settings for `ssl:` remotes.
    pub async fn connect_with(
        remote: &Remote,
        tls: Option<&TlsConfig>,
    ) -> Result<(Client, mpsc::UnboundedReceiver<Notification>), Error> {
        let stream = remote::open_with(remote, tls).await?;
        Ok(Client::from_stream(stream, remote.clone()))
    }

    /// Runs a session over an already-open stream (e.g. a TLS stream, or a test pipe).
    pub fn from_stream(
        stream: Box<dyn remote::Stream>,
        remote: Remote,
    ) -> (Client, mpsc::UnboundedReceiver<Notification>) {
        let (out_tx, out_rx) = mpsc::unbounded_channel();
        let (note_tx, note_rx) = mpsc::unbounded_channel();
        let closer = Arc::new(Notify::new());
        let shared = Arc::new(Shared {
            pending: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            out: out_tx,
            raw_updates: AtomicBool::new(false),
            notes_queued: AtomicU64::new(0),
            serial: NEXT_SERIAL.fetch_add(1, Ordering::Relaxed),
            remote,
            closer: closer.clone(),
        });
        tokio::spawn(run(stream, Arc::downgrade(&shared), out_rx, note_tx, closer));
        (Client { shared }, note_rx)
    }

    pub fn remote(&self) -> &Remote {
        &self.shared.remote
    }

    /// A number no other connection of this process has (never 0).
    pub fn serial(&self) -> u64 {
        self.shared.serial
    }

    /// How many notifications this connection has handed to its receiver. Read
    /// after a call returns, it counts every notification the server sent before
    /// the reply (a `monitor_cond_change`'s rows come that way).
    pub fn notifications_queued(&self) -> u64 {
        self.shared.notes_queued.load(Ordering::Acquire)
    }

    /// From now on, hands `update`/`update2`/`update3` notifications over with their
    /// parameters as text ([`Notification::raw`]) rather than parsed, for a consumer
    /// that parses them into rows itself ([`crate::Idl::take_raw_notification`]).
    pub fn keep_updates_raw(&self) {
        self.shared.raw_updates.store(true, Ordering::Relaxed);
    }

    /// Closes the connection now, even if other handles exist: pending and later
    /// calls fail with [`Error::Disconnected`] and the notification stream ends.
    pub fn close(&self) {
        self.shared.closer.notify_one();
    }

    /// Whether the background task still has the connection.
    pub fn is_connected(&self) -> bool {
        !self.shared.out.is_closed()
    }

    /// Sends a request and waits for its reply.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, Error> {
        self.call_with(method, |out| serde_json::to_writer(out, &params))
            .await
    }

    async fn call_with(
        &self,
        method: &str,
        write_params: impl FnOnce(&mut Vec<u8>) -> serde_json::Result<()>,
    ) -> Result<Value, Error> {
        match self.request(method, write_params, false).await? {
            Body::Tree(v) => Ok(v),
            Body::Text(t) => {
                serde_json::from_str(t.get()).map_err(|e| Error::Protocol(format!("{method}: {e}")))
            }
        }
    }

    /// A `transact` with its results parsed from the reply's text when the
    /// connection keeps it ([`Client::keep_updates_raw`]).
    async fn transact_with(
        &self,
        n_ops: usize,
        write_params: impl FnOnce(&mut Vec<u8>) -> serde_json::Result<()>,
    ) -> Result<Vec<OpResult>, Error> {
        match self.request("transact", write_params, true).await? {
            Body::Tree(v) => parse_results(&v, n_ops),
            Body::Text(t) => parse_results_text(&t, n_ops),
        }
    }

    /// Sends a request whose params `write_params` serializes straight into the
    /// message, and waits for its reply. Only the text is kept while waiting: a large
    /// request (northd's first Southbound write) would otherwise stay alive as a JSON
    /// tree, several times the size of its text, until the server answers.
    async fn request(
        &self,
        method: &str,
        write_params: impl FnOnce(&mut Vec<u8>) -> serde_json::Result<()>,
        want_text: bool,
    ) -> Result<Body, Error> {
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let mut bytes = format!("{{\"id\":{id},\"method\":").into_bytes();
        let written = serde_json::to_writer(&mut bytes, method)
            .and_then(|()| {
                bytes.extend_from_slice(b",\"params\":");
                write_params(&mut bytes)
            })
            .map_err(|e| Error::Protocol(format!("{method}: cannot serialize the request: {e}")));
        bytes.push(b'}');
        written?;
        let (tx, rx) = oneshot::channel();
        self.shared
            .pending
            .lock()
            .expect("pending map lock")
            .insert(id, (tx, want_text));
        if self.shared.out.send(bytes).is_err() {
            self.shared.pending.lock().expect("pending map lock").remove(&id);
            return Err(Error::Disconnected);
        }
        match rx.await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(error)) => Err(Error::Rpc {
                method: method.to_string(),
                error,
            }),
            Err(_) => Err(Error::Disconnected),
        }
    }

    pub async fn list_dbs(&self) -> Result<Vec<String>, Error> {
        let v = self.call("list_dbs", json!([])).await?;
        serde_json::from_value(v).map_err(|e| Error::Protocol(format!("list_dbs: {e}")))
    }

    pub async fn get_schema(&self, db: &str) -> Result<DatabaseSchema, Error> {
        let v = self.call("get_schema", json!([db])).await?;
        DatabaseSchema::from_json(&v)
    }

    pub async fn echo(&self) -> Result<(), Error> {
        self.call("echo", json!([])).await.map(|_| ())
    }

    /// Runs a transaction; any operation error becomes [`Error::Txn`].
    pub async fn transact(&self, db: &str, ops: &[Operation]) -> Result<Vec<OpResult>, Error> {
        self.transact_with(ops.len(), |out| write_transact(out, db, ops))
            .await
    }

    /// [`Client::transact`], freeing the operations as soon as they are written rather
    /// than when the reply arrives.
    pub async fn transact_owned(&self, db: &str, ops: Vec<Operation>) -> Result<Vec<OpResult>, Error> {
        let n = ops.len();
        self.transact_with(n, move |out| write_transact(out, db, &ops))
            .await
    }
}

/// The `transact` params, one operation's JSON at a time: a big transaction's JSON
/// tree never exists whole.
fn write_transact(out: &mut Vec<u8>, db: &str, ops: &[Operation]) -> serde_json::Result<()> {
    out.push(b'[');
    serde_json::to_writer(&mut *out, db)?;
    for op in ops {
        out.push(b',');
        match op {
            Operation::Deferred(w) => w.write_json(out)?,
            op => serde_json::to_writer(&mut *out, &op.to_json())?,
        }
    }
    out.push(b']');
    Ok(())
}

async fn run(
    stream: Box<dyn remote::Stream>,
    shared: std::sync::Weak<Shared>,
    mut out_rx: mpsc::UnboundedReceiver<Vec<u8>>,
    notes: mpsc::UnboundedSender<Notification>,
    closer: Arc<Notify>,
) {
    let (mut rd, mut wr) = tokio::io::split(stream);
    let mut framer = Framer::new();
    let mut buf = vec![0u8; 64 * 1024];
    let why: Result<(), Error> = async {
        loop {
            tokio::select! {
                _ = closer.notified() => return Ok(()),
                out = out_rx.recv() => {
                    // All handles dropped: close the session.
                    let Some(bytes) = out else { return Ok(()) };
                    wr.write_all(&bytes).await?;
                }
                n = rd.read(&mut buf) => {
                    let n = n?;
                    if n == 0 {
                        return Err(Error::Disconnected);
                    }
                    framer.push(&buf[..n]);
                    loop {
                        let Some(shared) = shared.upgrade() else { return Ok(()) };
                        let v = if shared.raw_updates.load(Ordering::Relaxed) {
                            let Some(bytes) = framer.next_message_bytes()? else { break };
                            let bytes = match raw_update(bytes) {
                                Ok(n) => {
                                    queue(&shared, &notes, n);
                                    continue;
                                }
                                Err(bytes) => bytes,
                            };
                            if let Some((id, text)) = text_result(&shared, &bytes) {
                                complete(&shared, id, Ok(Body::Text(text)));
                                continue;
                            }
                            serde_json::from_slice(&bytes).map_err(|e| FramingError::Json(e.to_string()))?
                        } else {
                            let Some(v) = framer.next_message()? else { break };
                            v
                        };
                        let msg = Message::parse(v).map_err(Error::Protocol)?;
                        match msg {
                            Message::Request { id, method, params } if method == "echo" => {
                                wr.write_all(&Message::Response { id, result: params }.to_bytes()).await?;
                            }
                            Message::Request { id, method, .. } => {
                                let err = json!(format!("unknown method {method}"));
                                wr.write_all(&Message::Error { id, error: err }.to_bytes()).await?;
                            }
                            Message::Notification { method, params } => {
                                queue(&shared, &notes, Notification { method, params, raw: None });
                            }
                            Message::Response { id, result } => complete_id(&shared, &id, Ok(Body::Tree(result))),
                            Message::Error { id, error } => complete_id(&shared, &id, Err(error)),
                        }
                    }
                }
            }
        }
    }
    .await;
    if let Err(e) = why {
        tracing::debug!("ovsdb session ended: {e}");
    }
    // Close the queue first so that no call can enqueue after the pending map is
    // cleared; dropping the senders wakes every waiting call with `Disconnected`.
    out_rx.close();
    if let Some(shared) = shared.upgrade() {
        shared.pending.lock().expect("pending map lock").clear();
    }
}

/// Hands a notification over before any later reply can wake its caller.
fn queue(shared: &Shared, notes: &mpsc::UnboundedSender<Notification>, n: Notification) {
    let _ = notes.send(n);
    shared.notes_queued.fetch_add(1, Ordering::Release);
}

fn complete_id(shared: &Shared, id: &Value, reply: Reply) {
    let Some(id) = id.as_u64() else {
        tracing::warn!("reply with unexpected id {id}");
        return;
    };
    complete(shared, id, reply);
}

fn complete(shared: &Shared, id: u64, reply: Reply) {
    if let Some((tx, _)) = shared.pending.lock().expect("pending map lock").remove(&id) {
        let _ = tx.send(reply);
    }
}

/// A successful reply to a call waiting for its result as text: (id, result).
fn text_result(shared: &Shared, bytes: &[u8]) -> Option<(u64, Box<RawValue>)> {
    // Most messages are for calls that want a tree (and monitor replies are
    // large): scan the text only when some call waits for one.
    let any = shared
        .pending
        .lock()
        .expect("pending map lock")
        .values()
        .any(|(_, text)| *text);
    if !any {
        return None;
    }
    #[derive(Deserialize)]
    struct Answer<'a> {
        id: u64,
        #[serde(borrow)]
        result: &'a RawValue,
        #[serde(default)]
        error: Value,
        #[serde(default)]
        method: Option<String>,
    }
    let r: Answer<'_> = serde_json::from_slice(bytes).ok()?;
    if !r.error.is_null() || r.method.is_some() {
        return None;
    }
    let wants = shared
        .pending
        .lock()
        .expect("pending map lock")
        .get(&r.id)
        .is_some_and(|(_, text)| *text);
    wants.then(|| (r.id, r.result.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An update's parameters come out as exactly their text, whatever surrounds
    /// them in the message; anything else is handed back untouched.
    #[test]
    fn raw_updates_are_cut_from_their_message() {
        let msg = br#"{"id": null, "method": "update3", "params": ["m", "t1", {"T": {"u": {"insert": {"a": "x\"]y"}}}}] }"#;
        let n = raw_update(msg.to_vec()).unwrap();
        assert_eq!(n.method, "update3");
        assert_eq!(
            n.raw.unwrap().get(),
            r#"["m", "t1", {"T": {"u": {"insert": {"a": "x\"]y"}}}}]"#
        );
        // params first, method last: the order of the members does not matter
        let n = raw_update(br#"{"params":[1,2],"id":null,"method":"update2"}"#.to_vec()).unwrap();
        assert_eq!(n.raw.unwrap().get(), "[1,2]");
        for other in [
            &br#"{"id":4,"result":[{"uuid":["uuid","x"]}],"error":null}"#[..],
            br#"{"id":"x","method":"update3","params":[]}"#,
            br#"{"id":null,"method":"locked","params":["l"]}"#,
            br#"{"id":null,"method":"update3"}"#,
            b"not json",
        ] {
            assert_eq!(
                raw_update(other.to_vec()).unwrap_err(),
                other,
                "{}",
                String::from_utf8_lossy(other)
            );
        }
    }
}
