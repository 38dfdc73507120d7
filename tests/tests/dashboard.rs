//! The dashboard and its access rules through the real Worker: pages, CSP, escaping,
//! sessions (login, logout ending them server-side, token changes, forged and expired
//! cookies), viewer scope on the page, the JSON APIs and the live stream, and the public
//! status page.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::json;
use systole_core::keys::KeyRing;
use systole_core::session::{self, Session};
use systole_core::time::Timestamp;
use systole_e2e::{
    now_ms, spawn_worker, spawn_worker_with, Worker, ADMIN_TOKEN, IDLE_TOKEN, SESSION_SECRET, VIEWER_TOKEN,
};

const SECOND: Duration = Duration::from_secs(1);

/// The `name=value` part of a `Set-Cookie` answer.
fn session_cookie(worker: &Worker, token: &str) -> String {
    let answer = worker.login(token);
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(answer.header("location"), Some("/"));
    let set = answer.header("set-cookie").unwrap().to_owned();
    assert!(set.starts_with("__Host-systole_session="), "{set}");
    for attr in ["HttpOnly", "Secure", "SameSite=Strict", "Max-Age=43200", "Path=/"] {
        assert!(set.contains(attr), "{set} lacks {attr}");
    }
    assert!(!set.contains("Domain"), "{set}: __Host- cookies have no Domain");
    set.split(';').next().unwrap().to_owned()
}

#[test]
fn pages_are_escaped_under_a_strict_csp_and_sessions_are_checked() {
    let worker = spawn_worker();
    worker.pulse("web-xss", &json!({"status": "up", "message": "<script>alert(2)</script>"}));
    worker.pulse("fast", &json!({"status": "up", "message": "core detail"}));

    // Without credentials: the page is the sign-in form (401), the API a problem (401).
    let anonymous = worker.get_as("/", None, None);
    assert_eq!(anonymous.status, 401);
    assert!(anonymous.body.contains("Sign in"));
    let csp = anonymous.header("content-security-policy").unwrap().to_owned();
    for directive in ["default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline"));
    let api = worker.get_as("/api/v1/status", None, None);
    assert_eq!((api.status, api.content_type.as_str()), (401, "application/problem+json"));

    // A wrong token gets the form again; a forged or expired cookie counts as none.
    assert_eq!(worker.login("not-a-token").status, 401);
    let forged = format!("{}=ana.0.{}.{}", session::COOKIE, now_ms() + 3_600_000, "00".repeat(32));
    let tokens = KeyRing::parse_tokens(&harness_tokens(), SESSION_SECRET.as_bytes()).unwrap();
    let ana = tokens.digest_of("ana").unwrap();
    let signed = |expires: i64, secret: &[u8]| {
        let value = Session { user: "ana".into(), generation: 0, expires: Timestamp::from_millis(expires) };
        format!("{}={}", session::COOKIE, value.sign(ana, secret))
    };
    let expired = signed(now_ms() - 1000, SESSION_SECRET.as_bytes());
    let other_secret = signed(now_ms() + 3_600_000, b"another secret of at least 32 bytes!");
    // The old cookie name is not read, even with a valid value.
    let valid = signed(now_ms() + 3_600_000, SESSION_SECRET.as_bytes());
    assert_eq!(worker.get_as("/api/v1/status", None, Some(&valid)).status, 200, "the harness signs as the Worker");
    let old_name = valid.replacen("__Host-", "", 1);
    for cookie in [forged, expired, other_secret, old_name] {
        assert_eq!(worker.get_as("/api/v1/status", None, Some(&cookie)).status, 401, "{cookie}");
        assert_eq!(worker.get_as("/", None, Some(&cookie)).status, 401, "{cookie}");
        assert!(worker.live("/api/v1/live", None, Some(&cookie), SECOND).is_err(), "live with {cookie}");
    }

    // The admin's session sees everything, with hostile text as text.
    let admin = session_cookie(&worker, ADMIN_TOKEN);
    let page = worker.wait_for("the message flushed to D1", 20 * SECOND, || {
        let p = worker.get_as("/", None, Some(&admin));
        p.body.contains("&lt;script&gt;alert(2)&lt;/script&gt;").then_some(p)
    });
    assert_eq!(page.status, 200);
    assert!(page.header("content-security-policy").is_some());
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert!(page.body.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(!page.body.contains("<img src=x") && !page.body.contains("<script>alert"));
    assert!(page.body.contains("Systole Test Fleet"), "branding from dashboard.json");
    assert!(page.body.contains("Signed in as Ana Admin (admin)"));
    for group in ["Core", "Website", "Load"] {
        assert!(page.body.contains(&format!(">{group}<")), "{group} shown to the admin");
    }
    let theme = worker.get("/assets/theme.css");
    assert!(theme.body.contains("--primary:#7c3aed") && theme.content_type.starts_with("text/css"));
    assert!(worker.get("/assets/app.js").content_type.starts_with("text/javascript"));
    // dashboard.json's customCss is a stylesheet of its own; its customHtml was sanitised
    // when the Worker was built.
    let custom = worker.get("/assets/custom.css");
    assert!(custom.status == 200 && custom.content_type.starts_with("text/css"), "{}", custom.body);
    assert!(custom.body.contains(".page-header-extra .notice") && page.body.contains("/assets/custom.css"));
    assert!(page.body.contains("<strong>Planned maintenance</strong>"), "custom HTML as HTML");
    for gone in ["window.__pwned", "javascript:", "onclick", "onmouseover"] {
        assert!(!page.body.contains(gone), "{gone} sanitised away");
    }
    assert_eq!(worker.get("/assets/nope.js").status, 404);

    // Login CSRF: a sign-in or sign-out posted from another site's page is refused; a
    // browser on our own page (its `Origin`) and clients sending neither header are not.
    let token = format!("token={ADMIN_TOKEN}");
    for header in [("Origin", "https://evil.example"), ("Origin", "null"), ("Sec-Fetch-Site", "cross-site")] {
        let refused = worker.post_form("/login", &token, &[header]);
        assert_eq!(refused.status, 403, "{header:?}");
        assert!(refused.header("set-cookie").is_none() && refused.body.contains("another site"), "{header:?}");
        assert_eq!(worker.post_form("/logout", "", &[header]).status, 403, "{header:?}");
    }
    let ours = [("Origin", worker.base.as_str()), ("Sec-Fetch-Site", "same-origin")];
    assert_eq!(worker.post_form("/login", &token, &ours).status, 303);

    // Logout clears the cookie.
    let out = worker.request("POST", "/logout", None, "");
    assert_eq!(out.status, 200, "ureq followed the 303 to /login");
    assert!(out.body.contains("Sign in"));
}

