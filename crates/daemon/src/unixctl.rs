//! The control socket `ovs-appctl -t` talks to: JSON-RPC requests whose method is
//! the command and whose params are its string arguments. `version` and
//! `list-commands` are answered here; everything else (`exit` included) is handed
//! to the daemon through [`Unixctl::next`].

use std::path::{Path, PathBuf};

use ovsdb::jsonrpc::{Framer, Message};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

/// A command from `ovs-appctl`, answered through [`Request::reply`].
#[derive(Debug)]
pub struct Request {
    pub command: String,
    pub args: Vec<String>,
    reply: oneshot::Sender<Result<String, String>>,
}

impl Request {
    pub fn reply(self, r: Result<String, String>) {
        let _ = self.reply.send(r);
    }
}

/// The bound socket; the file is removed on drop.
pub struct Unixctl {
    path: PathBuf,
    rx: mpsc::Receiver<Request>,
}

impl Unixctl {
    /// Binds `path` (replacing a stale socket) and serves it in the background.
    /// `commands` are listed by `list-commands` besides the built-ins.
    pub fn bind(path: &Path, version: String, commands: &[&str]) -> std::io::Result<Unixctl> {
        if path.exists() {
            std::fs::remove_file(path)?;
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let listener = UnixListener::bind(path)?;
        let (tx, rx) = mpsc::channel(16);
        let mut list: Vec<String> = ["exit", "list-commands", "version"]
            .iter()
            .chain(commands)
            .map(|s| s.to_string())
            .collect();
        list.sort();
        list.dedup();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve_conn(stream, tx.clone(), version.clone(), list.clone()));
            }
        });
        Ok(Unixctl {
            path: path.to_path_buf(),
            rx,
        })
    }

    /// The next command for the daemon; `None` never happens while the listener runs.
    pub async fn next(&mut self) -> Option<Request> {
        self.rx.recv().await
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Unixctl {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

async fn serve_conn(mut stream: UnixStream, tx: mpsc::Sender<Request>, version: String, list: Vec<String>) {
    let mut framer = Framer::new();
    let mut buf = vec![0u8; 4096];
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        framer.push(&buf[..n]);
        loop {
            let msg = match framer.next_message() {
                Ok(Some(v)) => Message::parse(v),
                Ok(None) => break,
                Err(_) => return,
            };
            let Ok(Message::Request { id, method, params }) = msg else {
                return;
            };
            let args: Vec<String> = params
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let result = match method.as_str() {
                "version" => Ok(format!("{version}\n")),
                "list-commands" => Ok(format!(
                    "The available commands are:\n{}",
                    list.iter().map(|c| format!("  {c}\n")).collect::<String>()
                )),
                _ => {
                    let (rtx, rrx) = oneshot::channel();
                    if tx
                        .send(Request {
                            command: method.clone(),
                            args,
                            reply: rtx,
                        })
                        .await
                        .is_err()
                    {
                        Err("daemon is shutting down".to_string())
                    } else {
                        rrx.await
                            .unwrap_or_else(|_| Err(format!("\"{method}\" is not a valid command")))
                    }
                }
            };
            let reply = match result {
                Ok(s) => json!({"id": id, "result": s, "error": Value::Null}),
                Err(e) => json!({"id": id, "result": Value::Null, "error": e}),
            };
            if stream.write_all(reply.to_string().as_bytes()).await.is_err() {
                return;
            }
        }
    }
}
