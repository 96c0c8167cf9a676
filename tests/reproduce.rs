//! `ips reproduce`: the summary of every small experiment of the plan, and a
//! failing experiment that does not stop the others.

mod common;

use common::{ips, root, stderr};

fn summary_rows(dir: &std::path::Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("summary.json")).expect("summary.json exists");
    let rows: serde_json::Value = serde_json::from_str(&text).expect("summary.json is JSON");
    rows.as_array().expect("summary.json is a list of rows").clone()
}

#[test]
fn small_plan_summarises_every_term_of_every_experiment() {
    let dir = tempfile::tempdir().unwrap();
    let plan = root().join("data/reproduce.toml");
    let output = ips(&["reproduce", "--small", "--plan", plan.to_str().unwrap(), "--out", dir.path().to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));

    let rows = summary_rows(dir.path());
    let cubic: Vec<&serde_json::Value> = rows.iter().filter(|r| r["experiment"] == "cubic-small").collect();
    // One row per dictionary term of data/experiments/cubic-small.toml.
    let terms: Vec<&str> = cubic.iter().map(|r| r["term"].as_str().unwrap()).collect();
    assert_eq!(terms, ["r^0", "r^1", "r^2", "r^3", "r^4", "r^5", "r^6", "r^7"]);
    for row in &cubic {
        let truth = if row["term"] == "r^2" { 3.0 } else { 0.0 };
        assert_eq!(row["true"].as_f64(), Some(truth), "{row}");
        assert!(row["w2_max"].as_f64().is_some_and(|w| w > 0.0 && w < 0.05), "{row}");
        // Small variants are not judged against the full runs' targets.
        assert!(row["within_target"].is_null(), "{row}");
    }
    let r2 = cubic.iter().find(|r| r["term"] == "r^2").unwrap();
    let learned = r2["learned"].as_f64().unwrap();
    assert!((learned - 3.0).abs() < 0.15, "c(r^2) = {learned}");
    assert!((r2["relative_error"].as_f64().unwrap() - (learned - 3.0).abs() / 3.0).abs() < 1e-12);
    let markdown = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(markdown.contains("## cubic-small"), "{markdown}");
}

#[test]
fn failed_experiment_is_reported_and_the_rest_still_run() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.toml");
    let text = std::fs::read_to_string(root().join("data/experiments/cubic-small.toml")).unwrap();
    // A dictionary term that is zero at every pair distance on the grid: the
    // learn stage refuses its column, after simulation and KDE ran.
    let text = text
        .replace("name = \"cubic-small\"", "name = \"broken\"")
        .replace("dictionary = [\"r^0\",", "dictionary = [\"1[50,60)\", \"r^0\",");
    std::fs::write(&broken, text).unwrap();
    let plan = dir.path().join("plan.toml");
    let cubic = root().join("data/experiments/cubic-small.toml");
    std::fs::write(
        &plan,
        format!(
            "[[experiment]]\nfile = '{}'\ntolerance = 0.5\n\n[[experiment]]\nfile = '{}'\n",
            broken.display(),
            cubic.display()
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    let output = ips(&["reproduce", "--plan", plan.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("1 of 2 experiments failed: broken"), "{}", stderr(&output));
    let rows = summary_rows(&out);
    assert!(!rows.is_empty() && rows.iter().all(|r| r["experiment"] == "cubic-small"), "{rows:?}");
    let markdown = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(markdown.contains("## broken") && markdown.contains("**Failed:**"), "{markdown}");
}