/// The harness's `USER_TOKENS`.
fn harness_tokens() -> String {
    json!({"ana": ADMIN_TOKEN, "vera": VIEWER_TOKEN, "idle": IDLE_TOKEN}).to_string()
}

#[test]
fn signing_out_ends_every_session_of_the_user_server_side() {
    let worker = spawn_worker();
    let (laptop, phone) = (session_cookie(&worker, ADMIN_TOKEN), session_cookie(&worker, ADMIN_TOKEN));
    let vera = session_cookie(&worker, VIEWER_TOKEN);
    for cookie in [&laptop, &phone, &vera] {
        assert_eq!(worker.get_as("/api/v1/status", None, Some(cookie)).status, 200);
    }
    let mut tab = worker.live("/api/v1/live", None, Some(&phone), 10 * SECOND).unwrap();

    let out = worker.post_form("/logout", "", &[("Cookie", &laptop)]);
    assert_eq!((out.status, out.header("location")), (303, Some("/login")));
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    // The cookie kept after sign-out is refused everywhere, and so is the user's other one.
    for cookie in [&laptop, &phone] {
        let api = worker.get_as("/api/v1/status", None, Some(cookie));
        assert_eq!((api.status, api.content_type.as_str()), (401, "application/problem+json"));
        assert_eq!(worker.get_as("/", None, Some(cookie)).status, 401);
        assert!(worker.live("/api/v1/live", None, Some(cookie), SECOND).is_err());
    }
    assert_eq!(tab.close_code(), Some(1008), "the open tab's socket is closed");
    // Another user is not signed out; signing in again works.
    assert_eq!(worker.get_as("/api/v1/status", None, Some(&vera)).status, 200);
    let again = session_cookie(&worker, ADMIN_TOKEN);
    assert_eq!(worker.get_as("/api/v1/status", None, Some(&again)).status, 200);
    assert_eq!(worker.get_as("/api/v1/status", None, Some(&laptop)).status, 401, "still ended");
}

