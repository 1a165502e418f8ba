//! Log output: the format (`--log-format text|json`), the filter (`--log`, else `RUST_LOG`,
//! else `info`) and whether colour codes are written (only to a terminal, never with
//! `NO_COLOR` set), so that a log file, the journal or a log shipper gets plain lines.

use std::io::IsTerminal;

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (colours only on a terminal).
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, `message` and the event's
    /// other fields beside them (for log shippers).
    Json,
}

/// Whether colour codes go into the log: stderr is a terminal and `NO_COLOR` is unset or
/// empty (<https://no-color.org>).
pub fn use_colour(stderr_is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    stderr_is_terminal && !matches!(no_color, Some(v) if !v.is_empty())
}

/// Installs the global subscriber, writing to stderr.
pub fn init(filter: Option<&str>, format: LogFormat) {
    let f = match filter {
        Some(f) => tracing_subscriber::EnvFilter::new(f),
        None => tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
    };
    let b = tracing_subscriber::fmt().with_env_filter(f).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => {
            let ansi = use_colour(std::io::stderr().is_terminal(), std::env::var_os("NO_COLOR").as_deref());
            b.with_ansi(ansi).init();
        }
        LogFormat::Json => {
            b.json().flatten_event(true).with_ansi(false).with_current_span(false).with_span_list(false).init()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        use std::ffi::OsStr;
        assert!(use_colour(true, None));
        assert!(use_colour(true, Some(OsStr::new(""))), "an empty NO_COLOR does not count");
        assert!(!use_colour(true, Some(OsStr::new("1"))));
        assert!(!use_colour(false, None), "a file or a pipe gets no colour codes");
    }
}
