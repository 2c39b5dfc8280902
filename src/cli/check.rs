//! `coord check DIR`: validates `coord.json` and `plan.json` without starting anything,
//! one line per file, so a typo is found before the console is started on a fleet.

use crate::config::{load_config, CONFIG_FILE};
use crate::model::plan::{load_plan, Plan, PLAN_FILE};
use std::io::Write;
use std::path::Path;

/// Validates the files of the coordination directory `dir`, writing `ok   …` or
/// `error …` for each to `out`. Returns true when everything is valid.
pub fn check(dir: &Path, out: &mut dyn Write) -> bool {
    // Write errors (a closed pipe) are ignored: the return value is the verdict.
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            let _ = writeln!(out, "error {}: not a directory", dir.display());
            return false;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let _ = writeln!(out, "error {}: no such directory", dir.display());
            return false;
        }
        Err(e) => {
            let _ = writeln!(out, "error {}: cannot open: {e}", dir.display());
            return false;
        }
    }

    let mut all_ok = true;
    let present = |name: &str| dir.join(name).exists();

    match load_config(dir) {
        Ok(_) if present(CONFIG_FILE) => {
            let _ = writeln!(out, "ok   {CONFIG_FILE}");
        }
        Ok(_) => {
            let _ = writeln!(out, "ok   {CONFIG_FILE} (not present: defaults)");
        }
        Err(e) => {
            let _ = writeln!(out, "error {e}");
            all_ok = false;
        }
    }

    match load_plan(dir) {
        Ok(Some(plan)) => {
            let _ = writeln!(out, "ok   {PLAN_FILE}: {}", summary(&plan));
        }
        Ok(None) => {
            let _ = writeln!(
                out,
                "ok   {PLAN_FILE} (not present: components from events)"
            );
        }
        Err(e) => {
            let _ = writeln!(out, "error {e}");
            all_ok = false;
        }
    }
    all_ok
}

/// `"Foundation Epic", 2 phases, 9 components, 12 agents (1 backup)`.
fn summary(plan: &Plan) -> String {
    let count =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut parts = Vec::new();
    if let Some(epic) = &plan.epic {
        // Debug quoting also escapes any control characters in the name.
        parts.push(format!("{epic:?}"));
    }
    parts.push(count(plan.phases.len(), "phase", "phases"));
    parts.push(count(plan.components().count(), "component", "components"));
    let mut agents = count(plan.agents.len(), "agent", "agents");
    let backups = plan.backup_agents().count();
    if backups > 0 {
        agents.push_str(&format!(" ({backups} backup)"));
    }
    parts.push(agents);
    let budgets = plan
        .phases
        .iter()
        .filter(|p| p.budget_usd.is_some())
        .count()
        + plan
            .agents
            .iter()
            .filter(|a| a.budget_usd.is_some())
            .count();
    if budgets > 0 {
        parts.push(count(budgets, "budget", "budgets"));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(dir: &Path) -> (bool, String) {
        let mut out = Vec::new();
        let ok = check(dir, &mut out);
        (ok, String::from_utf8(out).unwrap())
    }

    #[test]
    fn good_files_pass() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            include_str!("../../assets/coord.example.json"),
        )
        .unwrap();
        std::fs::write(
            dir.path().join(PLAN_FILE),
            include_str!("../../assets/plan.example.json"),
        )
        .unwrap();
        let (ok, text) = run(dir.path());
        assert!(ok, "{text}");
        assert_eq!(
            text,
            "ok   coord.json\n\
             ok   plan.json: \"Foundation Epic\", 2 phases, 9 components, 12 agents (1 backup), 2 budgets\n"
        );
    }

    #[test]
    fn an_empty_directory_is_all_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let (ok, text) = run(dir.path());
        assert!(ok, "{text}");
        assert_eq!(
            text,
            "ok   coord.json (not present: defaults)\n\
             ok   plan.json (not present: components from events)\n"
        );
    }

    #[test]
    fn a_bad_config_fails_naming_the_key_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            r#"{"crisis_response_config":{"bogus_key":1}}"#,
        )
        .unwrap();
        std::fs::write(
            dir.path().join(PLAN_FILE),
            r#"{"phases":[{"id":"p","components":[{"id":"c"}]}]}"#,
        )
        .unwrap();
        let (ok, text) = run(dir.path());
        assert!(!ok);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("error "), "{text}");
        assert!(
            lines[0].contains("coord.json: crisis_response_config.bogus_key: unknown key"),
            "{text}"
        );
        assert_eq!(lines[1], "ok   plan.json: 1 phase, 1 component, 0 agents");
    }

    #[test]
    fn a_bad_plan_fails() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(PLAN_FILE), r#"{"phases":[]}"#).unwrap();
        let (ok, text) = run(dir.path());
        assert!(!ok);
        assert!(
            text.contains("error ") && text.contains("plan.json: phases: at least one phase"),
            "{text}"
        );
    }

    #[test]
    fn a_budget_must_be_a_positive_amount() {
        let dir = tempfile::tempdir().unwrap();
        for (plan, path) in [
            (
                r#"{"phases":[{"id":"p","budget_usd":-5}]}"#,
                "phases[0].budget_usd",
            ),
            (
                r#"{"phases":[{"id":"p"}],"agents":[{"id":"a","budget_usd":0}]}"#,
                "agents[0].budget_usd",
            ),
            (
                r#"{"phases":[{"id":"p","budget_usd":"ten"}]}"#,
                "phases[0].budget_usd",
            ),
        ] {
            std::fs::write(dir.path().join(PLAN_FILE), plan).unwrap();
            let (ok, text) = run(dir.path());
            assert!(!ok, "{plan}");
            assert!(text.contains(path), "{plan}: {text}");
        }
    }

    #[test]
    fn a_missing_directory_or_a_file_fails() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let (ok, text) = run(&missing);
        assert!(!ok);
        assert_eq!(
            text,
            format!("error {}: no such directory\n", missing.display())
        );

        let file = dir.path().join("file");
        std::fs::write(&file, "").unwrap();
        let (ok, text) = run(&file);
        assert!(!ok);
        assert!(text.ends_with(": not a directory\n"), "{text}");
    }
}
