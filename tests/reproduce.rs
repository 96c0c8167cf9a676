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
fn small_plan_summarises_every_term() {
    let dir = tempfile::tempdir().unwrap();
    let plan = root().join("data/reproduce.toml");
    // The two quickest experiments; the small variants of the others have
    // their own end-to-end tests, and the 2D ones take minutes.
    let output = ips(&[
        "reproduce",
        "--small",
        "--plan",
        plan.to_str().unwrap(),
        "--out",
        dir.path().to_str().unwrap(),
        "--only",
        "cubic-small",
        // The full run's name selects its small variant as well.
        "--only",
        "power-law",
    ]);
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
    let power_law: Vec<&str> = rows
        .iter()
        .filter(|r| r["experiment"] == "power-law-small")
        .map(|r| r["term"].as_str().unwrap())
        .collect();
    assert_eq!(power_law.len(), 9, "r^0..r^7 and the cut-off 1/r: {power_law:?}");
    let markdown = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(markdown.contains("## cubic-small"), "{markdown}");
    assert!(markdown.contains("## power-law-small"), "{markdown}");
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

#[test]
fn joint_fit_and_free_energy_figure_of_two_runs() {
    let dir = tempfile::tempdir().unwrap();
    let cubic = root().join("data/experiments/cubic-small.toml");
    let plan = dir.path().join("plan.toml");
    std::fs::write(
        &plan,
        format!(
            "[[experiment]]\nname = 'first'\nfile = '{0}'\nset = ['seed=1']\n\n\
             [[experiment]]\nname = 'second'\nfile = '{0}'\nset = ['seed=2']\n\n\
             [[joint]]\nname = 'both'\nmembers = ['first', 'second']\n\n\
             [[free_energy]]\nname = 'energy'\nmembers = ['first', 'second']\n",
            cubic.display()
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    let output = ips(&["reproduce", "--plan", plan.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));

    let rows = summary_rows(&out);
    for name in ["first", "second", "both"] {
        assert_eq!(rows.iter().filter(|r| r["experiment"] == name).count(), 8, "{name}: {rows:?}");
    }
    let joint = rows.iter().find(|r| r["experiment"] == "both" && r["term"] == "r^2").unwrap();
    let learned = joint["learned"].as_f64().unwrap();
    assert!((learned - 3.0).abs() < 0.15, "joint c(r^2) = {learned}");
    // The joint fit has no forward check of its own.
    assert!(joint["w2_max"].is_null(), "{joint}");
    let model = std::fs::read_to_string(out.join("both/model.json")).unwrap();
    let model: serde_json::Value = serde_json::from_str(&model).unwrap();
    let inputs = model["provenance"]["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 2, "one density per member: {inputs:?}");
    assert!(out.join("energy.png").exists() && out.join("energy.svg").exists());
    let markdown = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(markdown.contains("## Free energies") && markdown.contains("energy.png"), "{markdown}");
}
