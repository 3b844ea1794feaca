//! JSON-RPC 1.0 as OVSDB speaks it: a stream of concatenated JSON objects with no
//! delimiter. [`Framer`] cuts complete objects out of a byte stream; [`Message`]
//! classifies them. Pure code: no sockets, so it can be fed arbitrary bytes.

use serde_json::{Value, json};
use thiserror::Error;

/// Refuse messages larger than this: a peer that never closes its object must not
/// make us buffer without bound. The largest legitimate replies (a full SB dump at
/// OVN's "large" scale) are ~70 MB.
pub const MAX_MESSAGE_BYTES: usize = 512 * 1024 * 1024;

#[derive(Debug, Error, PartialEq)]
pub enum FramingError {
    #[error("message larger than {MAX_MESSAGE_BYTES} bytes")]
    TooLarge,
    #[error("unexpected byte {0:#04x} between messages")]
    Garbage(u8),
    #[error("invalid JSON: {0}")]
    Json(String),
}

/// Buffer capacity a [`Framer`] keeps between messages.
const KEEP_BYTES: usize = 256 * 1024;

/// Splits a byte stream into JSON texts. Feed bytes with [`Framer::push`], take
/// complete messages with [`Framer::next_message`].
#[derive(Default)]
pub struct Framer {
    buf: Vec<u8>,
    /// Bytes of `buf` already scanned without finding the end of the current object.
    scanned: usize,
    depth: usize,
    in_string: bool,
    escaped: bool,
    started: bool,
}

impl Framer {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes buffered but not yet returned as a message.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Returns the next complete message, `Ok(None)` if more bytes are needed.
    pub fn next_message(&mut self) -> Result<Option<Value>, FramingError> {
        let Some(end) = self.scan()? else {
            return Ok(None);
        };
        // Parsed in place: a copy of a large message's text would exist beside its
        // JSON tree.
        let parsed = serde_json::from_slice(&self.buf[..end]);
        self.buf.drain(..end);
        self.finish();
        parsed.map(Some).map_err(|e| FramingError::Json(e.to_string()))
    }

    /// Returns the next complete message's text, unparsed (for a caller that parses
    /// part of it straight into its own types), `Ok(None)` if more bytes are needed.
    pub fn next_message_bytes(&mut self) -> Result<Option<Vec<u8>>, FramingError> {
        let Some(end) = self.scan()? else {
            return Ok(None);
        };
        // The message keeps the (large) buffer; what follows it moves to a new one.
        let rest = self.buf.split_off(end);
        let msg = std::mem::replace(&mut self.buf, rest);
        self.finish();
        Ok(Some(msg))
    }

    /// Finds the end (exclusive) of the first complete object in the buffer.
    fn scan(&mut self) -> Result<Option<usize>, FramingError> {
        let mut i = self.scanned;
        while i < self.buf.len() {
            let b = self.buf[i];
            if !self.started {
                match b {
                    b' ' | b'\t' | b'\r' | b'\n' => {
                        i += 1;
                        continue;
                    }
                    b'{' | b'[' => {
                        // Drop the whitespace before the object so the buffer starts with it.
                        self.buf.drain(..i);
                        i = 0;
                        self.started = true;
                    }
                    _ => {
                        self.reset();
                        return Err(FramingError::Garbage(b));
                    }
                }
            }
            let b = self.buf[i];
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
            } else {
                match b {
                    b'"' => self.in_string = true,
                    b'{' | b'[' => self.depth += 1,
                    b'}' | b']' => {
                        self.depth = self.depth.saturating_sub(1);
                        if self.depth == 0 {
                            return Ok(Some(i + 1));
                        }
                    }
                    _ => {}
                }
            }
            i += 1;
        }
        self.scanned = i;
        if self.buf.len() > MAX_MESSAGE_BYTES {
            self.reset();
            return Err(FramingError::TooLarge);
        }
        Ok(None)
    }

    /// State for the next message, once one was cut off the buffer.
    fn finish(&mut self) {
        self.release();
        self.scanned = 0;
        self.started = false;
    }

    fn release(&mut self) {
        if self.buf.capacity() > KEEP_BYTES && self.buf.len() <= KEEP_BYTES / 2 {
            self.buf.shrink_to(KEEP_BYTES);
        }
    }

    fn reset(&mut self) {
        *self = Framer::default();
    }
}

/// The JSON-RPC request id: OVSDB peers may use any JSON value; we use integers and
/// echo back whatever the server sent.
pub type Id = Value;

#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Request { id: Id, method: String, params: Value },
    Notification { method: String, params: Value },
    Response { id: Id, result: Value },
    Error { id: Id, error: Value },
}

