//! Routing: which channels hear about an event of a service.

use super::parse::FILE;
use super::{ChannelConfig, NotificationsConfig};
use crate::config::{ConfigError, NotificationPolicy, ServiceConfig};
use crate::notify::vocab::Event;

impl NotificationsConfig {
    /// The channels that receive `event` for a service with this policy, in file order.
    ///
    /// The rule: nothing when notifications are off in the file or for the service;
    /// otherwise every enabled channel that the policy names (by channel name or by type;
    /// an empty list names them all) and that takes the event: the policy's `events` when
    /// it lists any, else the channel's own. A `test` is an explicit request, so it skips the
    /// event filters (but not the switches or the channel list).
    pub fn recipients(&self, policy: &NotificationPolicy, event: Event) -> Vec<&ChannelConfig> {
        if !self.enabled || !policy.enabled {
            return Vec::new();
        }
        let named = |c: &ChannelConfig| {
            policy.channels.is_empty() || policy.channels.iter().any(|n| *n == c.name || c.kind.is_named(n, false))
        };
        let takes = |c: &ChannelConfig| {
            event == Event::Test
                || if policy.events.is_empty() { c.events.contains(&event) } else { policy.events.contains(&event) }
        };
        self.channels.iter().filter(|c| c.enabled && named(c) && takes(c)).collect()
    }

    /// Problems in services' notification policies that only this file can reveal: a
    /// channel entry that matches no channel's name or type here would silently send
    /// nothing. Paths point into `services.json`.
    pub fn check_policies(&self, services: &[ServiceConfig]) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        for (i, s) in services.iter().enumerate() {
            for (j, entry) in s.notifications.channels.iter().enumerate() {
                if !self.channels.iter().any(|c| c.name == *entry || c.kind.is_named(entry, false)) {
                    errors.push(ConfigError {
                        path: format!("services.json: services[{i}].notifications.channels[{j}]"),
                        reason: format!("{entry:?} matches no channel name or type in {FILE}"),
                    });
                }
            }
            for (k, level) in s.escalation.iter().enumerate() {
                for (j, entry) in level.channels.iter().enumerate() {
                    if !self.channels.iter().any(|c| c.name == *entry || c.kind.is_named(entry, false)) {
                        errors.push(ConfigError {
                            path: format!("services.json: services[{i}].escalation[{k}].channels[{j}]"),
                            reason: format!("{entry:?} matches no channel name or type in {FILE}"),
                        });
                    }
                }
            }
        }
        errors
    }

    /// The enabled channels escalation `level` (its channel names or types) notifies, each
    /// once, whatever events they take (an escalation is asked for by name); none when
    /// notifications are off in the file or for the service.
    pub fn escalation_recipients(
        &self,
        policy: &NotificationPolicy,
        level: &crate::escalation::Level,
    ) -> Vec<&ChannelConfig> {
        if !self.enabled || !policy.enabled {
            return Vec::new();
        }
        let named = |c: &ChannelConfig| level.channels.iter().any(|n| *n == c.name || c.kind.is_named(n, false));
        self.channels.iter().filter(|c| c.enabled && named(c)).collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn policy(channels: &[&str], events: &[&str]) -> NotificationPolicy {
        NotificationPolicy {
            enabled: true,
            channels: channels.iter().map(|s| s.to_string()).collect(),
            events: events.iter().filter_map(|s| Event::parse(s)).collect(),
        }
    }

    fn names(channels: Vec<&ChannelConfig>) -> Vec<&str> {
        channels.into_iter().map(|c| c.name.as_str()).collect()
    }

    #[test]
    fn routing_follows_switches_names_types_and_events() {
        let c = NotificationsConfig::parse(Some(
            r#"{"channels": [
                 {"type": "discord", "name": "Discord Alerts", "events": ["down", "up"]},
                 {"type": "pagerduty", "name": "Pager", "events": ["down"]},
                 {"type": "slack", "name": "Muted", "enabled": false},
                 {"type": "discord", "name": "Chatter", "events": ["late", "degraded"]}
               ]}"#,
        ))
        .unwrap();
        let all = policy(&[], &[]);
        assert_eq!(names(c.recipients(&all, Event::Down)), ["Discord Alerts", "Pager"]);
        assert_eq!(names(c.recipients(&all, Event::Up)), ["Discord Alerts"]);
        assert_eq!(names(c.recipients(&all, Event::Late)), ["Chatter"]);
        assert_eq!(names(c.recipients(&policy(&["discord"], &[]), Event::Down)), ["Discord Alerts"], "by type");
        assert_eq!(names(c.recipients(&policy(&["Pager", "pagerduty"], &[]), Event::Down)), ["Pager"], "once");
        assert_eq!(
            names(c.recipients(&policy(&["pagerduty"], &["down", "up"]), Event::Up)),
            ["Pager"],
            "the service's events replace the channel's"
        );
        assert_eq!(names(c.recipients(&policy(&["Muted"], &[]), Event::Down)), Vec::<&str>::new());
        assert_eq!(
            names(c.recipients(&all, Event::Test)),
            ["Discord Alerts", "Pager", "Chatter"],
            "a test reaches every enabled channel regardless of events"
        );
        let silenced = NotificationPolicy { enabled: false, ..all.clone() };
        assert!(c.recipients(&silenced, Event::Down).is_empty());
        let off = NotificationsConfig { enabled: false, ..c.clone() };
        assert!(off.recipients(&all, Event::Down).is_empty());

        let mail = NotificationsConfig::parse(Some(
            r#"{"channels": [{"type": "email", "name": "pm", "config": {"provider": "postmark"}},
                             {"type": "sms", "name": "phone"}]}"#,
        ))
        .unwrap();
        assert_eq!(names(mail.recipients(&policy(&["email"], &[]), Event::Down)), ["pm"], "Postmark is e-mail");
        assert_eq!(names(mail.recipients(&policy(&["postmark", "sms"], &[]), Event::Down)), ["pm", "phone"]);
    }

    #[test]
    fn service_policies_naming_no_channel_are_reported() {
        let c = NotificationsConfig::parse(Some(r#"{"channels": [{"type": "discord", "name": "Discord Alerts"}]}"#))
            .unwrap();
        let services = crate::config::Config::parse(
            Some(
                r#"{"services": [
                     {"id": "a", "notifications": {"channels": ["discord", "Discord Alerts"]}},
                     {"id": "b", "notifications": {"channels": ["pagerduty"]}}
                   ]}"#,
            ),
            None,
        )
        .unwrap();
        assert_eq!(
            c.check_policies(&services.services).iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["services.json: services[1].notifications.channels[0]: \"pagerduty\" matches no channel name or type \
              in notifications.json"]
        );
    }
}
