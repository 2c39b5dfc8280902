//! The `coord` command line: parsing and dispatch only.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

// A fast allocator: the engine and the parser allocate a few small strings per event.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "coord", version, about = "A terminal coordination console for fleets of agents", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The live console on a coordination directory (or `-` for stdin)
    Watch {
        /// The coordination directory, or `-` to read JSON Lines from stdin
        #[arg(default_value = ".")]
        dir: String,
        /// One line per event and alert transition instead of the console
        /// (chosen automatically when stdout is not a terminal)
        #[arg(long)]
        headless: bool,
        /// Ingest everything available now, tick, print a summary, exit 0
        #[arg(long)]
        once: bool,
        /// Follow the journal of the console that holds the directory
        #[arg(long)]
        read_only: bool,
        /// Where `coord watch -` keeps its journal (default: the XDG state directory)
        #[arg(long, value_name = "DIR")]
        state: Option<PathBuf>,
    },
    /// A simulated fleet in a temporary directory, with the console on it
    Demo,
    /// Validate and append one event, atomically
    Publish {
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// One-shot summary; exit 0 healthy, 1 Critical alert open or SLA breached, 2 error
    Status {
        /// The coordination directory
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// One JSON object (the documented contract) instead of text
        #[arg(long)]
        json: bool,
        /// Evaluate as of this RFC 3339 time instead of now
        #[arg(long, value_name = "TIME")]
        at: Option<chrono::DateTime<chrono::FixedOffset>>,
    },
    /// Stakeholder report: progress, ETA, crises, SLA compliance, metrics
    Report {
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Query the audit journal
    Audit {
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Validate coord.json and plan.json; exit 0 valid, 1 invalid
    Check {
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
}

fn not_yet(name: &str) -> ExitCode {
    eprintln!("coord {name}: not yet available in this version");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { dir } => {
            let ok = coord::cli::check::check(&dir, &mut std::io::stdout());
            ExitCode::from(if ok { 0 } else { 1 })
        }
        Command::Status { dir, json, at } => {
            let now = at.map_or_else(chrono::Utc::now, |t| t.with_timezone(&chrono::Utc));
            match coord::cli::status::run(&dir, json, now, &mut std::io::stdout()) {
                Ok(code) => ExitCode::from(code as u8),
                Err(e) => {
                    eprintln!("coord status: {e:#}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Watch {
            dir,
            headless,
            once,
            read_only,
            state,
        } => {
            use std::io::IsTerminal;
            if !headless && !once && std::io::stdout().is_terminal() {
                eprintln!("coord watch: the console is not yet available; running headless");
            }
            let stdin = dir == "-";
            let dir = if stdin {
                match state.or_else(coord::cli::watch::default_stdin_state) {
                    Some(d) if std::fs::create_dir_all(&d).is_ok() => d,
                    _ => {
                        eprintln!("coord watch: no usable state directory; pass --state DIR");
                        return ExitCode::from(2);
                    }
                }
            } else {
                PathBuf::from(dir)
            };
            let opts = coord::runtime::WatchOptions {
                dir,
                once,
                read_only,
                print_events: true,
                stdin,
            };
            let out = std::io::BufWriter::new(std::io::stdout().lock());
            match coord::runtime::run_headless(&opts, out) {
                Ok(code) => ExitCode::from(code as u8),
                Err(e) => {
                    eprintln!("coord watch: {e:#}");
                    ExitCode::from(if e.downcast_ref::<coord::journal::LockError>().is_some() {
                        1
                    } else {
                        2
                    })
                }
            }
        }
        Command::Demo => not_yet("demo"),
        Command::Publish { .. } => not_yet("publish"),
        Command::Report { .. } => not_yet("report"),
        Command::Audit { .. } => not_yet("audit"),
    }
}
