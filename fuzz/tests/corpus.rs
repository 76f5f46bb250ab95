//! Every file of `fuzz/corpus/<target>/` through its target, as the fuzzer
//! ran it: a panic is a bug the fuzzer found (or one that came back). Each
//! target has a corpus, and each corpus directory a target.

use std::path::Path;

use quorate_fuzz::TARGETS;

#[test]
fn every_corpus_input_runs_through_its_target_without_a_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut total = 0;
    for target in TARGETS {
        let dir = root.join(target.name);
        let mut inputs: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}; run the seed_corpus example", dir.display()))
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        inputs.sort();
        assert!(
            !inputs.is_empty(),
            "target {} has an empty corpus",
            target.name
        );
        for path in &inputs {
            let input = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            // Name the input if the target panics on it.
            let run = std::panic::catch_unwind(|| (target.run)(&input));
            assert!(
                run.is_ok(),
                "target {} panicked on {}",
                target.name,
                path.display()
            );
        }
        total += inputs.len();
    }
    println!("{total} corpus inputs of {} targets ran", TARGETS.len());
}

#[test]
fn every_corpus_directory_is_a_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for entry in std::fs::read_dir(&root).unwrap_or_else(|e| panic!("{}: {e}", root.display())) {
        let name = entry
            .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
            .file_name();
        let name = name.to_string_lossy();
        assert!(
            TARGETS.iter().any(|t| t.name == name),
            "corpus/{name} is the corpus of no target"
        );
    }
}

#[test]
fn every_target_has_a_libfuzzer_binary() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("libfuzzer/Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .unwrap_or_else(|e| panic!("{}: {e}", manifest.display()));
    for target in TARGETS {
        assert!(
            text.contains(&format!("[[bin]]\nname = \"{}\"\n", target.name)),
            "{} has no [[bin]] for target {}",
            manifest.display(),
            target.name
        );
    }
}
