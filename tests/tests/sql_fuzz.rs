//! Generated SQL against the real server through Flight SQL: deep and wide
//! statements far past any plausible limit, values that would take
//! gigabytes to build, and seeded random expression trees. Every statement
//! must be answered, with the right rows or with INVALID_ARGUMENT or
//! RESOURCE_EXHAUSTED, within a minute, and afterwards the server must
//! still answer; realistic large statements must simply work.
//!
//! The tests run one at a time (the process's resident memory is part of
//! what they measure). A failing random statement prints its seed; replay
//! it with `ALMANAC_FUZZ_SEED=<seed>`.

use std::time::{Duration, Instant};

use almanac_client::proto as pb;
use almanac_tests::fixtures::{batch_entry, create_reviews, review};
use almanac_tests::robustness::{IsolatedServer, Rng, excerpt, is_refusal, seed, within};
use almanac_tests::sql::rows;
use almanac_tests::sql_gen;
use tokio::sync::{Mutex, MutexGuard};

/// Reviews `r0`..`r59`, with star ratings `i % 5`.
const REVIEWS: usize = 60;

/// Lengths of operator chains, and depths of nesting.
const CHAIN_TERMS: [usize; 5] = [10, 100, 1_000, 10_000, 100_000];
const NESTING_DEPTHS: [usize; 4] = [10, 100, 1_000, 10_000];

/// Resident memory a statement may add to the process the server runs in.
const MEMORY_GROWTH_LIMIT: u64 = 1 << 30;

static SERIAL: Mutex<()> = Mutex::const_new(());

/// Holds the lock that runs these tests one at a time, and a server with
/// a 256 MiB query memory limit, a 30 s query time limit and the reviews.
struct Fixture {
    server: IsolatedServer,
    _serial: MutexGuard<'static, ()>,
}

impl Fixture {
    async fn start() -> Self {
        let serial = SERIAL.lock().await;
        let server = IsolatedServer::start_with(|config| {
            config.sql.memory_limit_bytes = 256 << 20;
            config.sql.timeout = Duration::from_secs(30);
        })
        .await;
        create_reviews(&server.client, "reviews").await;
        let entries = (0..REVIEWS)
            .map(|i| {
                let record = review(&format!("r{i}"), "2026-03-01T00:00:00Z", (i % 5) as i64);
                batch_entry("reviews", record)
            })
            .collect();
        server
            .client
            .batch_write_record(pb::BatchWriteRecordRequest { entries })
            .await
            .expect("write the reviews");
        Self {
            server,
            _serial: serial,
        }
    }

    /// Runs `sql`, which must return `expected`.
    async fn must_return(&self, label: &str, sql: &str, expected: &[Vec<String>]) {
        let started = Instant::now();
        let answer = within(label, self.server.sql(sql)).await;
        match answer {
            Ok(batches) => assert_rows(label, sql, &rows(&batches), expected),
            Err(error) => panic!("{label}: expected rows, got {error}\n{}", excerpt(sql)),
        }
        eprintln!("{label}: rows in {:?}", started.elapsed());
        self.server.assert_alive(label).await;
    }

    /// Runs `sql`, which must return `expected` (when given) or be refused
    /// with INVALID_ARGUMENT or RESOURCE_EXHAUSTED; with `names_limit`, a
    /// refusal must name the limit it hit.
    async fn answered(
        &self,
        label: &str,
        sql: &str,
        expected: Option<&[Vec<String>]>,
        names_limit: bool,
    ) {
        let started = Instant::now();
        let answer = within(label, self.server.sql(sql)).await;
        let elapsed = started.elapsed();
        match answer {
            Ok(batches) => {
                if let Some(expected) = expected {
                    assert_rows(label, sql, &rows(&batches), expected);
                }
                eprintln!("{label}: rows in {elapsed:?}");
            }
            Err(error) => {
                assert!(
                    error.code().is_some_and(is_refusal),
                    "{label}: expected rows, INVALID_ARGUMENT or RESOURCE_EXHAUSTED, got {error}\n{}",
                    excerpt(sql)
                );
                assert!(
                    !names_limit || error.to_string().to_lowercase().contains("limit"),
                    "{label}: the refusal does not name a limit: {error}"
                );
                eprintln!(
                    "{label}: refused in {elapsed:?}: {}",
                    excerpt(&error.to_string())
                );
            }
        }
        self.server.assert_alive(label).await;
    }

    /// Runs a generated statement of each size: the first size must work,
    /// the others must be answered.
    async fn sweep(
        &self,
        what: &str,
        sizes: &[usize],
        statement: impl Fn(usize) -> (String, String),
    ) {
        for (i, &size) in sizes.iter().enumerate() {
            let (sql, expected) = statement(size);
            let label = format!("{what} of {size}");
            let expected = [vec![expected]];
            if i == 0 {
                self.must_return(&label, &sql, &expected).await;
            } else {
                self.answered(&label, &sql, Some(expected.as_slice()), true)
                    .await;
            }
        }
    }

