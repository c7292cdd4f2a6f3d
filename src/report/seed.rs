//! Synthetic ledger rows for benchmarks and demos (`gw debug seed-ledger`): several developers and
//! agents, models of every provider (one without a price), projects, branches, sessions of tens
//! to hundreds of requests in working hours, growing contexts with cache reads, exact costs.

use std::sync::Arc;

use jiff::Timestamp;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::ledger::{Attribution, Row};
use crate::meter::Usage;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedPlan {
    /// Exactly this many rows.
    pub rows: u64,
    /// Spread over this many UTC days, the last one being `end`'s.
    pub days: u32,
    /// No request starts at or after this instant.
    pub end: Timestamp,
    /// Same seed, same rows (ids included).
    pub seed: u64,
}

/// A model as the seeder uses it: provider, endpoint, and nano-dollars per token, which is USD
/// per million tokens × 1000 (input, output, cache read, cache write 5m, cache write 1h);
/// `None` = no price.
struct Model {
    name: &'static str,
    provider: &'static str,
    endpoint: &'static str,
    price: Option<[i64; 5]>,
}

const MODELS: &[Model] = &[
    Model {
        name: "claude-sonnet-4-5-20250929",
        provider: "anthropic",
        endpoint: "/v1/messages",
        price: Some([3000, 15000, 300, 3750, 6000]),
    },
    Model {
        name: "claude-opus-4-1-20250805",
        provider: "anthropic",
        endpoint: "/v1/messages",
        price: Some([15000, 75000, 1500, 18750, 30000]),
    },
    Model {
        name: "claude-haiku-4-5-20251001",
        provider: "anthropic",
        endpoint: "/v1/messages",
        price: Some([1000, 5000, 100, 1250, 2000]),
    },
    Model {
        name: "gpt-5-codex",
        provider: "openai",
        endpoint: "/v1/responses",
        price: Some([1250, 10000, 125, 0, 0]),
    },
    Model {
        name: "gpt-5",
        provider: "openai",
        endpoint: "/v1/responses",
        price: Some([1250, 10000, 125, 0, 0]),
    },
    Model {
        name: "gpt-5-mini",
        provider: "openai",
        endpoint: "/v1/chat/completions",
        price: Some([250, 2000, 25, 0, 0]),
    },
    Model {
        name: "gemini-2.5-pro",
        provider: "gemini",
        endpoint: "/v1beta/models/gemini-2.5-pro:streamGenerateContent",
        price: Some([1250, 10000, 310, 0, 0]),
    },
    Model {
        name: "gemini-2.5-flash",
        provider: "gemini",
        endpoint: "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
        price: Some([300, 2500, 75, 0, 0]),
    },
    Model {
        name: "qwen3-coder-480b-local",
        provider: "openai",
        endpoint: "/v1/chat/completions",
        price: None,
    },
];

