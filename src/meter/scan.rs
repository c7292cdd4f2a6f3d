//! Byte-scanning helpers shared by the incremental parsers.

/// The index of the first CR or LF, the SSE line terminators.
#[inline]
pub(crate) fn find_eol(bytes: &[u8]) -> Option<usize> {
    memchr::memchr2(b'\n', b'\r', bytes)
}

/// The index of the first occurrence of `needle` in `hay`.
pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

#[inline]
pub(crate) fn contains(hay: &[u8], needle: &[u8]) -> bool {
    find(hay, needle).is_some()
}

/// Whether `hay` holds `needle` (lower case), in any ASCII case: a header value, unallocated.
pub(crate) fn contains_ignoring_ascii_case(hay: &[u8], needle: &str) -> bool {
    needle.is_empty()
        || hay
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// JSON's insignificant whitespace.
#[inline]
pub(crate) fn is_json_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Whitespace or a byte of the UTF-8 byte-order mark, skipped before a body's first real byte.
#[inline]
pub(crate) fn is_leading_filler(b: u8) -> bool {
    is_json_space(b) || matches!(b, 0xEF | 0xBB | 0xBF)
}

/// `bytes` without leading JSON whitespace.
pub(crate) fn trim_json_start(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| !is_json_space(b))
        .unwrap_or(bytes.len());
    &bytes[start..]
}

/// Whether `data` has a `"usage"` key whose value is not `null` (a cheap pre-check before parsing a
/// Chat chunk; a `"usage"` inside a string only costs a parse).
pub(crate) fn has_usage_value(data: &[u8]) -> bool {
    const KEY: &[u8] = b"\"usage\"";
    let mut from = 0;
    while let Some(p) = find(&data[from..], KEY) {
        from += p + KEY.len();
        let after = trim_json_start(&data[from..]);
        if let Some(value) = after.strip_prefix(b":") {
            if !trim_json_start(value).starts_with(b"null") {
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_match_in_any_case() {
        let ct = b"Text/Event-Stream; charset=utf-8";
        assert!(contains_ignoring_ascii_case(ct, "text/event-stream"));
        assert!(!contains_ignoring_ascii_case(
            b"text/event",
            "text/event-stream"
        ));
        assert!(!contains_ignoring_ascii_case(
            b"application/json",
            "text/event-stream"
        ));
    }

    #[test]
    fn find_locates_needles() {
        assert_eq!(find(b"abcabd", b"abd"), Some(3));
        assert_eq!(find(b"abc", b"abcd"), None);
        assert_eq!(find(b"aaa", b""), Some(0));
        assert_eq!(find(b"", b"a"), None);
        assert_eq!(find(b"xxa", b"a"), Some(2));
    }

    #[test]
    fn usage_value_check() {
        assert!(!has_usage_value(br#"{"usage": null}"#));
        assert!(!has_usage_value(br#"{"usage":null,"x":1}"#));
        assert!(has_usage_value(
            br#"{"usage": null, "b": {"usage" : {"a":1}}}"#
        ));
        assert!(has_usage_value(br#"{"usage":{}}"#));
        assert!(!has_usage_value(br#"{"text": "usage"}"#));
        assert!(!has_usage_value(br#"{"usage""#));
    }

    #[test]
    fn eol_and_trim() {
        assert_eq!(find_eol(b"ab\r\n"), Some(2));
        assert_eq!(find_eol(b"ab\n"), Some(2));
        assert_eq!(find_eol(b"ab"), None);
        assert_eq!(trim_json_start(b" \r\n\t{"), b"{");
        assert_eq!(trim_json_start(b"   "), b"");
    }
}
