//! The `coord` command line: parsing and dispatch only.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

// A fast allocator: the engine and the parser allocate a few small strings per event.
#[global_allocator]
static GLOBAL: coord::allocator::Allocator = coord::allocator::Allocator;

#[derive(Parser)]
#[command(name = "coord", version, about = "A terminal coordination console for fleets of agents", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where a coordination directory's events are read from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
enum Layout {
    /// `DIR/events/`: JSON Lines and whole `*.json` drops
    #[default]
    Events,
    /// The seed's `DIR/coordination_protocols/`: whole files rewritten in place
    Legacy,
}

#[derive(Subcommand)]
enum JournalCommand {
    /// Read every record and snapshot; exit 0 intact, 1 damaged (each place listed), 2 error
    Verify {
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Keep the records before the first damage, move the rest to journal/quarantine-TIME/,
    /// and read their events again on the next start; refused while a console runs
    Repair {
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum HookCommand {
    /// A Claude Code command hook (and Codex's hooks.json): the hook's JSON on stdin
    ClaudeCode {
        /// The coordination directory (with --to: only where problems are logged)
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Publish to a Redis stream instead: redis[s]://HOST[:PORT]/STREAM
        #[arg(long, value_name = "URL")]
        to: Option<String>,
        /// The agent's id (default: $COORD_AGENT, else <basename of cwd>-<session>)
        #[arg(long, value_name = "NAME")]
        agent: Option<String>,
    },
    /// Codex's notify program: the payload is the last argument
    Codex {
        /// The coordination directory, then the payload (Codex appends it)
        #[arg(num_args = 1..=2, required = true, value_name = "DIR JSON")]
        args: Vec<String>,
        /// Publish to a Redis stream instead: redis[s]://HOST[:PORT]/STREAM
        #[arg(long, value_name = "URL")]
        to: Option<String>,
        /// The agent's id (default: $COORD_AGENT, else <basename of cwd>-<thread>)
        #[arg(long, value_name = "NAME")]
        agent: Option<String>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum ReportFormat {
    Md,
    Json,
    /// One self-contained page with charts (inline CSS and SVG, no script)
    Html,
}

#[derive(Subcommand)]
enum Command {
    /// The live console on a coordination directory, a Redis stream, or stdin
    Watch {
        /// The coordination directory, redis[s]://HOST[:PORT]/STREAM, or `-` for JSON Lines on stdin
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
        /// Where a stream or stdin console keeps its journal (default: under the XDG state directory)
        #[arg(long, value_name = "DIR")]
        state: Option<PathBuf>,
        /// The name operator actions are journaled under (default: $USER)
        #[arg(long, value_name = "NAME")]
        operator: Option<String>,
        /// Read `events/` (default) or the seed's `coordination_protocols/` folder
        #[arg(long, value_enum, default_value_t = Layout::Events)]
        layout: Layout,
    },
    /// A simulated fleet playing every crisis of the matrix, with the console on it
    Demo {
        /// The coordination directory (created if missing; must be empty or a previous
        /// demo's); default: a new one under the temporary directory, kept afterwards
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Agents in the fleet (6 to 1000; one of them the backup)
        #[arg(long, value_name = "N", default_value_t = 12)]
        agents: usize,
        /// The same seed plays the same events
        #[arg(long, value_name = "S", default_value_t = 1)]
        seed: u64,
        /// Time runs this many times faster (the timeouts in coord.json too)
        #[arg(long, value_name = "X", default_value_t = 1.0)]
        speed: f64,
        /// One line per event and alert transition instead of the console
        /// (chosen automatically when stdout is not a terminal)
        #[arg(long)]
        headless: bool,
        /// Stop after this many seconds (default: until q, Ctrl-C or SIGTERM)
        #[arg(long, value_name = "SECONDS")]
        duration: Option<f64>,
        /// The name operator actions are journaled under (default: $USER)
        #[arg(long, value_name = "NAME")]
        operator: Option<String>,
    },
    /// Validate and append one event, atomically; exit 0 (the id printed), 1 refused, 2 error
    Publish {
        /// The coordination directory
        #[arg(default_value = ".", conflicts_with = "to")]
        dir: PathBuf,
        /// Publish to a Redis stream instead: redis://HOST[:PORT]/STREAM (rediss:// for TLS)
        #[arg(long, value_name = "URL")]
        to: Option<String>,
        #[command(flatten)]
        fields: coord::cli::publish::Fields,
        /// The whole event as a JSON object (`-` reads stdin: one object, or JSON Lines)
        #[arg(long, value_name = "JSON", conflicts_with_all = [
            "kind", "agent", "task", "component", "phase", "gate", "severity", "message",
            "progress", "extra"])]
        json: Option<String>,
    },
    /// One-shot summary; exit 0 healthy, 1 Critical alert open or SLA breached, 2 error
    Status {
        /// The coordination directory, or redis[s]://HOST[:PORT]/STREAM
        #[arg(default_value = ".")]
        dir: String,
        /// For a redis:// source: the state directory its console uses
        #[arg(long, value_name = "DIR")]
        state: Option<PathBuf>,
        /// One JSON object (the documented contract) instead of text
        #[arg(long)]
        json: bool,
        /// Evaluate as of: now (default); last (the journal's last record, nothing projected); or a later TIME (RFC 3339, YYYY-MM-DD[THH:MM[:SS]] UTC, or an age: 90s, 15m, 2h)
        #[arg(long, value_name = "WHEN", default_value = "now", value_parser = coord::cli::as_of::At::parse)]
        at: coord::cli::as_of::At,
        /// Read `events/` (default) or the seed's `coordination_protocols/` folder
        #[arg(long, value_enum, default_value_t = Layout::Events)]
        layout: Layout,
    },
    /// Stakeholder report: progress, ETA, crises, SLA compliance, metrics; exit 0, 2 on error
    Report {
        /// The coordination directory, or redis[s]://HOST[:PORT]/STREAM
        #[arg(default_value = ".")]
        dir: String,
        /// For a redis:// source: the state directory its console uses
        #[arg(long, value_name = "DIR")]
        state: Option<PathBuf>,
        /// Markdown (tables, sparklines, a mermaid burn-up), one JSON object, or one self-contained HTML page with charts
        #[arg(long, value_enum, default_value_t = ReportFormat::Md)]
        format: ReportFormat,
        /// Evaluate as of: now (default); last (the journal's last record, nothing projected); or a later TIME (RFC 3339, YYYY-MM-DD[THH:MM[:SS]] UTC, or an age: 90s, 15m, 2h)
        #[arg(long, value_name = "WHEN", default_value = "now", value_parser = coord::cli::as_of::At::parse)]
        at: coord::cli::as_of::At,
        /// Read `events/` (default) or the seed's `coordination_protocols/` folder
        #[arg(long, value_enum, default_value_t = Layout::Events)]
        layout: Layout,
    },
    /// Query the audit journal; exit 0 (matches or not), 2 on error
    Audit {
        /// The coordination directory, or redis[s]://HOST[:PORT]/STREAM
        #[arg(default_value = ".")]
        dir: String,
        /// For a redis:// source: the state directory its console uses
        #[arg(long, value_name = "DIR")]
        state: Option<PathBuf>,
        /// Records at or after TIME: RFC 3339, YYYY-MM-DD[THH:MM[:SS]] (UTC), or an age (90s, 15m, 2h, 7d)
        #[arg(long, value_name = "TIME", value_parser = coord::cli::audit::parse_time_arg)]
        since: Option<chrono::DateTime<chrono::Utc>>,
        /// Records before TIME (same forms as --since)
        #[arg(long, value_name = "TIME", value_parser = coord::cli::audit::parse_time_arg)]
        until: Option<chrono::DateTime<chrono::Utc>>,
        /// An agent's events, and the effects and actions about it and its alerts
        #[arg(long, value_name = "AGENT")]
        agent: Option<String>,
        /// Events and derived events of this type (e.g. agent_timeout)
        #[arg(long = "type", value_name = "TYPE")]
        kind_type: Option<String>,
        /// One alert's trail: A-12 or 12
        #[arg(long, value_name = "ID", value_parser = parse_alert)]
        alert: Option<u64>,
        /// One journal record per line, as JSON, events with their parsed form
        #[arg(long)]
        json: bool,
    },
    /// An agent's own hook as coord events; always exit 0, nothing on stdout
    Hook {
        #[command(subcommand)]
        agent: HookCommand,
    },
    /// Run any command as an agent: heartbeats, task_completed or task_failed, its exit status
    Wrap {
        /// The coordination directory
        #[arg(default_value = ".", conflicts_with = "to")]
        dir: PathBuf,
        /// Publish to a Redis stream instead: redis[s]://HOST[:PORT]/STREAM
        #[arg(long, value_name = "URL")]
        to: Option<String>,
        /// The agent's id
        #[arg(long, value_name = "NAME")]
        agent: String,
        /// The task the command does: assigned at the start, completed or failed at the end
        #[arg(long, value_name = "T")]
        task: Option<String>,
        /// The component the task belongs to
        #[arg(long, value_name = "C")]
        component: Option<String>,
        /// Seconds between heartbeats while it runs
        #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
        every: f64,
        /// The command and its arguments, after --
        #[arg(last = true, required = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// What changed since you looked: alerts opened, escalated, breached, resolved; moves; agents; progress
    Digest {
        /// The coordination directory
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Whose last look (the console's q or m) it starts from (default: $USER)
        #[arg(long, value_name = "NAME")]
        operator: Option<String>,
        /// Start here instead: RFC 3339, YYYY-MM-DD[THH:MM[:SS]] (UTC), or an age (90m, 12h)
        #[arg(long, value_name = "TIME", value_parser = coord::cli::audit::parse_time_arg)]
        since: Option<chrono::DateTime<chrono::Utc>>,
        /// One JSON object instead of text
        #[arg(long)]
        json: bool,
    },
    /// The journal replayed under another configuration (and plan): what would have been different
    Whatif {
        /// The coordination directory
        dir: PathBuf,
        /// The other coord.json
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// The other plan.json (default: the directory's)
        #[arg(long, value_name = "FILE")]
        plan: Option<PathBuf>,
        /// One JSON object instead of text
        #[arg(long)]
        json: bool,
    },
    /// Why an alert is what it is: its rule, its input events, its timers, its history; exit 0, 2 on error
    Explain {
        /// The coordination directory
        dir: PathBuf,
        /// The alert: A-12 or 12
        #[arg(value_parser = parse_alert)]
        alert: u64,
        /// One JSON object instead of text
        #[arg(long)]
        json: bool,
    },
    /// Check or repair the journal (the audit trail)
    Journal {
        #[command(subcommand)]
        what: JournalCommand,
    },
    /// Validate coord.json and plan.json; exit 0 valid, 1 invalid
    Check {
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
}

/// Where `publish`, `hook` and `wrap` send events: DIR, or `--to URL`.
fn publish_target(dir: PathBuf, to: Option<String>) -> Result<coord::cli::publish::Target, String> {
    use coord::cli::publish::Target;
    match to {
        None => Ok(Target::Dir(dir)),
        Some(url) => coord::stream::StreamUrl::parse(&url)
            .map(Target::Stream)
            .map_err(|e| e.to_string()),
    }
}

fn parse_alert(s: &str) -> Result<u64, String> {
    coord::cli::audit::parse_alert_id(s)
        .ok_or_else(|| format!("{s:?} is not an alert id (A-12 or 12)"))
}

/// A closed pipe (`coord report | head`) is not an error.
fn broken_pipe(e: &anyhow::Error) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == BrokenPipe)
            // JSON written straight to stdout fails as serde_json's error.
            || c.downcast_ref::<serde_json::Error>()
                .is_some_and(|e| e.io_error_kind() == Some(BrokenPipe))
    })
}

/// Each followed file holds a descriptor open: take the hard limit, not the soft
/// one (often 1024), so a thousand files fit.
fn raise_fd_limit() {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        limit.current = limit.maximum;
        let _ = setrlimit(Resource::Nofile, limit);
    }
}

