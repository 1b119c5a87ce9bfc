//! Fills a SQLite store with a large history for the dashboard bench (`bench/dashboard.sh`):
//! 100,000 crash fingerprints whose counts add up to 10 million events, and the hourly and
//! daily roll-ups of those events over the last 28 days (50 tools, 4 versions each, crashes and
//! two friction kinds). The schema comes from the collector's own migrations; the rows are
//! written directly, since putting 10 million reports through the ingest path would take an hour.
//!
//!     cargo run --release -p lokiwrap-collector --example seed_dashboard -- DATABASE [FINGERPRINTS] [EVENTS]

use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::params;

const HOUR: i64 = 3600;
const DAY: i64 = 86_400;
const TOOLS: usize = 50;
const VERSIONS: usize = 4;
const SERIES: [&str; 3] = ["crash", "friction:retry_loop", "friction:rate_limit_loop"];

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let database = args
        .next()
        .ok_or("usage: seed_dashboard DATABASE [FINGERPRINTS] [EVENTS]: name the SQLite file to fill")?;
    let number = |text: Option<String>, default: u64| {
        text.map_or(Ok(default), |t| t.parse::<u64>().map_err(|e| format!("{t}: {e}")))
    };
    let fingerprints = number(args.next(), 100_000)?;
    let events = number(args.next(), 10_000_000)?;
    // The collector's migrations make the schema.
    lokiwrap_collector::testing::store_reports(&database, &[])?;
    let mut connection = rusqlite::Connection::open(&database).map_err(|e| e.to_string())?;
    let tx = connection.transaction().map_err(|e| e.to_string())?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs() as i64;
    let hours = 28 * 24;
    let first_hour = now - now.rem_euclid(HOUR) - (hours - 1) * HOUR;

    // Fingerprints with counts falling off like real crash populations (a few very busy ones),
    // scaled so that they add up to `events`.
    let weights: Vec<f64> = (1..=fingerprints).map(|rank| 1.0 / (rank as f64).powf(0.8)).collect();
    let total: f64 = weights.iter().sum();
    {
        let mut subject = tx
            .prepare(
                "INSERT INTO subjects (key, kind, details, count, first_seen, last_seen, sources)
                 VALUES (?1, 'crash', ?2, ?3, ?4, ?5, 1)",
            )
            .map_err(|e| e.to_string())?;
        let mut tally = tx
            .prepare("INSERT INTO tallies (key, dimension, value, count) VALUES (?1, 'tool_version', ?2, ?3)")
            .map_err(|e| e.to_string())?;
        for (rank, weight) in weights.iter().enumerate() {
            let count = ((weight / total) * events as f64).round().max(1.0) as i64;
            let key = format!("{:064x}", rank as u128 * 2_654_435_761);
            let tool = rank % TOOLS;
            let details = format!(
                "{{\"tool\":\"tool-{tool:02}\",\"error_class\":\"Error{}\",\"stack_signature\":[\"main\"]}}",
                rank % 997
            );
            let first_seen = first_hour + (rank as i64 * 7919) % (hours * HOUR);
            let last_seen = (first_seen + count * 60).min(now);
            subject
                .execute(params![key, details, count, first_seen, last_seen])
                .map_err(|e| e.to_string())?;
            tally
                .execute(params![key, format!("1.{}.0", rank % VERSIONS), count])
                .map_err(|e| e.to_string())?;
        }
    }
    {
        // The same events spread over the hours and days, per tool, version and series.
        let mut upsert = tx
            .prepare(
                "INSERT INTO rollups (granularity, bucket, series, name, version, count) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (granularity, bucket, series, name, version) DO UPDATE SET count = count + excluded.count",
            )
            .map_err(|e| e.to_string())?;
        let cells = (TOOLS * VERSIONS * SERIES.len()) as i64 * hours;
        let per_cell = (events as i64 / cells).max(1);
        for tool in 0..TOOLS {
            for version in 0..VERSIONS {
                for (s, series) in SERIES.iter().enumerate() {
                    for hour in 0..hours {
                        // A daily rhythm, so the sparklines have a shape.
                        let phase = ((hour + (tool + s) as i64 * 3) % 24) as f64 / 24.0;
                        let count =
                            (per_cell as f64 * (0.4 + 1.2 * (phase * std::f64::consts::TAU).sin().abs())) as i64;
                        let at = first_hour + hour * HOUR;
                        let name = format!("tool-{tool:02}");
                        let version = format!("1.{version}.0");
                        for (granularity, bucket) in [(HOUR, at), (DAY, at - at.rem_euclid(DAY))] {
                            upsert
                                .execute(params![granularity, bucket, series, name, version, count])
                                .map_err(|e| e.to_string())?;
                        }
                    }
                }
            }
        }
    }
    tx.commit().map_err(|e| e.to_string())?;
    println!("{database}: {fingerprints} fingerprints, {events} events over {hours} hours");
    Ok(())
}
