//! What the demo tells: each step's commands (as a DBA would type them) and
//! findings, printed as they happen, and recorded for `--json`.

use serde::Serialize;
use serde_json::{Map, Value};
use std::io::Write;
use std::time::Instant;

/// A command shown for a step.
#[derive(Debug, Clone, Serialize)]
pub struct Shown {
    /// `shell` (a command line), `sql` (a statement), `conf` (a configuration
    /// line written to a file) or `pitr` (the pitr command doing the same).
    pub kind: &'static str,
    /// The text.
    pub text: String,
}

/// One step of the demo, as reported in `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct StepRecord {
    /// Stable step key (`cluster`, `backup`, `find`, ...).
    pub step: &'static str,
    /// What the step does.
    pub title: String,
    /// The commands run (or their equivalents), in order.
    pub commands: Vec<Shown>,
    /// What the step found (step-specific keys, see `docs/demo.md`).
    pub found: Map<String, Value>,
    /// The findings as printed.
    pub notes: Vec<String>,
    /// False when the step failed.
    pub ok: bool,
    /// The error, when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How long it took.
    pub duration_ms: u64,
}

/// Prints (unless `--json`) and records the steps.
#[derive(Debug)]
pub struct Reporter {
    json: bool,
    total: usize,
    /// The finished steps.
    pub steps: Vec<StepRecord>,
    current: Option<(StepRecord, Instant)>,
}

impl Reporter {
    /// A reporter for `total` steps.
    pub fn new(json: bool, total: usize) -> Reporter {
        Reporter { json, total, steps: Vec::new(), current: None }
    }

    /// Prints a line outside of the steps (text mode only).
    pub fn say(&self, line: &str) {
        if !self.json {
            let mut o = std::io::stdout().lock();
            let _ = writeln!(o, "{line}");
            let _ = o.flush();
        }
    }

    fn print(&self, line: &str) {
        self.say(line);
    }

    /// Starts a step (finishing the current one, if any).
    pub fn step(&mut self, key: &'static str, title: &str) {
        self.finish();
        let n = self.steps.len() + 1;
        self.print("");
        self.print(&format!("[{n}/{}] {title}", self.total));
        self.current = Some((
            StepRecord {
                step: key,
                title: title.to_string(),
                commands: Vec::new(),
                found: Map::new(),
                notes: Vec::new(),
                ok: true,
                error: None,
                duration_ms: 0,
            },
            Instant::now(),
        ));
    }

    fn push(&mut self, kind: &'static str, text: String, shown: String) {
        self.print(&shown);
        if let Some((s, _)) = self.current.as_mut() {
            s.commands.push(Shown { kind, text });
        }
    }

    /// A shell command.
    pub fn shell(&mut self, cmd: impl Into<String>) {
        let cmd = cmd.into();
        let shown = format!("  $ {cmd}");
        self.push("shell", cmd, shown);
    }

    /// The pitr command doing what the step does.
    pub fn pitr(&mut self, cmd: impl Into<String>) {
        let cmd = cmd.into();
        let shown = format!("  $ {cmd}");
        self.push("pitr", cmd, shown);
    }

    /// An SQL statement (several lines are indented together).
    pub fn sql(&mut self, sql: impl Into<String>) {
        let sql = sql.into();
        let shown = sql
            .lines()
            .enumerate()
            .map(|(i, l)| if i == 0 { format!("  sql> {l}") } else { format!("       {l}") })
            .collect::<Vec<_>>()
            .join("\n");
        self.push("sql", sql, shown);
    }

    /// A configuration line written to `file`.
    pub fn conf(&mut self, line: impl Into<String>) {
        let line = line.into();
        let shown = format!("       {line}");
        self.push("conf", line, shown);
    }

    /// A finding, printed as `  -> text`.
    pub fn note(&mut self, text: impl Into<String>) {
        let text = text.into();
        for (i, l) in text.lines().enumerate() {
            self.print(&if i == 0 { format!("  -> {l}") } else { format!("     {l}") });
        }
        if let Some((s, _)) = self.current.as_mut() {
            s.notes.push(text);
        }
    }

    /// Lines shown as they are (a plan, log lines), indented.
    pub fn block(&mut self, text: &str) {
        for l in text.lines() {
            self.print(&format!("     {l}"));
        }
    }

    /// A finding for `--json` only.
    pub fn set(&mut self, key: &str, value: impl Serialize) {
        if let Some((s, _)) = self.current.as_mut() {
            s.found.insert(key.to_string(), serde_json::to_value(value).unwrap_or(Value::Null));
        }
    }

    /// Marks the current step failed (the first error of a step is kept).
    pub fn fail(&mut self, error: &str) {
        self.print(&format!("  !! {error}"));
        if let Some((s, _)) = self.current.as_mut() {
            s.ok = false;
            s.error.get_or_insert_with(|| error.to_string());
        }
    }

    /// Finishes the current step.
    pub fn finish(&mut self) {
        if let Some((mut s, started)) = self.current.take() {
            s.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            self.steps.push(s);
        }
    }
}
