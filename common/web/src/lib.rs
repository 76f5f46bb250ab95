//! What quorate's two web pages share: the approver's page, which each
//! participant agent serves, and the auditor's page, which the coordinator
//! serves. This crate holds their [`layout`] and stylesheet, the
//! [`headers`] every answer carries, and [`serve`], which runs a router on
//! a listener, in plain HTTP or over TLS, until told to stop.
//!
//! The pages are server-rendered HTML (maud). The only script is a few
//! lines that reload a page's main part when its server says something
//! changed (server-sent events); everything works without it.

pub mod headers;
pub mod layout;
pub mod serve;

pub use maud::{Markup, PreEscaped, html};