/// A command's DIR: the directory itself, or a stream's state directory.
fn state_dir(command: &str, arg: &str, state: Option<PathBuf>) -> Result<PathBuf, ExitCode> {
    coord::cli::watch::resolve(arg, state, false)
        .map(|(dir, _)| dir)
        .map_err(|e| {
            eprintln!("coord {command}: {e}");
            ExitCode::from(2)
        })
}

fn main() -> ExitCode {
    raise_fd_limit();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // A hook's misconfiguration must not fail the agent that runs it
        // (Claude Code reads exit 2 from a PreToolUse hook as "block the tool").
        Err(e) if std::env::args().nth(1).as_deref() == Some("hook") && e.use_stderr() => {
            eprintln!("coord hook: {}", e.to_string().trim_end());
            return ExitCode::SUCCESS;
        }
        Err(e) => e.exit(),
    };
    match cli.command {
        Command::Journal { what } => {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            let (name, res) = match what {
                JournalCommand::Verify { dir } => {
                    ("verify", coord::cli::journal::verify(&dir, &mut out))
                }
                JournalCommand::Repair { dir } => (
                    "repair",
                    coord::cli::journal::repair(&dir, chrono::Utc::now(), &mut out),
                ),
            };
            match res {
                Ok(code) => ExitCode::from(code as u8),
                Err(e) if broken_pipe(&e) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("coord journal {name}: {e:#}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Hook { agent } => {
            use coord::cli::hook::{run, Agent};
            let (kind, dir, to, agent, args) = match agent {
                HookCommand::ClaudeCode { dir, to, agent } => {
                    (Agent::ClaudeCode, dir, to, agent, Vec::new())
                }
                HookCommand::Codex { args, to, agent } => {
                    // Codex appends the payload: a DIR before it is optional.
                    let dir = match args.len() {
                        2 => PathBuf::from(&args[0]),
                        _ => PathBuf::from("."),
                    };
                    (Agent::Codex, dir, to, agent, args)
                }
            };
            let target = publish_target(dir.clone(), to);
            ExitCode::from(run(kind, &dir, target, agent, &args))
        }
        Command::Wrap {
            dir,
            to,
            agent,
            task,
            component,
            every,
            command,
        } => {
            let target = match publish_target(dir, to) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("coord wrap: {e}");
                    return ExitCode::from(coord::cli::wrap::WRAP_FAILED);
                }
            };
            if !(every.is_finite() && every > 0.0 && every <= 86_400.0) {
                eprintln!("coord wrap: --every must be between 0 and 86400 seconds; got {every}");
                return ExitCode::from(coord::cli::wrap::WRAP_FAILED);
            }
            ExitCode::from(coord::cli::wrap::run(coord::cli::wrap::WrapOptions {
                target,
                agent,
                task,
                component,
                every: std::time::Duration::from_secs_f64(every),
                command,
            }))
        }
        Command::Digest {
            dir,
            operator,
            since,
            json,
        } => {
            let operator = operator
                .or_else(|| std::env::var("USER").ok())
                .unwrap_or_else(|| "operator".into());
            let mut out = std::io::stdout();
            match coord::cli::digest::run(&dir, &operator, since, json, &mut out) {
                Ok(code) => ExitCode::from(code as u8),
                Err(e) if broken_pipe(&e) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("coord digest: {e:#}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Whatif {
            dir,
            config,
            plan,
            json,
        } => {
            let mut out = std::io::stdout();
            match coord::cli::whatif::run(&dir, &config, plan.as_deref(), json, &mut out) {
                Ok(code) => ExitCode::from(code as u8),
                Err(e) if broken_pipe(&e) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("coord whatif: {e:#}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Explain { dir, alert, json } => {
            match coord::cli::explain::run(&dir, alert, json, &mut std::io::stdout()) {
                Ok(code) => ExitCode::from(code as u8),
                Err(e) if broken_pipe(&e) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("coord explain: {e:#}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Check { dir } => {
            let ok = coord::cli::check::check(&dir, &mut std::io::stdout());
            ExitCode::from(if ok { 0 } else { 1 })
        }
        Command::Status {
            dir,
            state,
            json,
            at,
            layout,
        } => {
            let dir = match state_dir("status", &dir, state) {
                Ok(d) => d,
                Err(code) => return code,
            };
            let legacy = layout == Layout::Legacy;
            match coord::cli::status::run(&dir, json, legacy, at, &mut std::io::stdout()) {
                Ok(code) => ExitCode::from(code as u8),
                Err(e) if broken_pipe(&e) => ExitCode::SUCCESS,
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
            layout,
            operator,
        } => {
            use std::io::IsTerminal;
            let stdin = dir == "-";
            // The console needs the terminal for keys, so stdin data means headless.
            let console = !headless
                && !once
                && !stdin
                && std::io::stdout().is_terminal()
                && std::io::stdin().is_terminal();
            let operator = operator
                .or_else(|| std::env::var("USER").ok())
                .unwrap_or_else(|| "operator".into());
            if stdin && layout == Layout::Legacy {
                eprintln!("coord watch: --layout legacy reads a directory, not stdin");
                return ExitCode::from(2);
            }
            let mut stream = None;
            let dir = if coord::stream::StreamUrl::is_stream(&dir) {
                if layout == Layout::Legacy {
                    eprintln!("coord watch: --layout legacy reads a directory, not a stream");
                    return ExitCode::from(2);
                }
                match coord::cli::watch::resolve(&dir, state, true) {
                    Ok((d, url)) => {
                        stream = url;
                        d
                    }
                    Err(e) => {
                        eprintln!("coord watch: {e}");
                        return ExitCode::from(2);
                    }
                }
            } else if stdin {
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
            use coord::runtime::{Feed, View, WatchOptions};
            let feed = match (read_only, stream, stdin, layout) {
                (true, ..) => Feed::Follow,
                (false, Some(url), ..) => Feed::Stream(url),
                (false, None, true, _) => Feed::Stdin,
                (false, None, false, Layout::Legacy) => Feed::Legacy,
                (false, None, false, Layout::Events) => Feed::Events,
            };
            let view = match (console, once) {
                (true, _) => View::Console {
                    operator,
                    demo: false,
                },
                (false, true) => View::Once,
                (false, false) => View::Lines,
            };
            let opts = WatchOptions {
                dir,
                feed,
                view,
                run_for: None,
            };
            let result = if console {
                coord::runtime::run(&opts, std::io::sink())
            } else {
                coord::runtime::run(&opts, std::io::BufWriter::new(std::io::stdout().lock()))
            };
            match result {
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
        Command::Demo {
            dir,
            agents,
            seed,
            speed,
            headless,
            duration,
            operator,
        } => {
            let opts = coord::cli::demo::DemoOptions {
                dir,
                agents,
                seed,
                speed,
                headless,
                duration,
                operator: operator
                    .or_else(|| std::env::var("USER").ok())
                    .unwrap_or_else(|| "operator".into()),
            };
            match coord::cli::demo::run(&opts) {
                Ok(code) => ExitCode::from(code as u8),
                Err(e) => {
                    eprintln!("coord demo: {e:#}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Publish {
            dir,
            to,
            fields,
            json,
        } => {
            use coord::cli::publish::{run, Source};
            let source = match json {
                Some(text) => Source::Json(text),
                None => Source::Fields(Box::new(fields)),
            };
            let target = match publish_target(dir, to) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("coord publish: {e}");
                    return ExitCode::from(2);
                }
            };
            ExitCode::from(run(&target, source))
        }
        Command::Report {
            dir,
            state,
            format,
            at,
            layout,
        } => {
            let dir = match state_dir("report", &dir, state) {
                Ok(d) => d,
                Err(code) => return code,
            };
            use coord::cli::report::{run, Format};
            let format = match format {
                ReportFormat::Md => Format::Markdown,
                ReportFormat::Json => Format::Json,
                ReportFormat::Html => Format::Html,
            };
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let result = run(&dir, format, layout == Layout::Legacy, at, &mut out)
                .and_then(|()| Ok(std::io::Write::flush(&mut out)?));
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) if broken_pipe(&e) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("coord report: {e:#}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Audit {
            dir,
            state,
            since,
            until,
            agent,
            kind_type,
            alert,
            json,
        } => {
            let dir = match state_dir("audit", &dir, state) {
                Ok(d) => d,
                Err(code) => return code,
            };
            let q = coord::cli::audit::AuditQuery {
                since,
                until,
                agent,
                kind_type,
                alert,
            };
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            match coord::cli::audit::run(&dir, &q, json, &mut out) {
                Ok(code) => ExitCode::from(code as u8),
                Err(e) if broken_pipe(&e) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("coord audit: {e:#}");
                    ExitCode::from(2)
                }
            }
        }
    }
}
