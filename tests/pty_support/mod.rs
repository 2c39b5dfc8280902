//! The real `coord` binary in a pseudo-terminal, for the console's end-to-end
//! tests: a reader thread feeds every byte into a `vt100::Parser` and keeps the
//! raw bytes; expectations poll the parsed screen against a deadline.
#![allow(dead_code)]

use portable_pty::{native_pty_system, Child, CommandBuilder, MasterPty, PtySize};
use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub const COORD: &str = env!("CARGO_BIN_EXE_coord");

/// How long any one expectation may take on a loaded machine.
pub const DEADLINE: Duration = Duration::from_secs(20);

pub struct Seen {
    pub parser: vt100::Parser,
    /// Every byte the binary wrote, in order.
    pub raw: Vec<u8>,
    pub eof: bool,
}

pub struct Pty {
    master: Box<dyn MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    pub child: Box<dyn Child + Send + Sync>,
    pub seen: Arc<Mutex<Seen>>,
    reader: Option<JoinHandle<()>>,
    /// Where coord runs: its `coord.log` is shown when it fails to exit.
    cwd: std::path::PathBuf,
    _home: tempfile::TempDir,
}

fn nz(n: u16) -> NonZeroU16 {
    NonZeroU16::new(n.max(1)).expect("a size above zero")
}

fn pty_size(cols: u16, rows: u16) -> PtySize {
    PtySize {
        rows,
        cols,
        pixel_width: 0,
        pixel_height: 0,
    }
}

