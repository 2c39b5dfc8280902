//! `plan.json` (SPEC 7): the epic, its ordered phases, their weighted components and
//! quality gates, the completion criteria, and the agents with their capabilities.
//! Plain data, read as strictly as `coord.json` and with the same error reporting.

use crate::config::{object_list, parse_json, read_optional, Checker, ConfigError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

/// The plan file's name inside the coordination directory.
pub const PLAN_FILE: &str = "plan.json";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    #[serde(default)]
    pub epic: Option<String>,
    /// In order; the first is current until it completes.
    #[serde(default, deserialize_with = "object_list")]
    pub phases: Vec<PhasePlan>,
    #[serde(default, deserialize_with = "object_list")]
    pub agents: Vec<AgentPlan>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhasePlan {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "rfc3339")]
    pub target: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "object_list")]
    pub components: Vec<ComponentPlan>,
    /// Group (e.g. `technical`) → criteria that `criterion_met` events must confirm.
    #[serde(default)]
    pub criteria: BTreeMap<String, Vec<String>>,
    /// Spend past this opens `budget_exceeded`; 80 % of it tells the PM channel.
    #[serde(default)]
    pub budget_usd: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentPlan {
    pub id: String,
    /// Share of the phase's completion; finite and > 0.
    #[serde(default = "default_weight")]
    pub weight: f64,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub gates: Vec<String>,
    /// Needed by whoever takes over this component's tasks.
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Component ids (in any phase).
    #[serde(default)]
    pub depends_on: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentPlan {
    pub id: String,
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// A backup stands by until activated by an agent timeout.
    #[serde(default)]
    pub backup: bool,
    /// As a phase's: spend past it opens `budget_exceeded`.
    #[serde(default)]
    pub budget_usd: Option<f64>,
}

fn default_weight() -> f64 {
    1.0
}

/// Strict RFC 3339 (with a zone), so a plan's deadline never shifts with the machine's
/// time zone; the message shows the expected shape.
fn rfc3339<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let Some(text) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    DateTime::parse_from_rfc3339(&text)
        .map(|t| Some(t.with_timezone(&Utc)))
        .map_err(|e| {
            serde::de::Error::custom(format!(
                "{text:?} is not an RFC 3339 date-time ({e}); expected e.g. \"2026-12-15T00:00:00Z\""
            ))
        })
}

/// Reads `DIR/plan.json`; a missing file means no plan (`Ok(None)`).
pub fn load_plan(dir: &Path) -> Result<Option<Plan>, ConfigError> {
    let file = dir.join(PLAN_FILE);
    match read_optional(&file)? {
        Some(text) => parse_plan(&text, &file).map(Some),
        None => Ok(None),
    }
}

/// Parses and validates the text of a `plan.json`; `file` is only used in errors.
pub fn parse_plan(text: &str, file: &Path) -> Result<Plan, ConfigError> {
    let plan: Plan = parse_json(text, file)?;
    plan.validate(file)?;
    Ok(plan)
}

impl Plan {
    /// Checks what serde cannot: presence, unique ids, weights, the dependency graph,
    /// gate names.
    pub fn validate(&self, file: &Path) -> Result<(), ConfigError> {
        let c = Checker { file };
        let nonempty = |path: &str, text: &str, what: &str| {
            if text.trim().is_empty() {
                Err(c.fail(path, format!("{what} must not be empty")))
            } else {
                Ok(())
            }
        };
        if self.phases.is_empty() {
            return Err(c.fail("phases", "at least one phase is required"));
        }

        // Ids are looked up everywhere (events name them), so each must be unique.
        let mut phase_ids: HashMap<&str, String> = HashMap::new();
        let mut component_ids: HashMap<&str, String> = HashMap::new();
        for (p, phase) in self.phases.iter().enumerate() {
            let path = format!("phases[{p}].id");
            nonempty(&path, &phase.id, "a phase id")?;
            if let Some(first) = phase_ids.insert(&phase.id, path.clone()) {
                return Err(c.fail(
                    &path,
                    format!("duplicate phase id {:?} (first at {first})", phase.id),
                ));
            }
            if let Some(b) = phase.budget_usd {
                c.positive(&format!("phases[{p}].budget_usd"), b)?;
            }
            for (group, items) in &phase.criteria {
                let path = format!("phases[{p}].criteria.{group}");
                nonempty(&path, group, "a criteria group name")?;
                for (i, item) in items.iter().enumerate() {
                    nonempty(&format!("{path}[{i}]"), item, "a criterion")?;
                }
            }
            for (k, comp) in phase.components.iter().enumerate() {
                let at = format!("phases[{p}].components[{k}]");
                let path = format!("{at}.id");
                nonempty(&path, &comp.id, "a component id")?;
                if let Some(first) = component_ids.insert(&comp.id, path.clone()) {
                    return Err(c.fail(
                        &path,
                        format!("duplicate component id {:?} (first at {first})", comp.id),
                    ));
                }
                c.positive(&format!("{at}.weight"), comp.weight)?;
                let mut gates = HashSet::new();
                for (g, gate) in comp.gates.iter().enumerate() {
                    let path = format!("{at}.gates[{g}]");
                    nonempty(&path, gate, "a gate name")?;
                    if !gates.insert(gate) {
                        return Err(c.fail(
                            &path,
                            format!("duplicate gate {gate:?} in component {:?}", comp.id),
                        ));
                    }
                }
            }
        }

        let mut agent_ids: HashMap<&str, String> = HashMap::new();
        for (a, agent) in self.agents.iter().enumerate() {
            let path = format!("agents[{a}].id");
            nonempty(&path, &agent.id, "an agent id")?;
            if let Some(first) = agent_ids.insert(&agent.id, path.clone()) {
                return Err(c.fail(
                    &path,
                    format!("duplicate agent id {:?} (first at {first})", agent.id),
                ));
            }
            if let Some(b) = agent.budget_usd {
                c.positive(&format!("agents[{a}].budget_usd"), b)?;
            }
        }

        self.check_dependencies(&c)
    }

