//! Unit tests of managed services.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]
use serde_json::json;

use super::*;
use crate::notify::NotificationsConfig;

fn declared() -> Config {
    Config::parse(
        Some(
            r#"{"groups": [{"id": "jobs", "services": ["nightly"], "gracePeriod": 120, "stalenessThreshold": 3600}],
                "services": [{"id": "nightly"}]}"#,
        ),
        None,
    )
    .unwrap()
}

fn channels() -> NotificationsConfig {
    NotificationsConfig::parse(Some(
        r#"{"channels": [{"name": "ops", "type": "webhook", "config": {"url": "https://example.com/h"}}]}"#,
    ))
    .unwrap()
}

fn ring() -> KeyRing {
    KeyRing::parse(r#"{"api": "a-key-of-sixteen-chars"}"#, b"server secret").unwrap()
}

fn random(seed: u8) -> Random {
    let mut b = [0u8; RANDOM_BYTES];
    for (i, x) in b.iter_mut().enumerate() {
        *x = seed.wrapping_mul(31).wrapping_add(i as u8);
    }
    Random(b)
}

fn spec(value: Value) -> ServiceSpec {
    ServiceSpec::from_value(value, None).unwrap()
}

fn fields(p: &Problem) -> Vec<(String, String)> {
    let errors = p.extensions.as_ref().unwrap()["errors"].as_array().unwrap().clone();
    errors.iter().map(|e| (e["field"].as_str().unwrap().to_owned(), e["detail"].as_str().unwrap().to_owned())).collect()
}

const T0: i64 = 1_800_000_000_000;

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(T0 + ms)
}

#[test]
fn a_spec_resolves_like_a_services_json_entry_with_its_groups_defaults() {
    let c = declared();
    let s = spec(json!({"id": "backup", "group": "jobs", "name": "Backup", "tags": ["db", "nightly"],
                        "description": "the nightly dump"}));
    let group = c.group_defaults("jobs").cloned();
    let resolved = s.resolve(group.as_ref(), &c, &channels()).unwrap();
    assert_eq!(resolved.staleness_threshold, Duration::from_secs(3600));
    assert_eq!(resolved.grace_period, Duration::from_secs(120));
    assert_eq!(resolved.group.as_deref(), Some("jobs"));
    assert_eq!(resolved.tags, ["db", "nightly"]);
    assert_eq!(resolved.description.as_deref(), Some("the nightly dump"));
    // The same fields in services.json resolve to the same config.
    let file = Config::parse(
        Some(
            r#"{"groups": [{"id": "jobs", "services": ["backup"], "gracePeriod": 120, "stalenessThreshold": 3600}],
                "services": [{"id": "backup", "name": "Backup", "tags": ["db", "nightly"], "description": "the nightly dump"}]}"#,
        ),
        None,
    )
    .unwrap();
    assert_eq!(&resolved, file.service("backup").unwrap());
}

#[test]
fn every_problem_of_a_spec_is_listed_with_its_field() {
    let p = ServiceSpec::from_value(json!({"id": "Bad Id", "stalenesThreshold": 5}), None).unwrap_err();
    assert_eq!(p.status, 400);
    assert_eq!(
        fields(&p),
        [
            ("stalenesThreshold".to_owned(), "unknown field `stalenesThreshold`".to_owned()),
            ("id".to_owned(), "must match [A-Za-z0-9._-]{1,64}, found ' '".to_owned()),
        ]
    );
    assert_eq!(p.field.as_deref(), Some("stalenesThreshold"));
    let p = ServiceSpec::from_value(json!({"id": "a", "gracePeriod": "5m"}), None).unwrap_err();
    assert_eq!(fields(&p), [("gracePeriod".to_owned(), "invalid type: string \"5m\", expected u64".to_owned())]);
    let s = spec(json!({"id": "a", "stalenessThreshold": 0, "schedule": "0 0 32 * *", "tags": ["x", "x"],
                        "notifications": {"channels": ["nowhere"], "events": ["exploded"]}, "group": "ghost"}));
    let p = s.resolve(None, &declared(), &channels()).unwrap_err();
    let got: Vec<String> = fields(&p).into_iter().map(|(f, _)| f).collect();
    assert_eq!(got, ["group", "stalenessThreshold", "schedule", "notifications.events[0]", "tags[1]"]);
    let s = spec(json!({"id": "a", "notifications": {"channels": ["nowhere"]}}));
    let p = s.resolve(None, &declared(), &channels()).unwrap_err();
    assert_eq!(
        fields(&p),
        [(
            "notifications.channels[0]".to_owned(),
            "\"nowhere\" matches no channel name or type in notifications.json".to_owned()
        )]
    );
    for (body, field) in
        [(json!([1]), None), (json!({"name": "x"}), Some("id")), (json!({"id": "external"}), Some("id"))]
    {
        assert_eq!(ServiceSpec::from_value(body, None).unwrap_err().field.as_deref(), field);
    }
    let p = ServiceSpec::parse(b"{\"id\": ", None).unwrap_err();
    assert_eq!(p.code, "invalid-json");
}

