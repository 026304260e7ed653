//! Keeps the README's two flag tables true: every flag of `almanac serve`
//! and every option the client commands share is in its table, with the
//! environment variable and the default that `--help` shows, and the
//! tables list nothing else.

use std::collections::BTreeMap;

use clap::{Args, Command, CommandFactory};

use crate::cli::{Cli, ClientOptions};

/// A table row: the environment variable and the default, as written.
#[derive(Debug)]
struct Row {
    env: Option<String>,
    default: Option<String>,
}

/// The rows of the flag table that follows `heading` in the README, by
/// flag (without the dashes).
fn table_after(readme: &str, heading: &str) -> BTreeMap<String, Row> {
    let start = readme
        .find(heading)
        .unwrap_or_else(|| panic!("README has no '{heading}'"));
    let mut rows = BTreeMap::new();
    let mut in_table = false;
    for line in readme[start..].lines() {
        if line.starts_with("| flag | environment | default |") {
            in_table = true;
            continue;
        }
        if !in_table || line.starts_with("|---") {
            continue;
        }
        if !line.starts_with('|') {
            break;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let flag = first_code(cells[1]).expect("a flag in backticks");
        rows.insert(
            flag.trim_start_matches("--").to_owned(),
            Row {
                env: first_code(cells[2]),
                default: first_code(cells[3]),
            },
        );
    }
    rows
}

/// The first `code` span of a table cell.
fn first_code(cell: &str) -> Option<String> {
    let rest = cell.split_once('`')?.1;
    Some(rest.split_once('`')?.0.to_owned())
}

/// Checks `command`'s visible long flags against `rows`.
fn check(command: &Command, rows: &BTreeMap<String, Row>, table: &str) {
    let mut seen = Vec::new();
    for arg in command.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if arg.is_hide_set() || matches!(long, "help" | "version") {
            continue;
        }
        seen.push(long.to_owned());
        let row = rows
            .get(long)
            .unwrap_or_else(|| panic!("--{long} is missing from the README's {table} table"));
        let env = arg.get_env().map(|e| e.to_string_lossy().into_owned());
        assert_eq!(
            row.env, env,
            "--{long}: environment variable in the {table} table"
        );
        let Some(default) = arg.get_default_values().first() else {
            continue;
        };
        let default = default.to_string_lossy();
        let written = row.default.as_deref().unwrap_or_else(|| {
            panic!("--{long}: the {table} table gives no default; --help says {default}")
        });
        let same = written == default
            || matches!(
                (humantime::parse_duration(written), humantime::parse_duration(&default)),
                (Ok(a), Ok(b)) if a == b
            );
        assert!(
            same,
            "--{long}: the {table} table says {written}, --help says {default}"
        );
    }
    for flag in rows.keys() {
        assert!(
            seen.contains(flag),
            "the README's {table} table lists --{flag}, which does not exist"
        );
    }
}

#[test]
fn the_readme_flag_tables_match_the_cli() {
    let readme = include_str!("../../../README.md");
    let serve = Cli::command();
    let serve = serve.find_subcommand("serve").expect("a serve subcommand");
    check(serve, &table_after(readme, "## Configuration"), "serve");
    let shared = ClientOptions::augment_args(Command::new("client"));
    check(
        &shared,
        &table_after(readme, "Every client command takes these flags"),
        "client",
    );
}
