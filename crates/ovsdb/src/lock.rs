//! OVSDB locks (RFC 7047 §4.1.8–4.1.11): `lock`, `steal`, `unlock` requests and the
//! `locked`/`stolen` notifications. [`Locks`] is the pure bookkeeping a
//! [`crate::session::Session`] keeps across reconnects: which locks the application
//! wants, which are requested on the current connection, and which are held.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::client::Client;
use crate::error::Error;

/// A lock notification from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockNotification {
    /// A lock we were waiting for is now ours.
    Locked(String),
    /// Another client stole a lock we held; we are queued for it again.
    Stolen(String),
}

impl LockNotification {
    /// Recognizes `locked`/`stolen`; `None` for anything else (or malformed params).
    pub fn parse(method: &str, params: &Value) -> Option<Self> {
        let name = match params.as_array().map(Vec::as_slice) {
            Some([Value::String(n)]) => n.clone(),
            _ => return None,
        };
        match method {
            "locked" => Some(LockNotification::Locked(name)),
            "stolen" => Some(LockNotification::Stolen(name)),
            _ => None,
        }
    }
}

fn parse_locked(v: &Value) -> Result<bool, Error> {
    v.get("locked")
        .and_then(Value::as_bool)
        .ok_or_else(|| Error::Protocol(format!("malformed lock reply: {v}")))
}

impl Client {
    /// Requests a lock; `true` if acquired at once, `false` if queued (a `locked`
    /// notification follows when it is granted).
    pub async fn lock(&self, name: &str) -> Result<bool, Error> {
        parse_locked(&self.call("lock", json!([name])).await?)
    }

    /// Takes a lock from its holder, who gets a `stolen` notification.
    pub async fn steal(&self, name: &str) -> Result<bool, Error> {
        parse_locked(&self.call("steal", json!([name])).await?)
    }

    /// Releases (or stops waiting for) a lock.
    pub async fn unlock(&self, name: &str) -> Result<(), Error> {
        self.call("unlock", json!([name])).await.map(|_| ())
    }
}

/// A change in lock ownership, as a session reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockEvent {
    Acquired(String),
    Lost(String),
}

#[derive(Debug, Clone, Default, PartialEq)]
struct LockState {
    requested: bool,
    held: bool,
}

/// Wanted/requested/held locks. Replies and notifications may be handled by
/// different tasks, so a `locked: false` reply never clears a lock a `locked`
/// notification already granted.
#[derive(Debug, Default)]
pub struct Locks {
    locks: BTreeMap<String, LockState>,
}

impl Locks {
    /// Records that the application wants `name` (see [`Locks::to_request`]).
    pub fn want(&mut self, name: &str) {
        self.locks.entry(name.to_string()).or_default();
    }

    /// Whether `name` was requested on the current connection.
    pub fn requested(&self, name: &str) -> bool {
        self.locks.get(name).is_some_and(|s| s.requested)
    }

    /// Marks `name` requested (after a `steal`); returns whether it already was.
    pub fn mark_requested(&mut self, name: &str) -> bool {
        let s = self.locks.entry(name.to_string()).or_default();
        std::mem::replace(&mut s.requested, true)
    }

    /// Forgets `name`; returns whether it was requested (so an `unlock` is due) and
    /// the event if it was held.
    pub fn unwant(&mut self, name: &str) -> (bool, Option<LockEvent>) {
        match self.locks.remove(name) {
            Some(s) => (s.requested, s.held.then(|| LockEvent::Lost(name.to_string()))),
            None => (false, None),
        }
    }

    /// Wanted locks not yet requested on this connection (now marked requested).
    pub fn to_request(&mut self) -> Vec<String> {
        self.locks
            .iter_mut()
            .filter(|(_, s)| !s.requested)
            .map(|(n, s)| {
                s.requested = true;
                n.clone()
            })
            .collect()
    }

    pub fn on_reply(&mut self, name: &str, locked: bool) -> Option<LockEvent> {
        let s = self.locks.get_mut(name)?;
        if locked && !s.held {
            s.held = true;
            return Some(LockEvent::Acquired(name.to_string()));
        }
        None
    }

    pub fn on_notification(&mut self, n: &LockNotification) -> Option<LockEvent> {
        match n {
            LockNotification::Locked(name) => self.on_reply(name, true),
            LockNotification::Stolen(name) => {
                let s = self.locks.get_mut(name)?;
                std::mem::replace(&mut s.held, false).then(|| LockEvent::Lost(name.clone()))
            }
        }
    }

    /// The connection is gone: nothing is requested or held any more.
    pub fn on_disconnect(&mut self) -> Vec<LockEvent> {
        let mut lost = Vec::new();
        for (n, s) in &mut self.locks {
            s.requested = false;
            if std::mem::replace(&mut s.held, false) {
                lost.push(LockEvent::Lost(n.clone()));
            }
        }
        lost
    }

    pub fn held(&self, name: &str) -> bool {
        self.locks.get(name).is_some_and(|s| s.held)
    }

    pub fn wanted(&self) -> impl Iterator<Item = &str> {
        self.locks.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_parse() {
        assert_eq!(
            LockNotification::parse("locked", &json!(["a"])),
            Some(LockNotification::Locked("a".into()))
        );
        assert_eq!(
            LockNotification::parse("stolen", &json!(["a"])),
            Some(LockNotification::Stolen("a".into()))
        );
        assert_eq!(LockNotification::parse("stolen", &json!([1])), None);
        assert_eq!(LockNotification::parse("update", &json!(["a"])), None);
        assert_eq!(LockNotification::parse("locked", &json!({})), None);
        assert!(parse_locked(&json!({"locked": true})).unwrap());
        assert!(parse_locked(&json!({})).is_err());
    }

    #[test]
    fn bookkeeping_across_replies_notifications_and_reconnects() {
        let mut l = Locks::default();
        l.want("x");
        assert_eq!(l.to_request(), vec!["x".to_string()]);
        l.want("x");
        assert!(l.to_request().is_empty(), "already requested");
        assert!(l.requested("x"));
        // the notification may be handled before the queued reply
        assert_eq!(
            l.on_notification(&LockNotification::Locked("x".into())),
            Some(LockEvent::Acquired("x".into()))
        );
        assert_eq!(l.on_reply("x", false), None);
        assert!(l.held("x"));
        assert_eq!(
            l.on_notification(&LockNotification::Stolen("x".into())),
            Some(LockEvent::Lost("x".into()))
        );
        assert!(!l.held("x"));
        assert_eq!(l.on_reply("x", true), Some(LockEvent::Acquired("x".into())));
        assert_eq!(l.on_disconnect(), vec![LockEvent::Lost("x".into())]);
        assert_eq!(l.to_request(), vec!["x".to_string()]);
        assert!(l.to_request().is_empty());
        assert_eq!(l.on_reply("x", true), Some(LockEvent::Acquired("x".into())));
        assert_eq!(l.unwant("x"), (true, Some(LockEvent::Lost("x".into()))));
        assert_eq!(l.unwant("x"), (false, None));
        assert_eq!(l.on_reply("unknown", true), None);
        assert_eq!(l.wanted().count(), 0);
    }
}