impl Message {
    pub fn parse(v: Value) -> Result<Self, String> {
        let Value::Object(mut o) = v else {
            return Err(format!("message is not an object: {v}"));
        };
        let id = o.remove("id").unwrap_or(Value::Null);
        if let Some(method) = o.remove("method") {
            let method = method.as_str().ok_or("method is not a string")?.to_string();
            let params = o.remove("params").unwrap_or_else(|| json!([]));
            return Ok(if id.is_null() {
                Message::Notification { method, params }
            } else {
                Message::Request { id, method, params }
            });
        }
        let error = o.remove("error").unwrap_or(Value::Null);
        if !error.is_null() {
            return Ok(Message::Error { id, error });
        }
        match o.remove("result") {
            Some(result) => Ok(Message::Response { id, result }),
            None => Err("message has neither method, result nor error".into()),
        }
    }

    pub fn to_json(&self) -> Value {
        match self {
            Message::Request { id, method, params } => {
                json!({"id": id, "method": method, "params": params})
            }
            Message::Notification { method, params } => {
                json!({"id": null, "method": method, "params": params})
            }
            Message::Response { id, result } => json!({"id": id, "result": result, "error": null}),
            Message::Error { id, error } => json!({"id": id, "result": null, "error": error}),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.to_json()).expect("a serde_json::Value always serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(f: &mut Framer) -> Vec<Value> {
        let mut out = vec![];
        while let Some(v) = f.next_message().unwrap() {
            out.push(v);
        }
        out
    }

    #[test]
    fn splits_concatenated_messages_at_any_boundary() {
        let text = br#"{"id":1,"result":["a}]\"{"]} {"id":null,"method":"update","params":[null,{}]}
[1,2]"#;
        for cut in 0..text.len() {
            let mut f = Framer::new();
            f.push(&text[..cut]);
            let mut got = all(&mut f);
            f.push(&text[cut..]);
            got.extend(all(&mut f));
            assert_eq!(got.len(), 3, "cut at {cut}");
            assert_eq!(got[0]["result"][0], "a}]\"{");
        }
    }

    /// Cut as text, the same messages come out, each exactly its object's bytes.
    #[test]
    fn cuts_message_texts_at_any_boundary() {
        let text = br#" {"id":1,"result":["a}]\"{"]} {"id":null,"method":"update","params":[null,{}]}
[1,2]"#;
        for cut in 0..text.len() {
            let mut f = Framer::new();
            let mut got = Vec::new();
            for part in [&text[..cut], &text[cut..]] {
                f.push(part);
                while let Some(m) = f.next_message_bytes().unwrap() {
                    got.push(String::from_utf8(m).unwrap());
                }
            }
            assert_eq!(
                got,
                [
                    r#"{"id":1,"result":["a}]\"{"]}"#,
                    r#"{"id":null,"method":"update","params":[null,{}]}"#,
                    "[1,2]"
                ],
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn a_large_message_does_not_leave_its_room_behind() {
        let big = format!("{{\"id\":1,\"result\":\"{}\"}} [1", "x".repeat(4 * KEEP_BYTES));
        let mut f = Framer::new();
        f.push(big.as_bytes());
        let v = f.next_message().unwrap().unwrap();
        assert_eq!(v["result"].as_str().map(str::len), Some(4 * KEEP_BYTES));
        assert!(f.buf.capacity() <= KEEP_BYTES, "{}", f.buf.capacity());
        // The start of the next message is kept.
        f.push(b"]");
        assert_eq!(f.next_message().unwrap(), Some(json!([1])));
    }

    #[test]
    fn garbage_and_bad_json_are_errors() {
        let mut f = Framer::new();
        f.push(b"  x");
        assert_eq!(f.next_message(), Err(FramingError::Garbage(b'x')));
        let mut f = Framer::new();
        f.push(b"{\"a\" 1}");
        assert!(matches!(f.next_message(), Err(FramingError::Json(_))));
        // The framer recovers for the next message.
        f.push(b"{\"a\":1}");
        assert_eq!(f.next_message().unwrap(), Some(json!({"a":1})));
    }

    #[test]
    fn classifies_messages() {
        let m = Message::parse(json!({"id": 7, "method": "echo", "params": []})).unwrap();
        assert!(matches!(m, Message::Request { .. }));
        let m = Message::parse(json!({"id": null, "method": "update2", "params": [1]})).unwrap();
        assert!(matches!(m, Message::Notification { .. }));
        let m = Message::parse(json!({"id": 7, "result": null, "error": "unknown method"})).unwrap();
        assert!(matches!(m, Message::Error { .. }));
        let m = Message::parse(json!({"id": 7, "result": [1], "error": null})).unwrap();
        assert_eq!(
            m,
            Message::Response {
                id: json!(7),
                result: json!([1])
            }
        );
        assert!(Message::parse(json!([1])).is_err());
        assert!(Message::parse(json!({"id": 1})).is_err());
        assert!(Message::parse(json!({"method": 1})).is_err());
    }
}
