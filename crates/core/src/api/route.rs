//! Path patterns of the HTTP API's route table, and the `Allow` header derived from it.
//!
//! A pattern is a path whose segments are literals, `{name}` (exactly one non-empty segment)
//! or, last, `*` (the rest of the path, possibly empty, slashes included):
//! `/api/v1/status`, `/api/v1/services/{id}`, `/assets/*`. The Worker keeps one table of
//! (pattern, methods, handler, access) and derives 404, 405 and `Allow` from it.

/// A path pattern; see the module docs for its syntax.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Pattern(pub &'static str);

/// The values a matched [`Pattern`] captured: `(name, value)` in pattern order, `*` named
/// `"*"`.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct Params<'p>(pub Vec<(&'static str, &'p str)>);

impl Pattern {
    /// The captured parameters when `path` (no query string) matches, else `None`.
    ///
    /// Literal segments compare exactly (case-sensitive); `{name}` takes one non-empty
    /// segment; a final `*` takes whatever follows its prefix.
    pub fn matches<'p>(&self, path: &'p str) -> Option<Params<'p>> {
        // The literal text before the first `{name}` or `*` must begin the path: most of a
        // route table's patterns fail here, before any splitting (the router tries them in
        // order for every request), after one plain byte scan of the pattern.
        let Some(wild) = self.0.bytes().position(|b| b == b'{' || b == b'*') else {
            return (path == self.0).then(Params::default);
        };
        if !path.as_bytes().starts_with(self.0.as_bytes().get(..wild).unwrap_or_default()) {
            return None;
        }
        let want = self.0.split('/');
        // With a final `*`, the path's last piece is everything after the pattern's prefix.
        let pieces = if self.0.ends_with("/*") { want.clone().count() } else { usize::MAX };
        let mut got = path.splitn(pieces, '/');
        let mut params = Params::default();
        for w in want {
            let g = got.next()?;
            match w.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
                Some(name) if !g.is_empty() => params.0.push((name, g)),
                Some(_) => return None,
                None if w == "*" => params.0.push(("*", g)),
                None if w == g => {}
                None => return None,
            }
        }
        got.next().is_none().then_some(params)
    }

    /// Whether the pattern is a plain path (no `{name}`, no `*`).
    pub fn is_fixed(&self) -> bool {
        !self.0.contains('{') && !self.0.ends_with('*')
    }
}

impl<'p> Params<'p> {
    /// The value captured under `name` (`"*"` for the rest of the path).
    pub fn get(&self, name: &str) -> Option<&'p str> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }
}

/// The path of `url`, an absolute URL as the runtime serializes it (`Request.url`, the
/// WHATWG URL Standard's serializer): from the first `/` after `scheme://host` up to the
/// first `?` or `#`, still percent-encoded; `/` when there is none. Nothing is parsed
/// beyond that: the serialization of an `http:` or `https:` URL always begins its path
/// with that `/` (the userinfo and host cannot hold one), and percent-encodes any `?` or `#`
/// within its path.
pub fn path_of(url: &str) -> &str {
    // A byte scan for `://` (a substring search would set up its searcher on every request).
    let host = url.as_bytes().windows(3).position(|w| w == b"://").map_or(0, |i| i + 3);
    let rest = url.get(host..).unwrap_or(url);
    let path = rest.find('/').and_then(|start| rest.get(start..)).unwrap_or("/");
    path.split(['?', '#']).next().unwrap_or("/")
}

/// The `Allow` header value for a path: the methods of every route of the path, in table
/// order, each once, joined with `", "` (`["GET", "HEAD"]` and `["POST"]` give
/// `"GET, HEAD, POST"`).
pub fn allow<'a>(methods: impl IntoIterator<Item = &'a [&'static str]>) -> String {
    let mut all: Vec<&str> = Vec::new();
    for m in methods.into_iter().flatten() {
        if !all.contains(m) {
            all.push(m);
        }
    }
    all.join(", ")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_path_of_a_serialized_url_stops_at_its_query_or_fragment() {
        let cases = [
            ("https://systole.example/api/v1/heartbeat", "/api/v1/heartbeat"),
            ("http://127.0.0.1:8787/ping/abc?rid=1", "/ping/abc"),
            ("https://h.example/a%3Fb/c#frag", "/a%3Fb/c"),
            ("https://h.example/?x=1", "/"),
            ("https://h.example", "/"),
            ("https://user:p%2Fw@h.example/x/", "/x/"),
            ("https://service-monitor/", "/"),
            ("https://service-monitor/state", "/state"),
        ];
        for (url, path) in cases {
            assert_eq!(path_of(url), path, "{url}");
        }
    }

    #[test]
    fn fixed_paths_match_only_themselves() {
        let p = Pattern("/api/v1/status");
        assert_eq!(p.matches("/api/v1/status"), Some(Params::default()));
        assert_eq!(p.matches("/api/v1/status/"), None);
        assert_eq!(p.matches("/api/statuses"), None);
        assert_eq!(p.matches("/api"), None);
        assert!(p.is_fixed());
        assert_eq!(Pattern("/").matches("/"), Some(Params::default()));
        assert_eq!(Pattern("/").matches(""), None);
    }

    #[test]
    fn a_named_segment_takes_one_non_empty_segment() {
        let p = Pattern("/api/v1/services/{id}/logs");
        assert_eq!(p.matches("/api/v1/services/db-prod/logs").unwrap().get("id"), Some("db-prod"));
        assert_eq!(p.matches("/api/v1/services//logs"), None);
        assert_eq!(p.matches("/api/v1/services/a/b/logs"), None);
        assert!(!p.is_fixed());
    }

    #[test]
    fn a_final_star_takes_the_rest_slashes_and_empty_included() {
        let p = Pattern("/assets/*");
        assert_eq!(p.matches("/assets/app.js").unwrap().get("*"), Some("app.js"));
        assert_eq!(p.matches("/assets/a/b.css").unwrap().get("*"), Some("a/b.css"));
        assert_eq!(p.matches("/assets/").unwrap().get("*"), Some(""));
        assert_eq!(p.matches("/assets"), None);
        assert_eq!(p.matches("/assetsx/y"), None);
        let p = Pattern("/api/v1/services/{id}/*");
        let m = p.matches("/api/v1/services/web/x/y").unwrap();
        assert_eq!((m.get("id"), m.get("*")), (Some("web"), Some("x/y")));
        assert_eq!(p.matches("/api/v1/services//x"), None);
    }

    #[test]
    fn allow_joins_methods_in_table_order_once_each() {
        assert_eq!(allow([&["GET", "HEAD"][..], &["POST"][..]]), "GET, HEAD, POST");
        assert_eq!(allow([&["POST"][..], &["POST"][..]]), "POST");
        assert_eq!(allow([&["GET", "HEAD"][..]]), "GET, HEAD");
    }
}