    async fn stop(self) {
        self.server.stop().await;
    }
}

fn assert_rows(label: &str, sql: &str, actual: &[Vec<String>], expected: &[Vec<String>]) {
    if actual != expected {
        let show = |rows: &[Vec<String>]| excerpt(&format!("{rows:?}"));
        panic!(
            "{label}: wrong rows\n   got {}\nwanted {}\n{}",
            show(actual),
            show(expected),
            excerpt(sql)
        );
    }
}

/// `n` copies of `item` joined by `separator`.
fn chain(item: &str, separator: &str, n: usize) -> String {
    vec![item; n].join(separator)
}

/// `open` n times, `core`, then `close` n times.
fn nest(open: &str, core: &str, close: &str, n: usize) -> String {
    format!("{}{core}{}", open.repeat(n), close.repeat(n))
}

/// The reviews rated 1.
fn rated_one() -> String {
    (0..REVIEWS).filter(|i| i % 5 == 1).count().to_string()
}

#[tokio::test]
async fn operator_chains_are_answered() {
    let fixture = Fixture::start().await;
    fixture
        .sweep("a `1 + 1 + ...` chain", &CHAIN_TERMS, |n| {
            (format!("SELECT {}", chain("1", " + ", n)), n.to_string())
        })
        .await;
    fixture
        .sweep("a `star_rating = 1 AND ...` chain", &CHAIN_TERMS, |n| {
            let conjuncts = chain("star_rating = 1", " AND ", n);
            (
                format!("SELECT count(*) FROM reviews WHERE {conjuncts}"),
                rated_one(),
            )
        })
        .await;
    fixture
        .sweep("a `'a' || 'a' || ...` chain", &CHAIN_TERMS, |n| {
            (
                format!("SELECT length({})", chain("'a'", " || ", n)),
                n.to_string(),
            )
        })
        .await;
    fixture.stop().await;
}

#[tokio::test]
async fn nested_expressions_are_answered() {
    let fixture = Fixture::start().await;
    fixture
        .sweep("nested parentheses", &NESTING_DEPTHS, |n| {
            (format!("SELECT {}", nest("(", "1", ")", n)), "1".into())
        })
        .await;
    fixture
        .sweep("nested abs() calls", &NESTING_DEPTHS, |n| {
            (format!("SELECT {}", nest("abs(", "-1", ")", n)), "1".into())
        })
        .await;
    fixture
        .sweep("nested CASE expressions", &NESTING_DEPTHS, |n| {
            let case = nest("CASE WHEN 1 = 1 THEN ", "1", " END", n);
            (format!("SELECT {case}"), "1".into())
        })
        .await;
    fixture.stop().await;
}

#[tokio::test]
async fn nested_queries_are_answered() {
    let fixture = Fixture::start().await;
    fixture
        .sweep("nested scalar subqueries", &NESTING_DEPTHS, |n| {
            (
                format!("SELECT {}", nest("(SELECT ", "1", ")", n)),
                "1".into(),
            )
        })
        .await;
    fixture
        .sweep("nested derived tables", &NESTING_DEPTHS, |n| {
            let aliases: String = (0..n).rev().map(|i| format!(") AS t{i}")).collect();
            let sql = format!(
                "SELECT v FROM {}SELECT 1 AS v{aliases}",
                "(SELECT v FROM ".repeat(n - 1) + "("
            );
            (sql, "1".into())
        })
        .await;
    fixture
        .sweep("a UNION ALL chain", &NESTING_DEPTHS, |n| {
            let union = chain("SELECT 1 AS v", " UNION ALL ", n);
            (
                format!("SELECT count(*) FROM ({union}) AS u"),
                n.to_string(),
            )
        })
        .await;
    fixture.stop().await;
}

#[tokio::test]
async fn wide_statements_are_answered() {
    let fixture = Fixture::start().await;
    for (i, n) in [1_000usize, 10_000, 50_000].into_iter().enumerate() {
        let items: Vec<String> = (0..n).map(|c| format!("{c} AS c{c}")).collect();
        let sql = format!("SELECT {}", items.join(", "));
        let expected = [(0..n).map(|c| c.to_string()).collect::<Vec<_>>()];
        let label = format!("a SELECT list of {n} items");
        if i == 0 {
            fixture.must_return(&label, &sql, &expected).await;
        } else {
            fixture
                .answered(&label, &sql, Some(expected.as_slice()), true)
                .await;
        }
    }
    for (i, n) in [10_000usize, 100_000, 1_000_000].into_iter().enumerate() {
        let list: Vec<String> = (0..n).map(|v| v.to_string()).collect();
        let sql = format!(
            "SELECT count(*) FROM reviews WHERE star_rating IN ({})",
            list.join(", ")
        );
        let expected = [vec![REVIEWS.to_string()]];
        let label = format!("an IN list of {n} literals");
        if i == 0 {
            fixture.must_return(&label, &sql, &expected).await;
        } else {
            fixture
                .answered(&label, &sql, Some(expected.as_slice()), true)
                .await;
        }
    }
    fixture.stop().await;
}