/// An agent: name, version, share of sessions (percent), and models (index into `MODELS`) with
/// their share of the agent's sessions.
type Agent = (&'static str, &'static str, u32, &'static [(usize, u32)]);

const AGENTS: &[Agent] = &[
    ("claude", "2.0.14", 45, &[(0, 70), (1, 10), (2, 20)]),
    ("codex", "0.46.0", 25, &[(3, 60), (4, 25), (5, 15)]),
    ("gemini", "0.9.0", 15, &[(6, 60), (7, 40)]),
    ("opencode", "0.15.2", 15, &[(0, 50), (5, 20), (8, 30)]),
];

const DEVELOPERS: &[(&str, &str, u32)] = &[
    ("alice@example.com", "alice-laptop", 70),
    ("bob@example.com", "bob-desktop", 20),
    ("carol@example.com", "ci-runner-3", 10),
];

const PROJECTS: &[(&str, u32)] = &[
    ("gw", 30),
    ("webshop", 25),
    ("infra", 15),
    ("mobile-app", 12),
    ("data-pipeline", 10),
    ("docs", 8),
];

const BRANCH_TOPICS: &[&str] = &[
    "login",
    "search",
    "billing",
    "retry",
    "cache",
    "metrics",
    "onboarding",
    "export",
];

/// UTC hour weights: most sessions in working hours.
const HOURS: [u32; 24] = [
    1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 14, 12, 10, 12, 14, 14, 12, 9, 6, 4, 3, 2, 2, 1,
];

const DAY_US: i64 = 86_400_000_000;

/// Generates the rows day by day, oldest first; each day's rows are sorted by start time.
pub struct Seeder {
    plan: SeedPlan,
    rng: SmallRng,
    /// Rows each day gets (weekends get fewer), summing to `plan.rows`.
    quotas: Vec<u64>,
    first_day_us: i64,
    day: usize,
    pending: std::vec::IntoIter<Row>,
}

impl Seeder {
    pub fn new(plan: SeedPlan) -> Seeder {
        let days = plan.days.max(1) as usize;
        let end_us = plan.end.as_microsecond();
        let last_day_us = end_us - end_us.rem_euclid(DAY_US);
        let first_day_us = last_day_us - (days as i64 - 1) * DAY_US;
        // Weekdays weigh 10, weekends 3; the last (partial) day by the part of it that is over.
        let weights: Vec<f64> = (0..days)
            .map(|i| {
                let start = first_day_us + i as i64 * DAY_US;
                let weekday = (start / DAY_US + 3).rem_euclid(7); // 1970-01-01 was a Thursday: 0 = Monday
                let w = if weekday >= 5 { 3.0 } else { 10.0 };
                let covered = ((end_us - start) as f64 / DAY_US as f64).clamp(0.0, 1.0);
                w * covered.max(0.05)
            })
            .collect();
        let sum: f64 = weights.iter().sum();
        let mut quotas = Vec::with_capacity(days);
        let mut acc = 0.0;
        let mut given = 0u64;
        for w in &weights {
            acc += w;
            let upto = ((acc / sum) * plan.rows as f64).round() as u64;
            quotas.push(upto.min(plan.rows) - given);
            given = upto.min(plan.rows);
        }
        if let Some(last) = quotas.last_mut() {
            *last += plan.rows - given;
        }
        Seeder {
            plan,
            rng: SmallRng::seed_from_u64(plan.seed),
            quotas,
            first_day_us,
            day: 0,
            pending: Vec::new().into_iter(),
        }
    }

    fn generate_day(&mut self) -> Vec<Row> {
        let quota = self.quotas[self.day] as usize;
        let day_start = self.first_day_us + self.day as i64 * DAY_US;
        let window_end = (day_start + DAY_US).min(self.plan.end.as_microsecond());
        let mut rows = Vec::with_capacity(quota);
        while rows.len() < quota {
            let want = (quota - rows.len()).min(self.rng.random_range(10..=300));
            self.session(day_start, window_end, want, &mut rows);
        }
        rows.sort_by_key(|r| r.started_at_us);
        rows
    }

    /// Appends up to `want` requests of one new session that starts in `[day_start, window_end)`.
    fn session(&mut self, day_start: i64, window_end: i64, want: usize, rows: &mut Vec<Row>) {
        let rng = &mut self.rng;
        let span = (window_end - day_start).max(1);
        let start = if span == DAY_US {
            let hour = pick(rng, HOURS.iter().enumerate().map(|(h, w)| (h, *w)));
            day_start + hour as i64 * 3_600_000_000 + rng.random_range(0..3_600_000_000)
        } else {
            day_start + rng.random_range(0..span)
        };
        let (agent, version, _, models) =
            AGENTS[pick(rng, AGENTS.iter().enumerate().map(|(i, a)| (i, a.2)))];
        let (developer, host, _) =
            DEVELOPERS[pick(rng, DEVELOPERS.iter().enumerate().map(|(i, d)| (i, d.2)))];
        let project = PROJECTS[pick(rng, PROJECTS.iter().enumerate().map(|(i, p)| (i, p.1)))].0;
        let branch = if rng.random_bool(0.4) {
            "main".to_string()
        } else {
            format!(
                "feat/{}-{}",
                BRANCH_TOPICS[rng.random_range(0..BRANCH_TOPICS.len())],
                rng.random_range(100..999)
            )
        };
        let task = rng
            .random_bool(0.3)
            .then(|| format!("JIRA-{}", rng.random_range(1000..1400)));
        let key_id = rng.random_bool(0.2).then(|| "key_team_default".to_string());
        let attribution = Arc::new(Attribution {
            session_id: uuid_at(rng, start).to_string(),
            agent: Some(agent.to_string()),
            agent_version: Some(version.to_string()),
            developer: Some(developer.to_string()),
            project: Some(project.to_string()),
            branch: Some(branch),
            task,
            cwd: Some(format!(
                "/home/{}/src/{project}",
                developer.split('@').next().unwrap_or("dev")
            )),
            host: Some(host.to_string()),
            key_id,
        });
        let agent_session_id = Some(uuid_at(rng, start).to_string());
        let one_hour_cache = rng.random_bool(0.1);
        let main_model = pick(rng, models.iter().copied());
        let mut context: u64 = rng.random_range(8_000..25_000);
        let mut at = start;
        for turn in 0..want {
            // Mostly the session's main model; now and then a side request to another of the agent's models.
            let model = &MODELS[if rng.random_bool(0.85) {
                main_model
            } else {
                pick(rng, models.iter().copied())
            }];
            let latency = rng.random_range(800_000..45_000_000i64);
            let roll: f64 = rng.random();
            let (status, incomplete) = match roll {
                r if r < 0.010 => (429u16, false),
                r if r < 0.015 => (529, false),
                r if r < 0.020 => (200, true),
                _ => (200, false),
            };
            let mut usage = usage(rng, model, turn, context, one_hour_cache);
            if status != 200 {
                usage = Usage::default();
            } else if incomplete {
                usage.output /= 3;
                usage.reasoning = usage.reasoning.min(usage.output);
            }
            context = (context + usage.input + usage.output + usage.cache_write()).min(190_000);
            let cost_nanos = model.price.map(|p| {
                usage.input as i64 * p[0]
                    + usage.output as i64 * p[1]
                    + usage.cache_read as i64 * p[2]
                    + usage.cache_write_5m as i64 * p[3]
                    + usage.cache_write_1h as i64 * p[4]
            });
            rows.push(Row {
                id: uuid_at(rng, at),
                started_at_us: at,
                ended_at_us: at + latency,
                provider: model.provider.to_string(),
                endpoint: model.endpoint.to_string(),
                requested_model: Some(model.name.to_string()),
                model: Some(model.name.to_string()),
                status,
                streamed: true,
                incomplete,
                usage,
                cost_nanos,
                price_version: "seed".to_string(),
                latency_us: latency,
                ttfb_us: Some(latency.min(rng.random_range(300_000..3_000_000))),
                upstream_request_id: Some(format!("req_{:016x}", rng.random::<u64>())),
                agent_session_id: agent_session_id.clone(),
                error: (status != 200).then(|| format!("upstream answered {status}")),
                billing: Default::default(),
                region: None,
                attribution: Arc::clone(&attribution),
                source: Default::default(),
                response_id: None,
                log_cost_nanos: None,
            });
            at += latency + rng.random_range(2_000_000..90_000_000);
            if at >= window_end {
                break;
            }
        }
    }
}

impl Iterator for Seeder {
    type Item = Row;

    fn next(&mut self) -> Option<Row> {
        loop {
            if let Some(row) = self.pending.next() {
                return Some(row);
            }
            if self.day >= self.quotas.len() {
                return None;
            }
            self.pending = self.generate_day().into_iter();
            self.day += 1;
        }
    }
}

/// Token counts of one turn.
fn usage(
    rng: &mut SmallRng,
    model: &Model,
    turn: usize,
    context: u64,
    one_hour_cache: bool,
) -> Usage {
    let output = rng.random_range(40..3_500u64);
    match model.provider {
        "anthropic" => {
            // The first turn writes the prompt to the cache; later ones read it and write the new part.
            let write = if turn == 0 {
                context
            } else {
                rng.random_range(300..6_000u64)
            };
            let (w5, w1) = if one_hour_cache {
                (0, write)
            } else {
                (write, 0)
            };
            let reasoning = if rng.random_bool(0.3) {
                rng.random_range(0..=output / 2)
            } else {
                0
            };
            Usage {
                input: rng.random_range(1..400),
                output,
                cache_read: if turn == 0 { 0 } else { context },
                cache_write_5m: w5,
                cache_write_1h: w1,
                reasoning,
            }
        }
        "gemini" => {
            let cached = if rng.random_bool(0.5) { context / 2 } else { 0 };
            Usage {
                input: context - cached + rng.random_range(200..4_000),
                output,
                cache_read: cached,
                reasoning: rng.random_range(0..=output * 2 / 3),
                ..Usage::default()
            }
        }
        _ => {
            let cached = if turn == 0 {
                0
            } else {
                context * rng.random_range(70..95) / 100
            };
            Usage {
                input: context - cached + rng.random_range(100..3_000),
                output,
                cache_read: cached,
                reasoning: rng.random_range(0..=output * 3 / 5),
                ..Usage::default()
            }
        }
    }
}

/// Picks an item by weight.
fn pick(rng: &mut SmallRng, items: impl Iterator<Item = (usize, u32)> + Clone) -> usize {
    let total: u32 = items.clone().map(|(_, w)| w).sum();
    let mut roll = rng.random_range(0..total.max(1));
    for (item, weight) in items {
        if roll < weight {
            return item;
        }
        roll -= weight;
    }
    0
}

/// A UUIDv7 for an instant, its random part from the seeded generator.
fn uuid_at(rng: &mut SmallRng, us: i64) -> uuid::Uuid {
    let bytes: [u8; 10] = rng.random();
    uuid::Builder::from_unix_timestamp_millis((us / 1000).max(0) as u64, &bytes).into_uuid()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(rows: u64, days: u32) -> SeedPlan {
        SeedPlan {
            rows,
            days,
            end: "2025-03-20T15:00:00Z".parse().unwrap(),
            seed: 7,
        }
    }

    #[test]
    fn makes_exactly_the_rows_asked_for_inside_the_window() {
        let rows: Vec<Row> = Seeder::new(plan(5_000, 10)).collect();
        assert_eq!(rows.len(), 5_000);
        let end = plan(0, 0).end.as_microsecond();
        let first = end - end.rem_euclid(DAY_US) - 9 * DAY_US;
        assert!(rows
            .iter()
            .all(|r| r.started_at_us >= first && r.started_at_us < end));
        let unpriced = rows.iter().filter(|r| r.cost_nanos.is_none()).count();
        assert!(unpriced > 0 && unpriced < 1_000, "{unpriced}");
        let sessions: std::collections::HashSet<_> =
            rows.iter().map(|r| &r.attribution.session_id).collect();
        assert!(
            sessions.len() > 10 && sessions.len() < 500,
            "{}",
            sessions.len()
        );
        for provider in ["anthropic", "openai", "gemini"] {
            assert!(rows.iter().any(|r| r.provider == provider));
        }
    }

    #[test]
    fn is_deterministic() {
        let a: Vec<Row> = Seeder::new(plan(300, 3)).collect();
        let b: Vec<Row> = Seeder::new(plan(300, 3)).collect();
        assert_eq!(a, b);
    }

    #[test]
    fn a_window_that_just_began_still_gets_its_rows() {
        let p = SeedPlan {
            rows: 500,
            days: 1,
            end: "2025-03-20T00:00:05Z".parse().unwrap(),
            seed: 1,
        };
        assert_eq!(Seeder::new(p).count(), 500);
    }
}
