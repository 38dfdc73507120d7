//! Notifications, the pure part: which channels hear about an event, what they are told,
//! each channel's HTTP request as data, and the durable delivery queue's bookkeeping. The
//! Worker's Durable Objects carry out the sends.
//!
//! - [`vocab`]: the shared words ([`Event`], [`Severity`], [`AlertState`], [`ChannelType`]);
//!   a leaf every other module imports.
//! - [`alert`]: external alerts (`POST /api/alert`) from Alertmanager, Grafana or any sender.
//! - [`config`]: `notifications.json` → channels, credentials from the environment, routing.
//! - [`message`]: the [`Notification`] itself and its default text.
//! - [`template`]: `{placeholder}` templates that replace that text.
//! - [`render`](mod@render): one channel's [`OutboundRequest`] for one notification, one module per API.
//! - [`text`]: truncation at character boundaries, escaping and mention defusing.
//! - [`service`]: what a service's status changes send and when (cooldown, reminders).
//! - [`queue`]: pending deliveries, attempts, retries with backoff.
//! - [`external`]: external alerts' de-duplication by fingerprint and channel selection.

pub mod alert;
pub mod config;
pub mod external;
pub mod message;
pub mod queue;
pub mod render;
pub mod service;
pub mod template;
pub mod text;
pub mod vocab;

pub use alert::{AlertBatch, AlertFormat, ExternalAlert};
pub use config::{credential_var, resolve, ChannelConfig, MissingCredential, NotificationsConfig, ResolvedChannel};
pub use message::{AlertDetails, Notification, ServiceEvent, Subject};
pub use render::{render, OutboundRequest};
pub use template::Template;
pub use vocab::{AlertState, ChannelType, Event, Severity, Urgency};