#[test]
fn a_new_login_token_ends_the_sessions_of_the_old_one() {
    let before = spawn_worker();
    let (ana, vera) = (session_cookie(&before, ADMIN_TOKEN), session_cookie(&before, VIEWER_TOKEN));
    drop(before);
    // The same deployment after ana's token was rotated (vera's kept).
    let tokens = json!({"ana": "a-brand-new-token-for-ana", "vera": VIEWER_TOKEN, "idle": IDLE_TOKEN}).to_string();
    let after = spawn_worker_with(&[("USER_TOKENS".into(), tokens)]);
    assert_eq!(after.get_as("/api/v1/status", None, Some(&vera)).status, 200, "an unchanged token keeps its session");
    assert_eq!(after.get_as("/api/v1/status", None, Some(&ana)).status, 401, "issued for the old token");
    assert_eq!(after.get_as("/", None, Some(&ana)).status, 401);
    assert_eq!(after.get_as("/api/v1/status", Some(ADMIN_TOKEN), None).status, 401, "the old token itself");
    assert_eq!(after.get_as("/api/v1/status", Some("a-brand-new-token-for-ana"), None).status, 200);
}

#[test]
fn a_viewer_sees_only_their_groups_on_the_page_the_apis_and_the_live_stream() {
    let worker = spawn_worker();
    worker.pulse("fast", &json!({"status": "up"}));
    worker.pulse("web-frontend", &json!({"status": "up"}));
    let vera = session_cookie(&worker, VIEWER_TOKEN);

    let page = worker.get_as("/", None, Some(&vera));
    assert_eq!(page.status, 200);
    assert!(page.body.contains(">Website<") && !page.body.contains(">Core<"));
    assert!(!page.body.contains("data-service=\"fast\""));
    assert!(page.body.contains("Signed in as Vera Viewer (viewer)"));

    let status = worker.get_as("/api/v1/status", None, Some(&vera)).json();
    let ids: Vec<&str> = status["services"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["web-frontend", "web-flip", "web-xss"]);
    assert_eq!(status["summary"]["total"], 3);
    let services = worker.get_as("/api/v1/services", Some(VIEWER_TOKEN), None).json();
    assert_eq!(services["groups"].as_array().unwrap().len(), 1);
    for hidden in [
        "/api/v1/logs?serviceId=fast",
        "/api/v1/uptime?serviceId=fast",
        "/api/v1/incidents?serviceId=fast",
        "/api/v1/uptime?serviceId=web-frontend,fast&format=csv",
        "/services/fast",
    ] {
        assert_eq!(worker.get_as(hidden, None, Some(&vera)).status, 404, "{hidden}");
    }
    // Rollups are read only for the viewer's services, and theirs are all there.
    let yesterday = now_ms() / 86_400_000 * 86_400_000 - 86_400_000;
    worker.d1(&format!(
        "INSERT OR REPLACE INTO uptime_daily VALUES ('web-frontend', {yesterday}, 86340000, 0, 0, 60000, 1440), \
         ('fast', {yesterday}, 86400000, 0, 0, 0, 1440)"
    ));
    let uptime = worker.get_as("/api/v1/uptime", Some(VIEWER_TOKEN), None).json();
    let services = uptime["services"].as_array().unwrap();
    assert_eq!(services.len(), 3);
    let frontend = services.iter().find(|s| s["id"] == "web-frontend").unwrap();
    let days = frontend["days"].as_array().unwrap();
    assert!(days.iter().any(|d| d["downtimeMinutes"].as_f64() == Some(1.0)), "yesterday's rollup: {frontend}");
    assert_eq!(worker.get_as("/services/web-frontend", None, Some(&vera)).status, 200);

    // Live: the viewer's hub hears web services only; the admin's hears both.
    let mut viewer = worker.live("/api/v1/live", None, Some(&vera), 5 * SECOND).unwrap();
    let mut admin = worker.live("/api/v1/live", Some(ADMIN_TOKEN), None, 5 * SECOND).unwrap();
    worker.pulse("fast", &json!({"status": "degraded", "message": "core only"}));
    worker.pulse("web-frontend", &json!({"status": "degraded", "message": "web"}));
    let (update, before) = viewer.until("web-frontend", "degraded", 20 * SECOND);
    assert!(before.iter().all(|u| u["id"] != "fast"), "{before:?}");
    assert_eq!(update["message"], "web");
    assert_eq!(update["change"]["from"], "up");
    admin.until("fast", "degraded", 20 * SECOND);
    // Nothing about `fast` is on its way to the viewer either.
    viewer.send("ping");
    while let Some(u) = viewer.update() {
        assert_ne!(u["id"], "fast");
    }

    // A tab that connects now first gets the hub's latest update of each service it carried.
    let mut late = worker.live("/api/v1/live", None, Some(&vera), 5 * SECOND).unwrap();
    let (replayed, _) = late.until("web-frontend", "degraded", 20 * SECOND);
    assert_eq!(replayed["replay"], true);

    // The alert history panel and the service page's status history, from D1.
    let history = worker.get_as("/?activity=1h", None, Some(&vera)).body;
    assert!(history.contains("Up → Degraded (heartbeat reported degraded"), "{history}");
    assert!(!history.contains("/services/fast"));
    let admin_history = worker.get_as("/?activity=1h", Some(ADMIN_TOKEN), None).body;
    assert!(admin_history.contains("href=\"/services/fast\""));
    let page = worker.get_as("/services/web-frontend", None, Some(&vera)).body;
    assert!(page.contains("Status history") && page.contains("Unknown → Up"), "{page}");
}