/// Printable text for raw terminal bytes: ESC as `\e`, other controls as `\xNN`.
pub fn escaped(bytes: &[u8]) -> String {
    let mut s = String::new();
    for c in String::from_utf8_lossy(bytes).chars() {
        match c {
            '\x1b' => s.push_str("\\e"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            c if (c as u32) < 0x20 || ('\x7f'..='\u{9f}').contains(&c) => {
                s.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => s.push(c),
        }
    }
    s
}

/// The reader's state, even after a failed assertion elsewhere poisoned the lock.
pub fn lock(seen: &Mutex<Seen>) -> MutexGuard<'_, Seen> {
    seen.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

pub fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

impl Pty {
    /// `coord ARGS` on a `cols`×`rows` terminal, run in `cwd`, with a clean
    /// environment (no `$TMUX`, `NO_COLOR` or `RUST_LOG`, a `$HOME` of its own).
    pub fn start(args: &[&str], cwd: &Path, cols: u16, rows: u16) -> Pty {
        Pty::start_with(args, cwd, cols, rows, &[])
    }

    /// As `start`, with more environment variables.
    pub fn start_with(
        args: &[&str],
        cwd: &Path,
        cols: u16,
        rows: u16,
        env: &[(&str, &str)],
    ) -> Pty {
        let home = tempfile::tempdir().unwrap();
        let pair = native_pty_system()
            .openpty(pty_size(cols, rows))
            .expect("open a pseudo-terminal");
        let mut cmd = CommandBuilder::new(COORD);
        cmd.args(args);
        cmd.cwd(cwd);
        cmd.env_clear();
        if let Some(path) = std::env::var_os("PATH") {
            cmd.env("PATH", path);
        }
        cmd.env("HOME", home.path());
        cmd.env("TERM", "xterm-256color");
        cmd.env("USER", "pty-user");
        cmd.env("LANG", "C.UTF-8");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = pair.slave.spawn_command(cmd).expect("spawn coord");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().unwrap();
        let writer = pair.master.take_writer().unwrap();
        let seen = Arc::new(Mutex::new(Seen {
            parser: vt100::Parser::new(nz(rows), nz(cols), 0),
            raw: Vec::new(),
            eof: false,
        }));
        let feed = seen.clone();
        let reader = std::thread::Builder::new()
            .name("pty-reader".into())
            .spawn(move || {
                let mut buf = [0u8; 16 * 1024];
                loop {
                    match reader.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            let mut s = lock(&feed);
                            s.parser.process(&buf[..n]);
                            s.raw.extend_from_slice(&buf[..n]);
                        }
                    }
                }
                lock(&feed).eof = true;
            })
            .unwrap();
        Pty {
            master: pair.master,
            writer,
            child,
            seen,
            reader: Some(reader),
            cwd: cwd.to_path_buf(),
            _home: home,
        }
    }

    pub fn keys(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    pub fn screen_text(&self) -> String {
        lock(&self.seen).parser.screen().contents()
    }

    /// The screen as parsed so far, cells and attributes.
    pub fn screen(&self) -> vt100::Screen {
        lock(&self.seen).parser.screen().clone()
    }

    pub fn raw(&self) -> Vec<u8> {
        lock(&self.seen).raw.clone()
    }

    /// Resizes the terminal and the parser together.
    pub fn resize(&mut self, cols: u16, rows: u16) {
        let mut s = lock(&self.seen);
        self.master.resize(pty_size(cols, rows)).unwrap();
        s.parser.screen_mut().set_size(nz(rows), nz(cols));
    }

    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Polls the screen until `ok` holds; fails with the screen after `DEADLINE`.
    pub fn wait_for(&mut self, what: &str, ok: impl Fn(&vt100::Screen) -> bool) {
        self.wait_within(DEADLINE, what, ok)
    }

    pub fn wait_within(
        &mut self,
        limit: Duration,
        what: &str,
        ok: impl Fn(&vt100::Screen) -> bool,
    ) {
        let start = Instant::now();
        loop {
            if ok(lock(&self.seen).parser.screen()) {
                return;
            }
            if start.elapsed() > limit || !self.alive() {
                let exited = self.child.try_wait().unwrap();
                std::thread::sleep(Duration::from_millis(100));
                let s = lock(&self.seen);
                let raw = &s.raw[s.raw.len().saturating_sub(600)..];
                panic!(
                    "waited {:?} for {what}; process exited: {exited:?}\n\
                     screen:\n{}\nlast bytes written:\n{}",
                    start.elapsed(),
                    s.parser.screen().contents(),
                    escaped(raw)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn bytes_written(&self) -> usize {
        lock(&self.seen).raw.len()
    }

    /// The terminal's local mode flags (`ICANON`, `ECHO`, …) as words, when the
    /// platform tells them.
    pub fn local_flags(&self) -> Option<Vec<String>> {
        let termios = self.master.get_termios()?;
        let flags = format!("{:?}", termios.local_flags);
        Some(
            flags
                .split(|ch: char| !ch.is_ascii_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_string)
                .collect(),
        )
    }

    pub fn wait_for_text(&mut self, text: &str) {
        self.wait_for(&format!("{text:?} on screen"), |s| {
            s.contents().contains(text)
        });
    }

    /// Waits for the process to exit; then for the reader to drain every byte.
    pub fn wait_exit(&mut self) -> portable_pty::ExitStatus {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "coord did not exit; screen:\n{}\n{}",
                self.screen_text(),
                self.stuck()
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        while !lock(&self.seen).eof {
            assert!(start.elapsed() < DEADLINE * 2, "the PTY never reached EOF");
            std::thread::sleep(Duration::from_millis(20));
        }
        if let Some(r) = self.reader.take() {
            r.join().unwrap();
        }
        status
    }
}

impl Pty {
    /// What a process that does not exit is doing: each thread's name, state and
    /// kernel wait channel, then its log's last lines.
    fn stuck(&self) -> String {
        let mut out = String::from("threads:\n");
        if let Some(pid) = self.child.process_id() {
            let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
                .into_iter()
                .flatten();
            for task in tasks.flatten() {
                let read =
                    |f: &str| std::fs::read_to_string(task.path().join(f)).unwrap_or_default();
                let stat = read("stat");
                let state = stat
                    .rsplit(')')
                    .next()
                    .unwrap_or("")
                    .split_whitespace()
                    .next();
                out.push_str(&format!(
                    "  {} {} wchan={} syscall={}\n",
                    read("comm").trim(),
                    state.unwrap_or("?"),
                    read("wchan"),
                    read("syscall").split_whitespace().next().unwrap_or("?"),
                ));
            }
        }
        let log = std::fs::read_to_string(self.cwd.join("coord.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        out.push_str("coord.log (last lines):\n");
        for line in tail.iter().rev() {
            out.push_str(&format!("  {line}\n"));
        }
        out
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
