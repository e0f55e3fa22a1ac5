//! The one-pass project run against the reference on a real code base nobody here wrote: every
//! file checked against the complete index (summaries of all files first, then each file's
//! check), which is what the command line did before the one-pass run and what the language
//! server does. The findings must be the same, file by file, without a cache, filling one, and
//! from it.
//!
//! `.ci/run` downloads a real project and runs this with `AIOLINT_DIFFERENTIAL_DIR` naming its
//! folder; without the variable the test fails rather than pass without checking anything.

#![allow(
    clippy::print_stdout,
    reason = "the test reports how much it compared, for the CI log"
)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use analyzer::{
    Cache, Diagnostic, ModuleName, ParsedModule, ProjectFile, ProjectIndex, Settings, SourceFile,
    Workspace, check_file, check_in_project, check_project, module_names, summarize,
};

struct Files(Vec<SourceFile>);

impl Workspace for Files {
    fn read(&self, position: usize) -> Result<SourceFile, Box<Diagnostic>> {
        self.0
            .get(position)
            .cloned()
            .ok_or_else(|| Box::new(analyzer::io_error("no such file")))
    }
}

/// A cache in memory: entries written by one run are read by the next.
#[derive(Default)]
struct Memory {
    entries: Mutex<HashMap<u128, Vec<u8>>>,
    frozen: HashMap<u128, Vec<u8>>,
}

impl Cache for Memory {
    fn salt(&self) -> u64 {
        1
    }
    fn get(&self, key: u128) -> Option<&[u8]> {
        self.frozen.get(&key).map(Vec::as_slice)
    }
    fn put(&self, key: u128, entry: Vec<u8>) {
        self.entries.lock().expect("lock").insert(key, entry);
    }
    fn keep(&self, _key: u128) {}
    fn last_run(&self) -> Option<&[u8]> {
        None
    }
    fn set_last_run(&self, _record: Vec<u8>) {}
}

fn python_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(directory) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&directory) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "py") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

#[test]
#[ignore = "needs a real project: .ci/run downloads one and sets AIOLINT_DIFFERENTIAL_DIR"]
fn one_pass_gives_what_checking_each_file_against_the_complete_index_gives() {
    let dir = PathBuf::from(
        std::env::var_os("AIOLINT_DIFFERENTIAL_DIR")
            .expect("AIOLINT_DIFFERENTIAL_DIR names a folder of Python files"),
    );
    let settings = Settings::default();
    let mut sources = Vec::new();
    for path in python_files(&dir) {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let module: ModuleName = module_names(&path, Some(&dir), &|p: &Path| p.is_file());
        sources.push((SourceFile::new(path.display().to_string(), text), module));
    }
    assert!(
        sources.len() > 50,
        "{} files in {}",
        sources.len(),
        dir.display()
    );

    // The reference: every summary first, then each file against the complete index.
    let parsed: Vec<Option<ParsedModule>> = sources
        .iter()
        .map(|(file, _)| ParsedModule::parse(&file.text))
        .collect();
    let summaries = sources
        .iter()
        .zip(&parsed)
        .filter_map(|((file, module), parsed)| {
            Some(Arc::new(summarize(
                file,
                parsed.as_ref()?,
                module,
                &settings,
            )))
        })
        .collect();
    let index = ProjectIndex::new(summaries);
    let expected: Vec<Vec<Diagnostic>> = sources
        .iter()
        .zip(&parsed)
        .map(|((file, module), parsed)| match parsed {
            Some(parsed) => check_in_project(file, parsed, module, &index, &settings),
            None => check_file(file, &settings),
        })
        .collect();

    let files: Vec<ProjectFile> = sources
        .iter()
        .map(|(file, module)| ProjectFile {
            path: file.path.clone(),
            module: module.clone(),
        })
        .collect();
    let workspace = Arc::new(Files(sources.iter().map(|(f, _)| f.clone()).collect()));
    let run = |cache: Option<Arc<dyn Cache>>| {
        let outcome = check_project(files.clone(), settings.clone(), workspace.clone(), cache);
        let found: Vec<Vec<Diagnostic>> =
            outcome.files.into_iter().map(|f| f.diagnostics).collect();
        (found, outcome.statistics)
    };
    let compare = |found: &[Vec<Diagnostic>], what: &str| {
        for ((file, _), (found, expected)) in sources.iter().zip(found.iter().zip(&expected)) {
            assert_eq!(found, expected, "{what}: {}", file.path);
        }
    };
    let (cold, _) = run(None);
    compare(&cold, "one pass");
    let filling = Arc::new(Memory::default());
    let (filled, _) = run(Some(filling.clone()));
    compare(&filled, "one pass filling a cache");
    let entries = std::mem::take(&mut *filling.entries.lock().expect("lock"));
    let warm = Arc::new(Memory {
        frozen: entries,
        ..Memory::default()
    });
    let (warm_found, statistics) = run(Some(warm));
    compare(&warm_found, "one pass from the cache");
    assert_eq!(statistics.analysed, 0, "{statistics:?}");
    println!(
        "{} files, {} findings the same both ways (from the cache: {})",
        sources.len(),
        expected.iter().map(Vec::len).sum::<usize>(),
        statistics.cached
    );
}