    /// Every `depends_on` names a known component and the graph has no cycle (a cycle
    /// would make its components impossible to start).
    fn check_dependencies(&self, c: &Checker) -> Result<(), ConfigError> {
        // Components flattened across phases, with the key path of each.
        let flat: Vec<(String, &ComponentPlan)> = self
            .phases
            .iter()
            .enumerate()
            .flat_map(|(p, phase)| {
                phase
                    .components
                    .iter()
                    .enumerate()
                    .map(move |(k, comp)| (format!("phases[{p}].components[{k}]"), comp))
            })
            .collect();
        let index: HashMap<&str, usize> = flat
            .iter()
            .enumerate()
            .map(|(i, (_, comp))| (comp.id.as_str(), i))
            .collect();
        let mut deps: Vec<Vec<usize>> = Vec::with_capacity(flat.len());
        for (at, comp) in &flat {
            let mut list = Vec::with_capacity(comp.depends_on.len());
            for (d, name) in comp.depends_on.iter().enumerate() {
                match index.get(name.as_str()) {
                    Some(&i) => list.push(i),
                    None => {
                        return Err(c.fail(
                            format!("{at}.depends_on[{d}]"),
                            format!("unknown component {name:?}"),
                        ))
                    }
                }
            }
            deps.push(list);
        }

        // Iterative depth-first search (no recursion, so no stack limit on long chains):
        // meeting a component that is still on the path closes a cycle.
        const NEW: u8 = 0;
        const ON_PATH: u8 = 1;
        const DONE: u8 = 2;
        let mut state = vec![NEW; flat.len()];
        for start in 0..flat.len() {
            if state[start] != NEW {
                continue;
            }
            state[start] = ON_PATH;
            let mut path: Vec<(usize, usize)> = vec![(start, 0)];
            while let Some(&(node, next)) = path.last() {
                let Some(&dep) = deps[node].get(next) else {
                    state[node] = DONE;
                    path.pop();
                    continue;
                };
                if let Some(top) = path.last_mut() {
                    top.1 += 1;
                }
                match state[dep] {
                    NEW => {
                        state[dep] = ON_PATH;
                        path.push((dep, 0));
                    }
                    ON_PATH => {
                        let from = path.iter().position(|&(n, _)| n == dep).unwrap_or(0);
                        let cycle: Vec<&str> = path[from..]
                            .iter()
                            .map(|&(n, _)| flat[n].1.id.as_str())
                            .chain([flat[dep].1.id.as_str()])
                            .collect();
                        return Err(c.fail(
                            format!("{}.depends_on[{next}]", flat[node].0),
                            format!("dependency cycle: {}", cycle.join(" -> ")),
                        ));
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// The phase's display name (its `name`, else its id).
    pub fn phase_name(&self, index: usize) -> Option<&str> {
        self.phases.get(index).map(PhasePlan::display_name)
    }

    /// Position of the phase with this id.
    pub fn phase_index(&self, id: &str) -> Option<usize> {
        self.phases.iter().position(|p| p.id == id)
    }

    /// Every component with its phase, in plan order.
    pub fn components(&self) -> impl Iterator<Item = (&PhasePlan, &ComponentPlan)> {
        self.phases
            .iter()
            .flat_map(|p| p.components.iter().map(move |c| (p, c)))
    }

    /// The component with this id and the phase holding it.
    pub fn component(&self, id: &str) -> Option<(&PhasePlan, &ComponentPlan)> {
        self.components().find(|(_, c)| c.id == id)
    }

    pub fn agent(&self, id: &str) -> Option<&AgentPlan> {
        self.agents.iter().find(|a| a.id == id)
    }

    pub fn backup_agents(&self) -> impl Iterator<Item = &AgentPlan> {
        self.agents.iter().filter(|a| a.backup)
    }
}

impl PhasePlan {
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Plan, ConfigError> {
        parse_plan(text, Path::new("plan.json"))
    }

    #[track_caller]
    fn refused(text: &str, key_path: &str, needle: &str) {
        let err = parse(text).expect_err(text);
        assert_eq!(err.key_path, key_path, "{err}");
        assert!(err.message.contains(needle), "{err:?} lacks {needle:?}");
    }

    /// SPEC 7's example, verbatim.
    const SPEC_EXAMPLE: &str = r#"{"epic":"Foundation Epic",
 "phases":[{"id":"phase-1","name":"Phase 1","target":"2026-12-15T00:00:00Z",
   "components":[{"id":"auth-api","weight":2,"owner":"backend-1",
                  "gates":["unit_tests","integration_tests","security_scan"],
                  "capabilities":["rust"],"depends_on":[]}],
   "criteria":{"technical":["integration tests","performance benchmarks"],
               "process":["documentation","code review"],
               "accountability":["audit trail complete"]}}],
 "agents":[{"id":"backend-1","capabilities":["rust"]},
           {"id":"spare-1","capabilities":["rust"],"backup":true}]}"#;

    /// Two phases with the given components: `(id, depends_on)`, split after `split`.
    fn graph(components: &[(&str, &[&str])], split: usize) -> String {
        let comp = |(id, deps): &(&str, &[&str])| serde_json::json!({"id": id, "depends_on": deps});
        let (a, b) = components.split_at(split);
        serde_json::json!({"phases": [
            {"id": "p1", "components": a.iter().map(comp).collect::<Vec<_>>()},
            {"id": "p2", "components": b.iter().map(comp).collect::<Vec<_>>()},
        ]})
        .to_string()
    }

    #[test]
    fn spec_example_parses() {
        let plan = parse(SPEC_EXAMPLE).unwrap();
        assert_eq!(plan.epic.as_deref(), Some("Foundation Epic"));
        let (phase, comp) = plan.component("auth-api").unwrap();
        assert_eq!((phase.id.as_str(), comp.weight), ("phase-1", 2.0));
        assert_eq!(comp.gates.len(), 3);
        assert_eq!(
            phase.target.unwrap().to_rfc3339(),
            "2026-12-15T00:00:00+00:00"
        );
        assert_eq!(phase.criteria["process"], ["documentation", "code review"]);
        assert_eq!(plan.phase_name(0), Some("Phase 1"));
        assert!(plan.agent("spare-1").unwrap().backup);
        assert!(!plan.agent("backend-1").unwrap().backup);
        assert_eq!(plan.backup_agents().count(), 1);
        // And it survives a round trip through its own serialization.
        assert_eq!(parse(&serde_json::to_string(&plan).unwrap()).unwrap(), plan);
    }

    #[test]
    fn defaults_fill_the_optional_fields() {
        let plan = parse(r#"{"phases":[{"id":"p","components":[{"id":"c"}]}]}"#).unwrap();
        let (phase, comp) = plan.component("c").unwrap();
        assert_eq!(comp.weight, 1.0);
        assert_eq!(phase.display_name(), "p");
        assert!(plan.agents.is_empty() && plan.epic.is_none() && phase.target.is_none());
    }

    #[test]
    fn example_file_parses() {
        let plan = parse(include_str!("../../assets/plan.example.json")).unwrap();
        assert_eq!(plan.phases.len(), 2);
        assert_eq!(plan.components().count(), 9);
        assert_eq!(plan.agents.len(), 12);
        assert_eq!(plan.backup_agents().count(), 1);
    }

    #[test]
    fn structure_errors_carry_the_key_path() {
        refused(
            r#"{"phases":[{"id":"p","components":[{"id":"c","wieght":2}]}]}"#,
            "phases[0].components[0].wieght",
            "unknown key; expected one of: id, weight",
        );
        refused(
            r#"{"phases":[{"id":"p"}],"agents":[{"id":"a","spare":true}]}"#,
            "agents[0].spare",
            "unknown key",
        );
        refused(
            r#"{"phases":[{"id":"p","components":[{"id":"c","weight":"2"}]}]}"#,
            "phases[0].components[0].weight",
            "expected a number",
        );
        refused(
            r#"{"phases":[{"name":"x"}]}"#,
            "phases[0]",
            "missing field `id`",
        );
        refused(
            r#"{"phases":[["p"]]}"#,
            "phases[0]",
            "expected a JSON object",
        );
        refused(r#"{"phases":[{"id":"p"}]"#, "", "EOF while parsing");
    }

    #[test]
    fn empty_or_duplicate_ids_are_refused() {
        refused("{}", "phases", "at least one phase");
        refused(
            r#"{"phases":[{"id":"p"},{"id":"p"}]}"#,
            "phases[1].id",
            "duplicate phase id \"p\" (first at phases[0].id)",
        );
        refused(
            r#"{"phases":[{"id":" "}]}"#,
            "phases[0].id",
            "must not be empty",
        );
        refused(
            r#"{"phases":[{"id":"p1","components":[{"id":"c"}]},{"id":"p2","components":[{"id":"d"},{"id":"c"}]}]}"#,
            "phases[1].components[1].id",
            "duplicate component id \"c\" (first at phases[0].components[0].id)",
        );
        refused(
            r#"{"phases":[{"id":"p"}],"agents":[{"id":"a"},{"id":"b"},{"id":"a"}]}"#,
            "agents[2].id",
            "duplicate agent id",
        );
        refused(
            r#"{"phases":[{"id":"p"}],"agents":[{"id":""}]}"#,
            "agents[0].id",
            "must not be empty",
        );
    }

    #[test]
    fn bad_weights_gates_and_targets_are_refused() {
        refused(
            r#"{"phases":[{"id":"p","components":[{"id":"a"},{"id":"b","weight":0}]}]}"#,
            "phases[0].components[1].weight",
            "greater than 0",
        );
        refused(
            r#"{"phases":[{"id":"p","components":[{"id":"a","weight":-2}]}]}"#,
            "phases[0].components[0].weight",
            "got -2",
        );
        refused(
            r#"{"phases":[{"id":"p","components":[{"id":"a","gates":["unit","lint","unit"]}]}]}"#,
            "phases[0].components[0].gates[2]",
            "duplicate gate \"unit\"",
        );
        refused(
            r#"{"phases":[{"id":"p","target":"next week"}]}"#,
            "phases[0].target",
            "not an RFC 3339 date-time",
        );
        refused(
            r#"{"phases":[{"id":"p","target":"2026-12-15T00:00:00"}]}"#,
            "phases[0].target",
            "expected e.g. \"2026-12-15T00:00:00Z\"",
        );
        refused(
            r#"{"phases":[{"id":"p","target":20261215}]}"#,
            "phases[0].target",
            "expected a string",
        );
        refused(
            r#"{"phases":[{"id":"p","criteria":{"technical":[""]}}]}"#,
            "phases[0].criteria.technical[0]",
            "must not be empty",
        );
    }

    #[test]
    fn dependencies_must_exist_and_not_cycle() {
        refused(
            &graph(&[("a", &[]), ("b", &["a", "zz"])], 1),
            "phases[1].components[0].depends_on[1]",
            "unknown component \"zz\"",
        );
        refused(
            &graph(&[("a", &["a"])], 1),
            "phases[0].components[0].depends_on[0]",
            "dependency cycle: a -> a",
        );
        refused(
            &graph(&[("a", &["c"]), ("b", &["a"]), ("c", &["b"])], 2),
            "phases[0].components[1].depends_on[0]",
            "dependency cycle: a -> c -> b -> a",
        );
        // Shared dependencies (a diamond) are not a cycle; nor are cross-phase ones.
        parse(&graph(
            &[("a", &[]), ("b", &["a"]), ("c", &["a"]), ("d", &["b", "c"])],
            2,
        ))
        .unwrap();
    }

    #[test]
    fn load_is_none_without_a_file() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load_plan(dir.path()).unwrap(), None);
        std::fs::write(dir.path().join(PLAN_FILE), SPEC_EXAMPLE).unwrap();
        assert!(load_plan(dir.path()).unwrap().is_some());
    }
}
