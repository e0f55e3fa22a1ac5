//! The project-index target: small projects of up to six modules whose imports form cycles,
//! re-export names (`from x import *`, `__all__`, assignments), and import themselves, with
//! sync helpers that block and coroutines that call them across modules.

use std::fmt::Write as _;
use std::sync::Arc;

use analyzer::{
    Diagnostic, ModuleName, ParsedModule, ProjectFile, ProjectIndex, Settings, SourceFile,
    Workspace, check_file, check_in_project, check_project, io_error, summarize,
};
use arbitrary::{Result, Unstructured};

/// The modules a project can have: (dotted name, path, is a package).
const MODULES: &[(&str, &str, bool)] = &[
    ("a", "a.py", false),
    ("b", "b.py", false),
    ("c", "c.py", false),
    ("pkg", "pkg/__init__.py", true),
    ("pkg.a", "pkg/a.py", false),
    ("pkg.b", "pkg/b.py", false),
];

/// Names that imports refer to: the modules, their leaves, and one that does not exist.
const IMPORTED: &[&str] = &["a", "b", "c", "pkg", "pkg.a", "pkg.b", "missing"];
const LEAVES: &[&str] = &["a", "b", "c", "missing"];
const FUNCTIONS: &[&str] = &["f0", "f1", "f2", "main", "Client"];

/// What a sync helper or a coroutine does.
const CALLS: &[&str] = &[
    "pass",
    "time.sleep(1)",
    "requests.get(url)",
    "asyncio.run(main())",
    "open('x').read()",
];

struct Files(Vec<SourceFile>);

impl Workspace for Files {
    fn read(&self, position: usize) -> std::result::Result<SourceFile, Box<Diagnostic>> {
        self.0
            .get(position)
            .cloned()
            .ok_or_else(|| Box::new(io_error("no such file")))
    }
}

/// Checks one project decoded from `data`: the one-pass run against every file checked
/// against the complete index.
pub fn project(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(sources) = decode(&mut u) else {
        return;
    };
    let settings = Settings::default();
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
    let files = sources
        .iter()
        .map(|(file, module)| ProjectFile {
            path: file.path.clone(),
            module: module.clone(),
        })
        .collect();
    let workspace = Arc::new(Files(sources.iter().map(|(f, _)| f.clone()).collect()));
    let outcome = check_project(files, settings, workspace, None);
    for ((file, _), (found, expected)) in sources.iter().zip(outcome.files.iter().zip(&expected)) {
        assert_eq!(
            &found.diagnostics,
            expected,
            "{}: the one-pass run differs from a check against the complete index\n{}",
            file.path,
            describe(&sources)
        );
    }
}

/// The project's files, for a failure's message.
fn describe(sources: &[(SourceFile, ModuleName)]) -> String {
    let mut out = String::new();
    for (file, _) in sources {
        let _ = write!(out, "--- {}\n{}", file.path, file.text);
    }
    out
}

fn decode(u: &mut Unstructured<'_>) -> Result<Vec<(SourceFile, ModuleName)>> {
    let mut chosen: Vec<usize> = (0..MODULES.len()).collect();
    let count = u.int_in_range(1..=MODULES.len())?;
    let mut sources = Vec::new();
    for _ in 0..count {
        let pick = u.choose_index(chosen.len())?;
        let (name, path, is_package) = MODULES[chosen.swap_remove(pick)];
        let mut text = String::from("import asyncio\nimport time\n");
        for _ in 0..u.int_in_range(1..=10)? {
            statement(u, name, &mut text)?;
        }
        let module = ModuleName {
            names: vec![name.to_string()],
            is_package,
        };
        sources.push((SourceFile::new(path, text), module));
    }
    Ok(sources)
}

/// Appends one top-level statement of module `own` to `text`.
fn statement(u: &mut Unstructured<'_>, own: &str, text: &mut String) -> Result<()> {
    let module = if u.ratio(1, 4)? {
        own
    } else {
        *u.choose(IMPORTED)?
    };
    let leaf = *u.choose(LEAVES)?;
    let f = *u.choose(FUNCTIONS)?;
    let g = *u.choose(FUNCTIONS)?;
    let call = *u.choose(CALLS)?;
    let line = match u.int_in_range(0..=14)? {
        0 => format!("import {module}\n"),
        1 => format!("import {module} as m\n"),
        2 => format!("from {module} import {f}\n"),
        3 => format!("from {module} import {f} as {g}\n"),
        4 => format!("from {module} import *\n"),
        5 => format!("from . import {leaf}\n"),
        6 => format!("from .{leaf} import {f}\n"),
        7 => format!("__all__ = [\"{f}\", \"{g}\"]\n"),
        8 => format!("{f} = {module}.{g}\n"),
        9 => format!("\n\ndef {f}(url=None):\n    {call}\n    {g}()\n"),
        10 => format!("\n\ndef {f}(url=None):\n    {module}.{g}()\n"),
        11 => format!("\n\nasync def {f}():\n    {g}()\n    await {module}.{g}()\n"),
        12 => format!("\n\nasync def {f}():\n    {call}\n    m.{g}()\n"),
        13 => format!(
            "\n\nclass {f}:\n    def get(self):\n        {call}\n\n    async def run(self):\n        self.get()\n        {g}().get()\n"
        ),
        _ => format!("\n\nasync def {f}():\n    {g}\n    asyncio.create_task({g}())\n"),
    };
    text.push_str(&line);
    Ok(())
}
