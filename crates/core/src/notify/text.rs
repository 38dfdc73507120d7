//! Text shaped for channels: cut to a limit counted in characters, UTF-16 code units or
//! bytes (never inside a character, ending with `…`), escaped for markup, and defused so
//! service text cannot mention or page anyone. Every truncation in the core goes through
//! [`fit_escaped`] (or [`head`], the byte prefix without a mark).

/// What a length limit counts.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Unit {
    /// Unicode scalar values (Rust `char`s).
    Chars,
    /// UTF-16 code units (JavaScript string length).
    Utf16,
    /// UTF-8 bytes.
    Bytes,
}

impl Unit {
    /// How many units `c` takes.
    pub fn of(self, c: char) -> usize {
        match self {
            Unit::Chars => 1,
            Unit::Utf16 => c.len_utf16(),
            Unit::Bytes => c.len_utf8(),
        }
    }

    /// How many units `text` takes.
    pub fn len(self, text: &str) -> usize {
        text.chars().map(|c| self.of(c)).sum()
    }
}

/// The mark that ends cut text.
pub const ELLIPSIS: char = '…';

/// `text` with `escape` applied, at most `max` units long once escaped: when it does not fit
/// it is cut between characters (never inside an escape) and ends with `…`.
pub fn fit_escaped(text: &str, max: usize, unit: Unit, escape: fn(char) -> Option<&'static str>) -> String {
    let width = |c: char| escape(c).map_or(unit.of(c), |e| unit.len(e));
    let total: usize = text.chars().map(width).sum();
    let cut = total > max;
    let budget = if cut { max.saturating_sub(unit.of(ELLIPSIS)) } else { max };
    let mut out = String::with_capacity(text.len().min(max.saturating_mul(4)));
    let mut used = 0;
    for c in text.chars() {
        used += width(c);
        if used > budget {
            break;
        }
        match escape(c) {
            Some(e) => out.push_str(e),
            None => out.push(c),
        }
    }
    if cut && max >= unit.of(ELLIPSIS) {
        out.push(ELLIPSIS);
    }
    out
}

/// `text` at most `max` units long, cut with `…`.
pub fn fit(text: &str, max: usize, unit: Unit) -> String {
    fit_escaped(text, max, unit, |_| None)
}

/// The three characters HTML-like markup reserves (Telegram HTML, Slack mrkdwn).
pub fn markup(c: char) -> Option<&'static str> {
    match c {
        '&' => Some("&amp;"),
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        _ => None,
    }
}

/// Telegram's legacy `Markdown` parse mode: `_`, `*`, `` ` `` and `[` open entities (and
/// `[` links); a backslash before each makes it text (core.telegram.org/bots/api#markdown-style).
pub fn telegram_markdown(c: char) -> Option<&'static str> {
    match c {
        '_' => Some("\\_"),
        '*' => Some("\\*"),
        '`' => Some("\\`"),
        '[' => Some("\\["),
        _ => None,
    }
}

/// Google Chat text: `<` opens mentions (`<users/all>`) and links (`<url|text>`). A
/// zero-width space after it keeps service text from forming either and reads the same.
pub fn google_chat_angle(c: char) -> Option<&'static str> {
    (c == '<').then_some("<\u{200B}")
}

/// Mattermost and Rocket.Chat text: `@` opens mentions (`@channel`, `@all`, `@here`, a
/// user), and `<` the Slack forms they translate (`<!channel>`, `<@user>`, links). A
/// zero-width space after either keeps service text from paging anyone.
pub fn chat_mention(c: char) -> Option<&'static str> {
    match c {
        '@' => Some("@\u{200B}"),
        '<' => Some("<\u{200B}"),
        _ => None,
    }
}

/// `text` with `&`, `<` and `>` escaped as entities ([`markup`]), uncut.
pub fn escape_markup(text: &str) -> String {
    fit_escaped(text, usize::MAX, Unit::Bytes, markup)
}

/// The longest prefix of `text` of at most `max` bytes that ends at a character boundary,
/// without a mark: for excerpts stored or logged under a byte limit.
pub fn head(text: &str, max: usize) -> &str {
    &text[..text.floor_char_boundary(max)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fitting_counts_the_right_unit_and_never_splits_a_character() {
        assert_eq!(fit("héllo", 5, Unit::Chars), "héllo");
        assert_eq!(fit("héllo", 4, Unit::Chars), "hél…");
        assert_eq!(fit("héllo", 5, Unit::Bytes), "h…", "é is 2 bytes and … is 3");
        assert_eq!(fit("a😀b", 3, Unit::Utf16), "a…", "😀 is 2 UTF-16 units");
        assert_eq!(fit("a😀b", 4, Unit::Utf16), "a😀b");
        assert_eq!(fit_escaped("a<b>c", 7, Unit::Chars, markup), "a&lt;b…");
        assert_eq!(fit_escaped("ab<c", 5, Unit::Chars, markup), "ab…", "never cut inside an escape");
        assert_eq!(fit_escaped("a&b", 7, Unit::Chars, markup), "a&amp;b");
    }

    #[test]
    fn heads_end_at_a_character_boundary() {
        assert_eq!(head("ééé", 3), "é");
        assert_eq!(head("abc", 3), "abc");
        assert_eq!(head("abc", 10), "abc");
        assert_eq!(head("😀", 3), "");
    }
}
