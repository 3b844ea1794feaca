//! OVSDB client