#[test]
fn the_public_status_page_shows_public_groups_live_without_messages() {
    let worker = spawn_worker();
    worker.pulse("web-frontend", &json!({"status": "up", "message": "internal detail"}));
    worker.pulse("fast", &json!({"status": "up"}));
    let page = worker.wait_for("web-frontend written", 20 * SECOND, || {
        let p = worker.get_as("/status", None, None);
        p.body.contains("data-service=\"web-frontend\" data-status=\"up\"").then_some(p)
    });
    assert!(page.header("content-security-policy").is_some());
    assert!(page.body.contains("Website") && !page.body.contains("data-service=\"fast\""));
    assert!(!page.body.contains("internal detail"));

    let mut public = worker.live("/status/live", None, None, 5 * SECOND).unwrap();
    worker.pulse("fast", &json!({"status": "down"}));
    worker.pulse("web-frontend", &json!({"status": "down", "message": "secret cause"}));
    let (update, before) = public.until("web-frontend", "down", 20 * SECOND);
    assert!(before.iter().all(|u| u["id"] != "fast"));
    assert_eq!(update["message"], serde_json::Value::Null);
    assert_eq!(update["change"]["reason"], "");
    // Not a WebSocket upgrade: 426.
    assert_eq!(worker.get_as("/status/live", None, None).status, 426);
}

#[test]
fn two_users_with_the_same_token_lock_every_sign_in() {
    // Accepted, a sign-in with it would pick one of the two users. The start-up log names
    // both users, never the token (`systole_core::keys`, unit-tested).
    let tokens = json!({"ana": ADMIN_TOKEN, "vera": ADMIN_TOKEN, "idle": IDLE_TOKEN}).to_string();
    let worker = spawn_worker_with(&[("USER_TOKENS".into(), tokens)]);
    for token in [ADMIN_TOKEN, IDLE_TOKEN] {
        assert_eq!(worker.login(token).status, 401, "{token}");
        assert_eq!(worker.get_as("/api/v1/status", Some(token), None).status, 401, "{token}");
    }
}

