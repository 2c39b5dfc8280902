//! One file per subcommand; each parses nothing (clap does) and does its I/O here.

pub mod as_of;
pub mod audit;
pub mod check;
pub mod demo;
pub mod digest;
pub mod explain;
pub mod hook;
pub mod journal;
pub mod publish;
pub mod report;
pub mod status;
pub mod watch;
pub mod whatif;
pub mod wrap;

/// One alert on a line of a command's text: time, id, level, trigger,
/// subject (`digest`, `whatif`), each string sanitised.
pub fn alert_row(
    at: crate::engine::Time,
    alert: &str,
    level: &str,
    trigger: &str,
    subject: &str,
) -> String {
    use crate::sanitize::sanitize;
    format!(
        "  {}  {:<6} {:<8} {:<22} {}",
        crate::text::fmt_time(at),
        alert,
        level.to_uppercase(),
        sanitize(trigger),
        sanitize(subject)
    )
}

/// A command's answer: one JSON object (pretty), or its text. Buffered:
/// stdout writes each line as it ends, and a state of a million events is
/// 300,000 lines.
pub fn emit<T: serde::Serialize>(
    value: &T,
    json: bool,
    out: &mut dyn std::io::Write,
    text: impl FnOnce(&T, &mut dyn std::io::Write) -> std::io::Result<()>,
) -> anyhow::Result<i32> {
    use std::io::Write;
    let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
    if json {
        serde_json::to_writer_pretty(&mut out, value)?;
        writeln!(out)?;
    } else {
        text(value, &mut out)?;
    }
    out.flush()?;
    Ok(0)
}
