//! Closed tasks (SPEC 6): closed by `task_completed` or their component's
//! completion, never opened or changed again, and kept so that a late report
//! on finished work does not reopen one and `status` and `report` still list
//! them.
//!
//! A long run's tasks are nearly all closed (37,582 of them after the bench's
//! million events), and as a map of the state they were half of a restart:
//! parsed from the snapshot, hashed, placed, and dropped at exit. Here they
//! are kept as a snapshot writes them and a start reads them in place, like
//! the event ids: their ids in an `IdSet` (is this task closed?), and their
//! rows, one JSON array a line, `[id, agent, component, auto_reassignments,
//! seconds, nanoseconds]`, in the order they closed, read only when listed.
//! `bench/ab.sh`, 8 alternating rounds, 1M events, against the tasks as rows
//! of the state: restart 0.0226 → 0.0132 s; cold ingest 0.580 → 0.550 s,
//! peak RSS 84 → 73 MB (the open tasks' map stays small and in the caches).

use super::agents::Task;
use super::ids::{IdSet, Layout};
use chrono::DateTime;
use memmap2::Mmap;
use std::ops::Range;
use std::sync::Arc;

#[derive(Clone, Debug, Default)]
pub struct ClosedTasks {
    ids: IdSet,
    /// A snapshot's rows, as they lie in its file.
    mapped: Option<(Arc<Mmap>, Range<usize>)>,
    /// Rows of the tasks closed since.
    own: Vec<u8>,
}

/// Where a snapshot's closed tasks lie in its file, as its header gives them.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClosedLayout {
    pub ids: Layout,
    /// The rows' length in bytes, after the ids' table.
    pub rows: u64,
}

/// A row as written; read back as owned strings (a name with an escape in
/// it cannot be borrowed from the row).
type Row<'a> = (&'a str, Option<&'a str>, Option<&'a str>, u32, i64, u32);
type OwnedRow = (String, Option<String>, Option<String>, u32, i64, u32);

impl ClosedTasks {
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn contains(&self, id: &str) -> bool {
        self.ids.contains(IdSet::hash(id), id)
    }

    /// Keeps a task that has just closed (not one already kept).
    pub fn insert(&mut self, id: &str, task: &Task) {
        self.ids.insert(IdSet::hash(id), id);
        let row: Row = (
            id,
            task.agent.as_deref(),
            task.component.as_deref(),
            task.auto_reassignments,
            task.opened.timestamp(),
            task.opened.timestamp_subsec_nanos(),
        );
        serde_json::to_writer(&mut self.own, &row).expect("a row serialises");
        self.own.push(b'\n');
    }

    /// The rows' bytes, in the order the tasks closed.
    pub fn rows(&self) -> impl Iterator<Item = &[u8]> {
        let mapped = self.mapped.as_ref().map(|(map, range)| &map[range.clone()]);
        mapped.into_iter().chain([&self.own[..]])
    }