#[test]
fn a_login_token_shorter_than_sixteen_characters_locks_every_sign_in() {
    // The env file's later USER_TOKENS replaces the default one.
    let tokens = json!({"ana": ADMIN_TOKEN, "vera": "guessable"}).to_string();
    let worker = spawn_worker_with(&[("USER_TOKENS".into(), tokens)]);
    for token in [ADMIN_TOKEN, "guessable"] {
        assert_eq!(worker.login(token).status, 401, "{token}");
        let api = worker.get_as("/api/v1/status", Some(token), None);
        assert_eq!((api.status, api.content_type.as_str()), (401, "application/problem+json"), "{token}");
    }
}

/// The ids of every page of `base` (a listing path ending in `?` or `&`) walked with
/// `limit=20` and each page's `nextCursor`, and how many pages it took; `check` sees each
/// page's path and answer.
fn walk(worker: &Worker, base: &str, check: &dyn Fn(&str, &serde_json::Value)) -> (Vec<String>, usize) {
    let (mut seen, mut cursor, mut pages) = (Vec::<String>::new(), None::<String>, 0);
    loop {
        let path = match &cursor {
            None => format!("{base}limit=20"),
            Some(c) => format!("{base}limit=20&cursor={c}"),
        };
        let page = worker.get(&path);
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        let page = page.json();
        let ids: Vec<String> =
            page["services"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_owned()).collect();
        assert!(ids.len() <= 20, "{path}");
        check(&path, &page);
        pages += 1;
        seen.extend(ids);
        match page["nextCursor"].as_str() {
            Some(next) => {
                assert_eq!(Some(next), seen.last().map(String::as_str), "{path}: the cursor is the last id shown");
                cursor = Some(next.to_owned());
            }
            None => return (seen, pages),
        }
    }
}