#[test]
fn the_path_id_fills_or_must_match_the_body_id() {
    assert_eq!(ServiceSpec::parse(br#"{"name": "x"}"#, Some("job")).unwrap().id().as_str(), "job");
    assert_eq!(ServiceSpec::parse(br#"{"id": "other"}"#, Some("job")).unwrap_err().field.as_deref(), Some("id"));
}

#[test]
fn a_merge_patch_removes_nulls_merges_objects_and_keeps_the_id() {
    let s = spec(
        json!({"id": "a", "name": "A", "gracePeriod": 30, "notifications": {"enabled": false, "events": ["down"]}}),
    );
    let merged = s.merge(&json!({"name": null, "notifications": {"enabled": true}, "stalenessThreshold": 60})).unwrap();
    assert_eq!(
        merged.to_value(),
        json!({"id": "a", "gracePeriod": 30, "stalenessThreshold": 60, "notifications": {"enabled": true, "events": ["down"]}})
    );
    assert_eq!(s.merge(&json!({"id": "b"})).unwrap_err().field.as_deref(), Some("id"));
    assert_eq!(s.merge(&json!({"gracePeriod": -1})).unwrap_err().field.as_deref(), Some("gracePeriod"));
}

#[test]
fn keys_are_url_safe_128_bit_or_more_and_stored_only_as_digests() {
    let r = random(1);
    let key = r.key();
    assert_eq!(key.len(), 32);
    assert!(key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    assert_ne!(random(2).key(), key);
    let ping = r.ping_id();
    assert!(crate::keys::is_uuid(&ping), "{ping}");
    assert_eq!(ping.as_bytes()[14], b'4', "version 4");
    let (m, shown) = ManagedService::new(spec(json!({"id": "a"})), None, &r, &ring(), at(0), Actor::ApiKey);
    assert_eq!(shown, key);
    let stored = serde_json::to_string(&m).unwrap();
    assert!(!stored.contains(&key), "the plain key is never stored");
    assert_eq!(m.keys[0].digest, hex::encode(ring().digest_key(&key)));
}

#[test]
fn the_current_key_opens_it_and_a_rotated_one_only_until_its_grace_ends() {
    let ring = ring();
    let c = declared();
    let (mut m, old) = ManagedService::new(spec(json!({"id": "a"})), None, &random(1), &ring, at(0), Actor::ApiKey);
    let config = m.config(&c);
    let check = |m: &ManagedService, key: Option<&str>, t: i64| m.authorize(&config, &ring, key, at(t));
    assert_eq!(check(&m, Some(&old), 0), Authorization::Granted);
    assert_eq!(check(&m, Some("not-the-key-at-all-000000000000"), 0), Authorization::WrongKey);
    assert_eq!(check(&m, None, 0), Authorization::WrongKey);
    let (new, until) = m.rotate(&random(2), &ring, Duration::from_secs(60), at(1_000), Actor::User("ana".into()));
    assert_eq!(until, at(61_000));
    assert_eq!(check(&m, Some(&old), 60_999), Authorization::Granted, "inside the grace period");
    assert_eq!(check(&m, Some(&old), 61_000), Authorization::WrongKey, "after it");
    assert_eq!(check(&m, Some(&new), 61_000), Authorization::Granted);
    // A second rotation drops the expired key and keeps at most MAX_KEYS.
    let _ = m.rotate(&random(3), &ring, Duration::from_secs(60), at(70_000), Actor::ApiKey);
    assert_eq!(m.keys.len(), 2);
    for i in 0..10 {
        let _ = m.rotate(&random(4 + i), &ring, Duration::from_secs(600), at(80_000), Actor::ApiKey);
    }
    assert_eq!(m.keys.len(), MAX_KEYS);
    // Its ping id opens it too (as `/ping/<uuid>`), a wrong one does not.
    let ping = PingCredential::new(PingKind::PingId, m.ping_id.clone()).to_key();
    assert_eq!(check(&m, Some(&ping), 0), Authorization::Granted);
    let other = PingCredential::new(PingKind::PingId, random(9).ping_id()).to_key();
    assert_eq!(check(&m, Some(&other), 0), Authorization::WrongKey);
}

#[test]
fn a_stored_managed_service_reads_back_and_keeps_loading_when_settings_tighten() {
    let stored = r#"{"version":1,"spec":{"id":"a","stalenessThreshold":20,"group":"g"},
        "groupDefaults":{"gracePeriod":5},"keys":[{"digest":"00"},{"digest":"11","validUntil":5}],
        "pingId":"5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278","paused":true,
        "created":{"at":1,"by":"api-key"},"updated":{"at":2,"by":"provisioning:g"}}"#;
    let m: ManagedService = serde_json::from_str(stored).unwrap();
    assert_eq!(m.updated.by, Actor::Provisioning("g".into()));
    let strict = Config::parse(None, Some(r#"{"monitoring": {"minStalenessThreshold": 60}}"#)).unwrap();
    let c = m.config(&strict);
    assert_eq!((c.staleness_threshold, c.grace_period), (Duration::from_secs(20), Duration::from_secs(5)));
    assert!(!c.enabled, "paused");
    assert_eq!(c.group.as_deref(), Some("g"));
    let again: ManagedService = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
    assert_eq!(again, m);
}

fn ctx<'a>(c: &'a Config, n: &'a NotificationsConfig, k: &'a KeyRing) -> ManageContext<'a> {
    ManageContext { config: c, notifications: n, keys: k, catalog: None }
}

fn op(id: &str, operation: Op) -> Manage {
    Manage { service_id: ServiceId::parse(id).unwrap(), actor: Actor::ApiKey, operation }
}

fn put(id: &str, value: Value, replace: bool) -> Manage {
    op(id, Op::Put { spec: spec(value), group: None, random: random(1), replace })
}

#[test]
fn operations_create_conflict_pause_resume_rotate_and_delete_with_a_change_each() {
    let (c, n, k) = (declared(), channels(), ring());
    let ctx = ctx(&c, &n, &k);
    let mut slot = None;
    let out = handle(&mut slot, at(0), put("a", json!({"id": "a"}), false), &ctx);
    let (status, answer) = out.answer.unwrap();
    assert_eq!((status, answer.key.is_some(), out.store), (201, true, Store::Save));
    assert_eq!(out.change.unwrap().action, "create");
    let dup = handle(&mut slot, at(1), put("a", json!({"id": "a"}), false), &ctx);
    assert_eq!(dup.answer.unwrap_err().status, 409);
    let replaced = handle(&mut slot, at(2), put("a", json!({"id": "a", "name": "A"}), true), &ctx);
    assert_eq!(replaced.answer.unwrap().0, 200);
    assert_eq!(slot.as_ref().unwrap().created.at, at(0), "a replace keeps the creation");

    let resume = handle(&mut slot, at(3), op("a", Op::Resume), &ctx);
    assert_eq!(resume.answer.unwrap_err().status, 409, "not paused");
    let pause = handle(&mut slot, at(4), op("a", Op::Pause), &ctx);
    assert_eq!((pause.store, pause.change.unwrap().action.as_str()), (Store::Save, "pause"));
    let again = handle(&mut slot, at(5), op("a", Op::Pause), &ctx);
    assert_eq!((again.answer.unwrap().0, again.store, again.change), (200, Store::Nothing, None), "idempotent");
    assert!(!slot.as_ref().unwrap().config(&c).enabled);
    assert_eq!(handle(&mut slot, at(6), op("a", Op::Resume), &ctx).store, Store::Save);

    let rotated = handle(&mut slot, at(7), op("a", Op::Rotate { random: random(2), grace_secs: 10 }), &ctx);
    let (_, answer) = rotated.answer.unwrap();
    assert_eq!(answer.old_key_valid_until, Some(at(10_007)));
    let patched = handle(&mut slot, at(8), op("a", Op::Patch { patch: json!({"gracePeriod": 40}), group: None }), &ctx);
    assert_eq!(patched.answer.unwrap().1.service["gracePeriod"], 40);
    let bad =
        handle(&mut slot, at(9), op("a", Op::Patch { patch: json!({"stalenessThreshold": 0}), group: None }), &ctx);
    assert_eq!(bad.answer.unwrap_err().field.as_deref(), Some("stalenessThreshold"));

    let deleted = handle(&mut slot, at(10), op("a", Op::Delete { purge: true }), &ctx);
    assert_eq!(deleted.store, Store::Delete { purge: true });
    assert!(slot.is_none());
    assert_eq!(handle(&mut slot, at(11), op("a", Op::Get), &ctx).answer.unwrap_err().status, 404);
}

#[test]
fn a_declared_id_is_refused_naming_its_file() {
    let (c, n, k) = (declared(), channels(), ring());
    let mut slot = None;
    let p =
        handle(&mut slot, at(0), put("nightly", json!({"id": "nightly"}), true), &ctx(&c, &n, &k)).answer.unwrap_err();
    assert_eq!(p.status, 409);
    assert!(p.detail.contains("config/services.json"), "{}", p.detail);
}

#[test]
fn the_catalog_appends_managed_services_after_the_declared_ones() {
    let c = declared();
    let m = spec(json!({"id": "m", "group": "jobs"})).resolve_lenient(c.group_defaults("jobs"), &c);
    let dup = spec(json!({"id": "nightly"})).resolve_lenient(None, &c);
    let merged = c.with_managed(
        vec![m, dup],
        vec![GroupConfig {
            id: "extra".into(),
            name: "Extra".into(),
            services: vec![],
            public: true,
            auto_provision: None,
            maintenance: vec![],
        }],
    );
    let ids: Vec<&str> = merged.services.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["nightly", "m"], "a managed id never shadows a declared one");
    assert!(merged.is_declared("nightly") && !merged.is_declared("m") && merged.has_managed());
    assert_eq!(merged.service("m").unwrap().grace_period, Duration::from_secs(120));
    let jobs: Vec<&str> = merged.groups[0].services.iter().map(ServiceId::as_str).collect();
    assert_eq!(jobs, ["nightly", "m"]);
    assert_eq!(merged.groups[1].id, "extra");
    assert_eq!(merged.declared_services().len(), 1);
}

#[test]
fn actors_read_back_as_written() {
    for a in [
        Actor::ApiKey,
        Actor::User("ana".into()),
        Actor::Provisioning("g".into()),
        Actor::HeartbeatCentral,
        Actor::Heartbeat,
    ] {
        assert_eq!(Actor::parse(&a.to_string()), a);
    }
}

#[test]
fn a_managed_group_parses_like_a_services_json_group() {
    let c = declared();
    let g = ManagedGroup::parse(br#"{"id": "team", "gracePeriod": 60, "public": true}"#, None, None, &c).unwrap();
    assert_eq!((g.name.as_str(), g.public), ("team", true));
    assert_eq!(Value::Object(g.defaults.clone()), json!({"gracePeriod": 60}));
    let p = ManagedGroup::parse(br#"{"id": "team", "gracePeriod": 99999999999, "services": []}"#, None, None, &c)
        .unwrap_err();
    let got: Vec<String> = fields(&p).into_iter().map(|(f, _)| f).collect();
    assert_eq!(got, ["services", "gracePeriod"]);
    let patched = ManagedGroup::parse(br#"{"gracePeriod": null, "name": "Team"}"#, Some("team"), Some(&g), &c).unwrap();
    assert_eq!((patched.name.as_str(), patched.defaults.is_empty()), ("Team", true));
}
