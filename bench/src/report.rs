//! The results table: each figure beside its baseline and target.

use std::fmt::Write;

pub struct Row {
    pub section: &'static str,
    pub what: String,
    pub value: String,
    pub baseline: String,
    pub ratio: String,
    pub target: String,
    pub met: Option<bool>,
}

impl Row {
    pub fn new(section: &'static str, what: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            section,
            what: what.into(),
            value: value.into(),
            baseline: String::new(),
            ratio: String::new(),
            target: String::new(),
            met: None,
        }
    }

    pub fn baseline(mut self, baseline: impl Into<String>, ratio: f64) -> Self {
        self.baseline = baseline.into();
        self.ratio = format!("{ratio:.2}×");
        self
    }

    pub fn target(mut self, target: impl Into<String>, met: bool) -> Self {
        self.target = target.into();
        self.met = Some(met);
        self
    }
}

#[derive(Default)]
pub struct Report {
    pub rows: Vec<Row>,
    pub notes: Vec<String>,
}

impl Report {
    pub fn push(&mut self, row: Row) {
        println!(
            "{:<9} {:<46} {:>14}  {:>14} {:>9}  {}{}",
            row.section,
            row.what,
            row.value,
            row.baseline,
            row.ratio,
            row.target,
            match row.met {
                Some(true) => "  met",
                Some(false) => "  MISSED",
                None => "",
            }
        );
        self.rows.push(row);
    }

    pub fn note(&mut self, note: impl Into<String>) {
        let note = note.into();
        println!("          note: {note}");
        self.notes.push(note);
    }

    /// The table in Markdown.
    pub fn markdown(&self) -> String {
        let mut out = String::from(
            "| | Benchmark | quorate | Baseline | Ratio | Target | Met |\n\
             |---|---|---:|---:|---:|---|---|\n",
        );
        for r in &self.rows {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                r.section,
                r.what,
                r.value,
                r.baseline,
                r.ratio,
                r.target,
                match r.met {
                    Some(true) => "yes",
                    Some(false) => "**no**",
                    None => "",
                }
            );
        }
        if !self.notes.is_empty() {
            out.push('\n');
            for n in &self.notes {
                let _ = writeln!(out, "- {n}");
            }
        }
        out
    }
}
