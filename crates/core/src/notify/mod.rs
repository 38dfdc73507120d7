//! Notifications, the pure part: which channels hear about an event, what they are told,
//! and each channel's HTTP request as data. Delivery (fetch, retries, records) is the
//! Worker's.
//!
//! - [`config`]: `notifications.json` → channels, credentials from the environment, routing.
//! - [`message`]: the [`Notification`] itself, its default text and templates.
//! - [`render`]: one channel's [`OutboundRequest`] for one notification.

pub mod config;
pub mod message;
pub mod render;

pub use config::{
    credential_var, resolve, ChannelConfig, ChannelType, MissingCredential, NotificationsConfig, ResolvedChannel,
};
pub use message::{Event, Notification, Template};
pub use render::{render, OutboundRequest};
