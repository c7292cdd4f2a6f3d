//! What one request can plausibly claim: the bounds the meter caps a recorded row at and the
//! gw server refuses an ingested row past. One definition, so every row the meter writes is a
//! row the server takes, and no sum the server keeps can be pushed to overflow by a few rows.

/// Most tokens of one kind (input, output, cache read, each cache write, reasoning) in one
/// request. The largest context windows hold a few million tokens; a billion leaves a hundred
/// times that as headroom and keeps a batch's sums (5000 rows) far from 2^63.
pub const MAX_TOKENS: i64 = 1_000_000_000;

/// Most cost of one request, in nano-dollars: $1,000. The most expensive request the price table
/// can describe today (a full long context at the dearest rates) costs under $100.
pub const MAX_COST_NANOS: i64 = 1_000 * NANOS_PER_USD;

/// Most cost of one usage batch, in nano-dollars: $100,000, a hundred requests at the per-request
/// bound. Uploaders cut batches to stay under it; past it a batch is refused whole.
pub const MAX_BATCH_COST_NANOS: i64 = 100_000 * NANOS_PER_USD;

const NANOS_PER_USD: i64 = 1_000_000_000;

/// Longest name a usage row carries (a model, an agent and its version, a provider, ids), in
/// bytes. Model names run to a few dozen; agents put what they like in them.
pub const MAX_NAME_BYTES: usize = 256;
/// Longest path-like text (endpoint, project, branch, task, cwd, host, developer), in bytes.
pub const MAX_TEXT_BYTES: usize = 1024;
/// Longest error message, in bytes.
pub const MAX_ERROR_BYTES: usize = 4096;

/// `s` cut to at most `max` bytes at a character boundary: what a row sent to the server keeps.
pub fn cut(s: &str, max: usize) -> String {
    s[..boundary(s, max)].to_string()
}

/// Cuts `s` in place to at most `max` bytes at a character boundary.
pub fn truncate(s: &mut String, max: usize) {
    let end = boundary(s, max);
    s.truncate(end);
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn boundary(s: &str, max: usize) -> usize {
    if s.len() <= max {
        return s.len();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    end
}

// The bounds nest, and a full batch of rows at every bound still sums inside an i64.
const _: () = assert!(MAX_COST_NANOS <= MAX_BATCH_COST_NANOS);
const _: () = assert!((MAX_TOKENS as i128) * 6 * 5000 < i64::MAX as i128);

/// A token count capped at [`MAX_TOKENS`].
pub fn cap_tokens(n: u64) -> u64 {
    n.min(MAX_TOKENS as u64)
}

/// A cost capped at [`MAX_COST_NANOS`].
pub fn cap_cost(nanos: u64) -> i64 {
    nanos.min(MAX_COST_NANOS as u64) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_hold() {
        assert_eq!(cap_tokens(u64::MAX), MAX_TOKENS as u64);
        assert_eq!(cap_tokens(7), 7);
        assert_eq!(cap_cost(u64::MAX), MAX_COST_NANOS);
        assert_eq!(cap_cost(12), 12);
        assert_eq!(cut("héllo", 2), "h");
        assert_eq!(cut("héllo", 3), "hé");
        assert_eq!(cut("abc", 10), "abc");
    }
}
