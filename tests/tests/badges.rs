//! Status badges on the real Worker: the `badgeUrl` of `/api/v1/services`, the SVG (parsed
//! as XML, accessible text), shields.io's endpoint JSON, short cache headers, a wrong key
//! answering as an unknown id, a group showing its worst service, and a status change
//! showing in the badge.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use serde_json::{json, Value};
use systole_e2e::{spawn_worker, Answer, Worker};

/// The path part of a `badgeUrl` (absolute when `PUBLIC_URL` is set).
fn badge_path(entry: &Value) -> String {
    let url = entry["badgeUrl"].as_str().unwrap_or_else(|| panic!("no badgeUrl in {entry}"));
    url[url.find("/badge/").unwrap()..].to_owned()
}

fn status_of(worker: &Worker, service: &str) -> String {
    let report = worker.get(&format!("/api/v1/status?serviceId={service}")).json();
    report["services"][0]["status"].as_str().unwrap().to_owned()
}

/// The SVG badge's accessible label, checking that it parses as XML and carries
/// `role="img"` and a `<title>` saying the same.
fn svg_label(answer: &Answer) -> String {
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.content_type, "image/svg+xml; charset=utf-8");
    let doc = roxmltree::Document::parse(&answer.body).unwrap_or_else(|e| panic!("not XML ({e}): {}", answer.body));
    let svg = doc.root_element();
    assert_eq!(svg.tag_name().name(), "svg");
    assert_eq!(svg.tag_name().namespace(), Some("http://www.w3.org/2000/svg"));
    assert_eq!(svg.attribute("role"), Some("img"));
    let label = svg.attribute("aria-label").unwrap().to_owned();
    let title = svg.children().find(|n| n.has_tag_name("title")).unwrap();
    assert_eq!(title.text(), Some(label.as_str()));
    label
}

/// The shields.io endpoint JSON, checked against the schema's fields.
fn shields(answer: &Answer) -> Value {
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.content_type, "application/json");
    let v = answer.json();
    let fields: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(fields.len(), 4, "{v}");
    assert_eq!(v["schemaVersion"], 1);
    for field in ["label", "message", "color"] {
        assert!(v[field].as_str().is_some_and(|s| !s.is_empty()), "{field} in {v}");
    }
    v
}

#[test]
fn badges_show_the_status_and_only_to_the_right_key() {
    let worker = spawn_worker();
    let listed = worker.get("/api/v1/services?group=core").json();
    let reporter = listed["services"].as_array().unwrap().iter().find(|s| s["id"] == "reporter").unwrap().clone();
    let svg = badge_path(&reporter);
    assert!(svg.ends_with("/reporter.svg"), "{svg}");
    let json_path = svg.replace(".svg", ".json");
    let group = badge_path(&listed["groups"][0]);
    assert!(group.ends_with("/core.json") || group.ends_with("/core.svg"), "{group}");
    let group_json = group.replace(".svg", ".json");
    let name = reporter["name"].as_str().unwrap();

    // Never heard from: unknown.
    let first = worker.get_as(&svg, None, None);
    assert_eq!(svg_label(&first), format!("{name}: unknown"));
    let cache = first.header("cache-control").unwrap();
    assert!(cache.contains("max-age=60"), "{cache}");

    assert_eq!(worker.beat("reporter", &json!({"serviceId": "reporter"})).status, 200);
    worker.wait_for("reporter up", Duration::from_secs(20), || (status_of(&worker, "reporter") == "up").then_some(()));
    assert_eq!(svg_label(&worker.get_as(&svg, None, None)), format!("{name}: up"));
    let badge = shields(&worker.get_as(&json_path, None, None));
    assert_eq!(badge, json!({"schemaVersion": 1, "label": name, "message": "up", "color": "059669"}));

    // A wrong key, another id under this key, an unknown id and another extension: all 404.
    let key = svg.split('/').nth(2).unwrap();
    let flipped: String = key
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i == 0 {
                if c == 'a' {
                    'b'
                } else {
                    'a'
                }
            } else {
                c
            }
        })
        .collect();
    for path in [
        format!("/badge/{flipped}/reporter.svg"),
        format!("/badge/{key}/fast.svg"),
        format!("/badge/{key}/no-such-service.svg"),
        format!("/badge/{key}/reporter.png"),
        "/badge/x/reporter.json".to_owned(),
    ] {
        let answer = worker.get_as(&path, None, None);
        assert_eq!(answer.status, 404, "{path}: {}", answer.body);
        assert_eq!(answer.content_type, "application/problem+json");
        assert!(
            !answer.body.contains("unknown") && !answer.body.contains("key"),
            "says nothing about why: {}",
            answer.body
        );
    }

    // The service goes down: its badge and its group's (the worst member) say so.
    assert_eq!(worker.beat("reporter", &json!({"serviceId": "reporter", "status": "down"})).status, 200);
    worker.wait_for("reporter down", Duration::from_secs(20), || {
        (status_of(&worker, "reporter") == "down").then_some(())
    });
    assert_eq!(svg_label(&worker.get_as(&svg, None, None)), format!("{name}: down"));
    assert_eq!(shields(&worker.get_as(&json_path, None, None))["message"], "down");
    let group_badge = shields(&worker.get_as(&group_json, None, None));
    assert_eq!(group_badge["message"], "down", "{group_badge}");
    assert_eq!(group_badge["color"], "dc2626");
    assert_eq!(group_badge["label"], listed["groups"][0]["name"]);
}