#[test]
fn the_status_api_pages_by_cursor_and_counts_the_whole_fleet_on_every_page() {
    let worker = spawn_worker();
    worker.pulse("web-frontend", &json!({"status": "down", "message": "disk full"}));
    worker.wait_for_status("web-frontend", "down", Duration::from_secs(20));
    let config = systole_e2e::test_config();
    let all: Vec<String> = config.services.iter().map(|s| s.id.to_string()).collect();

    // Pages of 20 in config order, to the end; each carries the whole fleet's summary.
    let disabled = config.services.iter().filter(|s| !s.enabled).count();
    let (seen, pages) = walk(&worker, "/api/v1/status?", &|path, page| {
        assert_eq!(page["summary"]["total"], all.len(), "{path}");
        assert_eq!(page["summary"]["down"], 1, "{path}: counted wherever it is paged");
        // Never written: `paused` when disabled, else `unknown` (counted by difference).
        assert_eq!(page["summary"]["paused"], disabled, "{path}");
        assert_eq!(page["summary"]["unknown"], all.len() - disabled - 1, "{path}");
    });
    assert_eq!(seen, all, "every service once, in config order");
    assert_eq!(pages, all.len().div_ceil(20));
    let first = worker.get("/api/v1/status").json();
    assert_eq!(first["services"].as_array().unwrap().len(), all.len().min(100), "the default limit is 100");

    // Only some services; the summary stays the caller's whole fleet.
    let two = worker.get("/api/v1/status?serviceId=web-frontend,fast&serviceId=no-such").json();
    let ids: Vec<&str> = two["services"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    let mut expected = vec!["web-frontend", "fast"];
    expected.sort_by_key(|id| all.iter().position(|a| a == id));
    assert_eq!(ids, expected, "config order; unknown ids left out");
    let frontend = two["services"].as_array().unwrap().iter().find(|s| s["id"] == "web-frontend").unwrap();
    assert_eq!(frontend["message"], "disk full");
    assert_eq!(two["summary"]["total"], all.len());

    // Bad parameters: 400 problems naming the parameter and its limit.
    for (query, field, limit) in [
        ("limit=0", "limit", Some(500u64)),
        ("limit=501", "limit", Some(500)),
        ("limit=ten", "limit", Some(500)),
        ("cursor=no-such-service", "cursor", None),
        ("serviceId=Not%20An%20Id", "serviceId", None),
    ] {
        let answer = worker.get(&format!("/api/v1/status?{query}"));
        assert_eq!((answer.status, answer.content_type.as_str()), (400, "application/problem+json"), "{query}");
        let p = answer.json();
        assert_eq!(p["field"], field, "{query}");
        assert_eq!(p["limit"].as_u64(), limit, "{query}");
    }

    // A viewer pages through their own services only.
    let vera = worker.get_as("/api/v1/status?limit=2", Some(VIEWER_TOKEN), None).json();
    let ids: Vec<&str> = vera["services"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(
        (ids.as_slice(), vera["nextCursor"].as_str()),
        (["web-frontend", "web-flip"].as_slice(), Some("web-flip"))
    );
    assert_eq!((vera["summary"]["total"].as_u64(), vera["summary"]["down"].as_u64()), (Some(3), Some(1)));
    let rest = worker.get_as("/api/v1/status?limit=2&cursor=web-flip", Some(VIEWER_TOKEN), None).json();
    assert_eq!((rest["services"][0]["id"].as_str(), rest["nextCursor"].as_str()), (Some("web-xss"), None));
    let other = worker.get_as("/api/v1/status?cursor=fast", Some(VIEWER_TOKEN), None);
    assert_eq!(other.status, 400, "a cursor from a listing the viewer cannot see");
}

#[test]
fn uptime_and_services_page_as_the_status_api_does() {
    let worker = spawn_worker();
    let config = systole_e2e::test_config();
    let all: Vec<String> = config.services.iter().map(|s| s.id.to_string()).collect();
    assert!(all.len() > 20 && all.len() <= 100, "several pages of 20, one of the default 100");
    let ids = |v: &serde_json::Value| -> Vec<String> {
        v["services"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_owned()).collect()
    };

    // Every service once, in config order, page after page.
    for base in ["/api/v1/uptime?", "/api/v1/services?"] {
        let (seen, pages) = walk(&worker, base, &|_, _| {});
        assert_eq!(seen, all, "{base}");
        assert_eq!(pages, all.len().div_ceil(20), "{base}");
    }

    // The default page holds a small fleet whole: uptime says `nextCursor: null`; the
    // services answer is as it was before paging (no `nextCursor`, every group).
    let uptime = worker.get("/api/v1/uptime").json();
    assert_eq!((ids(&uptime), uptime["nextCursor"].clone()), (all.clone(), serde_json::Value::Null));
    let services = worker.get("/api/v1/services").json();
    assert_eq!(ids(&services), all);
    assert_eq!(services.as_object().unwrap().keys().collect::<Vec<_>>(), ["groups", "services"]);
    // The groups of the page's services: every declared group that has members (the
    // auto-provisioning groups start empty).
    let with_members = config.groups.iter().filter(|g| !g.services.is_empty()).count();
    assert_eq!(services["groups"].as_array().unwrap().len(), with_members);

    // Named services, paged in config order; the CSV carries its cursor in a header.
    let first = worker.get("/api/v1/uptime?serviceId=web-frontend,fast&limit=1").json();
    assert_eq!((ids(&first), first["nextCursor"].as_str()), (vec!["fast".to_owned()], Some("fast")));
    let rest = worker.get("/api/v1/uptime?serviceId=web-frontend,fast&limit=1&cursor=fast").json();
    assert_eq!((ids(&rest), rest["nextCursor"].as_str()), (vec!["web-frontend".to_owned()], None));
    let csv = worker.get("/api/v1/uptime?format=csv&limit=2");
    assert_eq!(csv.header("next-cursor"), Some(all[1].as_str()));
    assert!(csv
        .body
        .lines()
        .skip(1)
        .all(|l| l.contains(&format!(",{},", all[0])) || l.contains(&format!(",{},", all[1]))));
    let last = worker.get(&format!("/api/v1/uptime?format=csv&cursor={}", all[all.len() - 2]));
    assert_eq!(last.header("next-cursor"), None, "the last page");

    // Services by group, with only that group.
    let web = worker.get("/api/v1/services?group=web").json();
    assert_eq!(ids(&web), ["web-frontend", "web-flip", "web-xss"]);
    assert_eq!(web["groups"].as_array().unwrap().iter().map(|g| g["id"].clone()).collect::<Vec<_>>(), [json!("web")]);
    let mine = worker.get_as("/api/v1/services?limit=2", Some(VIEWER_TOKEN), None).json();
    assert_eq!(
        (ids(&mine), mine["nextCursor"].as_str()),
        (vec!["web-frontend".into(), "web-flip".into()], Some("web-flip"))
    );

    // Bad parameters: 400 problems naming the parameter (and the limit it broke); a group
    // that is not there, or not the caller's, is a 404 naming `group`.
    for base in ["/api/v1/uptime", "/api/v1/services"] {
        for (query, field, limit) in [
            ("limit=0", "limit", Some(500u64)),
            ("limit=501", "limit", Some(500)),
            ("limit=ten", "limit", Some(500)),
            ("cursor=no-such-service", "cursor", None),
            ("cursor=", "cursor", None),
            ("serviceId=Not%20An%20Id", "serviceId", None),
        ] {
            let answer = worker.get(&format!("{base}?{query}"));
            assert_eq!(
                (answer.status, answer.content_type.as_str()),
                (400, "application/problem+json"),
                "{base}?{query}"
            );
            let p = answer.json();
            assert_eq!((p["field"].as_str(), p["limit"].as_u64()), (Some(field), limit), "{base}?{query}");
        }
    }
    for (answer, what) in [
        (worker.get("/api/v1/services?group=no-such-group"), "unknown"),
        (worker.get_as("/api/v1/services?group=core", Some(VIEWER_TOKEN), None), "not the viewer's"),
    ] {
        assert_eq!((answer.status, answer.content_type.as_str()), (404, "application/problem+json"), "{what}");
        assert_eq!(answer.json()["field"], "group", "{what}");
    }
}

#[test]
fn a_dashboard_of_more_than_one_page_shows_its_page_what_needs_attention_and_the_whole_fleets_counts() {
    let worker = spawn_worker();
    worker.pulse("fast", &json!({"status": "down", "message": "queue stuck"}));
    worker.wait_for_status("fast", "down", Duration::from_secs(20));
    let total = systole_e2e::test_config().services.len();
    let rows = |body: &str| body.matches("<li class=\"row\"").count();

    let whole = worker.get_as("/", Some(ADMIN_TOKEN), None);
    assert_eq!(whole.status, 200);
    assert_eq!(rows(&whole.body), total, "one page: every service, as before");
    assert!(!whole.body.contains("data-paged") && !whole.body.contains("Needs attention"));

    let first = worker.get_as("/?limit=20&activity=7d", Some(ADMIN_TOKEN), None);
    assert_eq!(first.status, 200);
    assert!(first.body.contains("data-paged=\"1\""));
    assert!(first.body.contains(&format!("Services 1–20 of {total} · page 1 of {}", total.div_ceil(20))));
    assert!(first.body.contains("href=\"/?limit=20&amp;activity=7d&amp;page=2\""), "the next page keeps the rest");
    let attention = first.body.split("id=\"attention\"").nth(1).unwrap().split("</section>").next().unwrap();
    assert!(attention.contains("data-service=\"fast\"") && attention.contains("queue stuck"));
    assert_eq!(rows(attention), 1);
    assert_eq!(rows(&first.body), 20 + 1, "the page's rows and the one that needs attention");
    assert!(first.body.contains(&format!("data-count=\"total\">{total}<")));
    assert!(first.body.contains("data-count=\"down\">1<"));
    assert!(
        first.body.contains("<title>(1 down)"),
        "{}",
        first.body.lines().find(|l| l.contains("<title>")).unwrap_or("")
    );

    let last = worker.get_as(&format!("/?limit=20&page={}", total.div_ceil(20) + 5), Some(ADMIN_TOKEN), None);
    assert_eq!(last.status, 200, "past the end: the last page");
    assert_eq!(rows(&last.body), (total - 1) % 20 + 1 + 1);
    for bad in ["/?page=0", "/?page=two", "/?limit=501"] {
        let answer = worker.get_as(bad, Some(ADMIN_TOKEN), None);
        assert_eq!((answer.status, answer.content_type.as_str()), (400, "application/problem+json"), "{bad}");
    }
}