    /// Every closed task, in the order they closed. A snapshot's rows are
    /// checksummed; one that does not read as a row (a fault of coord's own)
    /// is named in the log and left out, never guessed at.
    pub fn iter(&self) -> impl Iterator<Item = (String, Task)> + '_ {
        self.rows()
            .flat_map(|rows| rows.split(|b| *b == b'\n'))
            .filter(|line| !line.is_empty())
            .filter_map(|line| {
                let row = serde_json::from_slice::<OwnedRow>(line).map_err(|e| e.to_string());
                let task = row.and_then(|(id, agent, component, moved, secs, nanos)| {
                    let opened = DateTime::from_timestamp(secs, nanos)
                        .ok_or_else(|| format!("task {id}: time out of range"))?;
                    let task = Task {
                        agent,
                        component,
                        auto_reassignments: moved,
                        opened,
                    };
                    Ok((id, task))
                });
                task.map_err(|e| tracing::error!(error = %e, "a closed task's row does not read"))
                    .ok()
            })
    }

    pub fn layout(&self) -> ClosedLayout {
        ClosedLayout {
            ids: self.ids.layout(),
            rows: self.rows().map(|r| r.len() as u64).sum(),
        }
    }

    /// What a snapshot writes, in order, for closed tasks that begin at byte
    /// `at` of its file: the ids (`IdSet::parts`), then the rows.
    pub fn parts(&self, at: usize) -> Vec<&[u8]> {
        let mut parts = self.ids.parts(at);
        parts.extend(self.rows());
        parts
    }

    /// The closed tasks a snapshot holds from byte `at` of `file` (`parts`),
    /// read in place; returns them and where their rows end.
    pub fn mapped(
        file: &std::fs::File,
        map: &Arc<Mmap>,
        at: usize,
        layout: &ClosedLayout,
    ) -> Result<(ClosedTasks, usize), String> {
        let (ids, rows_at) = IdSet::mapped(file, map, at, &layout.ids)?;
        let end = usize::try_from(layout.rows)
            .ok()
            .and_then(|n| rows_at.checked_add(n))
            .filter(|end| *end <= map.len())
            .ok_or("the closed tasks run past the file")?;
        let closed = ClosedTasks {
            ids,
            mapped: Some((map.clone(), rows_at..end)),
            own: Vec::new(),
        };
        Ok((closed, end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn task(agent: Option<&str>, n: u32) -> Task {
        Task {
            agent: agent.map(str::to_string),
            component: Some("api \"v2\"".into()),
            auto_reassignments: n,
            opened: DateTime::from_timestamp(1_795_526_181, 46_244_000).unwrap(),
        }
    }

    /// Written as a snapshot writes them, read in place, added to, and
    /// written and read again: the same tasks, in the order they closed.
    #[test]
    fn closed_tasks_read_in_place_are_the_same_and_take_more() {
        let mut closed = ClosedTasks::default();
        let first: Vec<(String, Task)> = (0..3000)
            .map(|i| {
                (
                    format!("T-{i}"),
                    task((i % 2 == 0).then_some("agent-1"), i % 4),
                )
            })
            .collect();
        for (id, t) in &first {
            closed.insert(id, t);
        }
        let head = b"header\nstate";
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(head).unwrap();
        for part in closed.parts(head.len()) {
            f.write_all(part).unwrap();
        }
        let file = f.reopen().unwrap();
        let map = Arc::new(unsafe { Mmap::map(&file) }.unwrap());
        let (mut back, end) =
            ClosedTasks::mapped(&file, &map, head.len(), &closed.layout()).unwrap();
        assert_eq!(end, map.len());
        assert_eq!(back.len(), first.len());
        assert!(first.iter().all(|(id, _)| back.contains(id)));
        assert!(!back.contains("T-3000"));
        back.insert("T-3000", &task(None, 0));
        let all: Vec<(String, Task)> = back.iter().collect();
        assert_eq!(all.len(), 3001);
        assert_eq!(&all[..3000], &first[..]);
        assert_eq!(all[3000], ("T-3000".into(), task(None, 0)));
        assert!(back.contains("T-3000"));

        let mut short = closed.layout();
        short.rows += 1;
        assert!(ClosedTasks::mapped(&file, &map, head.len(), &short).is_err());
    }

    #[test]
    fn a_row_that_does_not_read_is_left_out() {
        let mut closed = ClosedTasks::default();
        closed.insert("T-1", &task(Some("a"), 0));
        closed.own.extend_from_slice(b"[\"T-2\", nonsense]\n");
        closed
            .own
            .extend_from_slice(b"[\"T-4\",null,null,0,9223372036854775807,0]\n");
        closed.insert("T-3", &task(Some("a"), 0));
        let ids: Vec<String> = closed.iter().map(|(id, _)| id).collect();
        assert_eq!(ids, ["T-1", "T-3"]);
    }
}
