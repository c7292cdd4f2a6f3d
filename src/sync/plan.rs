//! The upload plan: how pending rows are cut into batches the server accepts, and how long to
//! wait before trying again. Pure functions, so the rules are tested without a server.

use std::ops::Range;
use std::time::Duration;

/// Most bytes of one batch body: half the server's 8 MiB, leaving room for the envelope and
/// for rows that grow.
pub const MAX_BATCH_BYTES: usize = 4 * 1024 * 1024;

use crate::api::MAX_BATCH_ROWS;
use crate::limits::MAX_BATCH_COST_NANOS;

/// What a batch may hold.
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    pub rows: usize,
    pub bytes: usize,
    pub cost_nanos: i64,
}

/// The server's limits (bytes: see [`MAX_BATCH_BYTES`]).
pub const LIMITS: BatchLimits = BatchLimits {
    rows: MAX_BATCH_ROWS,
    bytes: MAX_BATCH_BYTES,
    cost_nanos: MAX_BATCH_COST_NANOS,
};

/// Cuts rows (given by their serialized size and cost, in upload order) into consecutive
/// batches within `limits`. A row past a limit on its own goes in a batch of its own, so every
/// row is planned exactly once and order is kept.
pub fn batches(sizes: &[usize], costs: &[i64], limits: BatchLimits) -> Vec<Range<usize>> {
    let max_rows = limits.rows.max(1);
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    let mut cost = 0i64;
    for (i, &size) in sizes.iter().enumerate() {
        let rows = i - start;
        let row_cost = costs.get(i).copied().unwrap_or(0).max(0);
        // +1 for the comma between rows.
        if rows > 0
            && (rows >= max_rows
                || bytes + size + 1 > limits.bytes
                || cost.saturating_add(row_cost) > limits.cost_nanos)
        {
            out.push(start..i);
            start = i;
            bytes = 0;
            cost = 0;
        }
        bytes += size + 1;
        cost = cost.saturating_add(row_cost);
    }
    if start < sizes.len() {
        out.push(start..sizes.len());
    }
    out
}

/// Wait before retry number `attempt` (1 = the first retry): doubling from 500 ms, at most
/// `cap`, with up to 25% jitter from `jitter` (0.0..1.0) so many clients do not retry in step.
pub fn backoff(attempt: u32, cap: Duration, jitter: f64) -> Duration {
    let base = Duration::from_millis(500).saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    let base = base.min(cap);
    base.mul_f64(1.0 - 0.25 * jitter.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(rows: usize, bytes: usize, cost_nanos: i64) -> BatchLimits {
        BatchLimits {
            rows,
            bytes,
            cost_nanos,
        }
    }

    #[test]
    fn nothing_pending_is_no_batch() {
        assert!(batches(&[], &[], limits(5000, 100, 10)).is_empty());
    }

    #[test]
    fn batches_respect_row_byte_and_cost_limits_and_keep_order() {
        let free = [0; 7];
        assert_eq!(
            batches(&[10; 7], &free, limits(3, 1000, 1)),
            vec![0..3, 3..6, 6..7]
        );
        // 40 + 1 per row: two rows fit in 90 bytes, a third would not.
        assert_eq!(
            batches(&[40, 40, 40, 40, 40], &free, limits(100, 90, 1)),
            vec![0..2, 2..4, 4..5]
        );
        assert_eq!(
            batches(&[10; 5], &[4, 4, 4, 1, 9], limits(100, 1000, 9)),
            vec![0..2, 2..4, 4..5]
        );
    }

    #[test]
    fn an_oversized_or_overpriced_row_travels_alone() {
        let free = [0; 4];
        assert_eq!(
            batches(&[10, 500, 10, 10], &free, limits(100, 100, 1)),
            vec![0..1, 1..2, 2..4]
        );
        assert_eq!(batches(&[500], &free, limits(100, 100, 1)), vec![0..1]);
        assert_eq!(
            batches(&[10; 4], &[1, 50, 1, 1], limits(100, 100, 10)),
            vec![0..1, 1..2, 2..4]
        );
    }

    #[test]
    fn every_row_is_planned_exactly_once() {
        let sizes: Vec<usize> = (0..12_345).map(|i| 200 + (i * 37) % 900).collect();
        let costs: Vec<i64> = (0..12_345).map(|i| (i * 7_919) % 1_000_000).collect();
        let limits = limits(MAX_BATCH_ROWS, 300_000, 20_000_000);
        let plan = batches(&sizes, &costs, limits);
        let mut next = 0;
        for r in &plan {
            assert_eq!(r.start, next, "consecutive, in order");
            assert!(r.len() <= MAX_BATCH_ROWS && !r.is_empty());
            assert!(sizes[r.clone()].iter().map(|s| s + 1).sum::<usize>() <= 300_000);
            assert!(costs[r.clone()].iter().sum::<i64>() <= 20_000_000);
            next = r.end;
        }
        assert_eq!(next, sizes.len());
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let cap = Duration::from_secs(30);
        assert_eq!(backoff(1, cap, 0.0), Duration::from_millis(500));
        assert_eq!(backoff(2, cap, 0.0), Duration::from_secs(1));
        assert_eq!(backoff(4, cap, 0.0), Duration::from_secs(4));
        assert_eq!(backoff(40, cap, 0.0), cap);
        assert_eq!(backoff(2, cap, 1.0), Duration::from_millis(750));
    }
}