/// Large statements real applications send work, with the right answer.
#[tokio::test]
async fn realistic_large_statements_succeed() {
    let fixture = Fixture::start().await;
    // 10,000 ids, of which r10..r59 exist.
    let ids: Vec<String> = (10..10_010).map(|i| format!("'r{i}'")).collect();
    let sql = format!(
        "SELECT count(*) FROM reviews WHERE review_id IN ({})",
        ids.join(", ")
    );
    let expected = [vec![(REVIEWS - 10).to_string()]];
    fixture
        .must_return("an IN list of 10,000 ids", &sql, &expected)
        .await;

    // 1,000 select items over a row rated 2.
    let items: Vec<String> = (0..1_000)
        .map(|c| format!("star_rating + {c} AS c{c}"))
        .collect();
    let sql = format!(
        "SELECT {} FROM reviews WHERE review_id = 'r7'",
        items.join(", ")
    );
    let expected = [(0..1_000).map(|c| (2 + c).to_string()).collect::<Vec<_>>()];
    fixture
        .must_return("1,000 select items", &sql, &expected)
        .await;

    // About 1 MB: the existing ids among 45,000 long ones.
    let mut ids: Vec<String> = (0..REVIEWS).map(|i| format!("'r{i}'")).collect();
    ids.extend((0..45_000).map(|i| format!("'review-{i:012}'")));
    let sql = format!(
        "SELECT count(*) FROM reviews WHERE review_id IN ({})",
        ids.join(", ")
    );
    assert!(sql.len() > 1_000_000, "{} bytes", sql.len());
    let expected = [vec![REVIEWS.to_string()]];
    fixture
        .must_return("a statement of 1 MB", &sql, &expected)
        .await;
    fixture.stop().await;
}

/// The process's peak resident memory since [`MemoryProbe::start`], where
/// the server runs in-process.
struct MemoryProbe {
    baseline_kib: u64,
}

impl MemoryProbe {
    fn start() -> Self {
        // "5" resets the peak resident size (VmHWM) to the current one.
        std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak resident size");
        Self {
            baseline_kib: status_kib("VmRSS"),
        }
    }

    fn growth_bytes(&self) -> u64 {
        status_kib("VmHWM").saturating_sub(self.baseline_kib) * 1024
    }
}

/// A `kB` field of `/proc/self/status`.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

/// Values that would take gigabytes to build are refused (or computed)
/// without the server's memory growing by more than 1 GiB.
#[tokio::test]
async fn huge_values_stay_within_memory() {
    let fixture = Fixture::start().await;
    let cases = [
        ("SELECT length(repeat('x', 1000000000))", "1000000000"),
        ("SELECT length(lpad('', 2000000000, 'ab'))", "2000000000"),
        (
            "SELECT cardinality(array_repeat(1, 300000000))",
            "300000000",
        ),
        (
            "SELECT encode(sha256(repeat('x', 1500000000)), 'hex')",
            "b1648fd5a3aee1f61a9f0c701c2e6ee2f4f17d7ecb81a02d0421ed347392b018",
        ),
        (
            "SELECT count(*) FROM unnest(range(1, 100000000))",
            "99999999",
        ),
    ];
    for (sql, expected) in cases {
        let memory = MemoryProbe::start();
        let expected = [vec![expected.to_owned()]];
        fixture
            .answered(sql, sql, Some(expected.as_slice()), false)
            .await;
        let growth = memory.growth_bytes();
        eprintln!("{sql}: resident memory grew by {} MiB", growth >> 20);
        assert!(
            growth <= MEMORY_GROWTH_LIMIT,
            "{sql}: resident memory grew by {} MiB, over {} MiB",
            growth >> 20,
            MEMORY_GROWTH_LIMIT >> 20
        );
    }
    fixture.stop().await;
}

/// Random expression trees of every type, shallow and deep, in a few
/// statement shapes.
#[tokio::test]
async fn random_expression_trees_are_answered() {
    const STATEMENTS: usize = 200;
    let seed = seed(0x5eed_a1ac);
    let fixture = Fixture::start().await;
    let mut rng = Rng::new(seed);
    for i in 0..STATEMENTS {
        let sql = sql_gen::statement(&mut rng);
        let label = format!("random statement {i} of seed {seed}");
        fixture.answered(&label, &sql, None, false).await;
    }
    fixture.stop().await;
}
