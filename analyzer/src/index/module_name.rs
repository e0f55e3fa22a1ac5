//! Dotted module names from file paths: the package chain found from `__init__.py` files, and
//! the path below the project root (also below `src/`), so that flat, `src/`-layout and
//! namespace-package projects all resolve.

use std::path::{Component, Path};

/// The names under which a file can be imported, the first being the preferred one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModuleName {
    pub names: Vec<String>,
    /// An `__init__.py`: relative imports start from the package itself.
    pub is_package: bool,
}

impl ModuleName {
    pub fn primary(&self) -> &str {
        self.names.first().map_or("", String::as_str)
    }
}

/// The module names of `path` (a `.py`/`.pyi` file), given the project root that contains it
/// and a way to ask whether a file exists (the analyzer does no IO itself).
pub fn module_names(
    path: &Path,
    root: Option<&Path>,
    exists: &dyn Fn(&Path) -> bool,
) -> ModuleName {
    let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
        return ModuleName::default();
    };
    let is_package = stem == "__init__";
    let mut names = Vec::new();

    // The package chain: parent directories while they hold an `__init__.py`.
    let mut parts: Vec<String> = if is_package {
        Vec::new()
    } else {
        vec![stem.to_string()]
    };
    let mut directory = path.parent();
    while let Some(dir) = directory {
        if !(exists(&dir.join("__init__.py")) || exists(&dir.join("__init__.pyi"))) {
            break;
        }
        let Some(name) = dir.file_name().and_then(|n| n.to_str()) else {
            break;
        };
        parts.push(name.to_string());
        directory = dir.parent();
    }
    parts.reverse();
    push_name(&mut names, &parts);

    // Below the project root, and below `root/src` (namespace packages, src layouts).
    if let Some(root) = root {
        for base in [root.join("src"), root.to_path_buf()] {
            let Ok(relative) = path.strip_prefix(&base) else {
                continue;
            };
            let mut parts: Vec<String> = relative
                .components()
                .filter_map(|c| match c {
                    Component::Normal(part) => part.to_str().map(str::to_string),
                    _ => None,
                })
                .collect();
            if let Some(last) = parts.last_mut() {
                *last = Path::new(last.as_str())
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or("")
                    .to_string();
            }
            if is_package {
                parts.pop();
            }
            push_name(&mut names, &parts);
        }
    }
    ModuleName { names, is_package }
}

fn push_name(names: &mut Vec<String>, parts: &[String]) {
    let valid = !parts.is_empty()
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_alphanumeric() || c == '_'));
    if valid {
        let name = parts.join(".");
        if !names.contains(&name) {
            names.push(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_chains_src_layouts_and_namespace_packages() {
        let inits = ["/p/src/app/__init__.py", "/p/src/app/db/__init__.py"];
        let exists = |p: &Path| inits.iter().any(|i| Path::new(i) == p);
        let root = Some(Path::new("/p"));
        let module = module_names(Path::new("/p/src/app/db/models.py"), root, &exists);
        assert_eq!(module.names, ["app.db.models", "src.app.db.models"]);
        let package = module_names(Path::new("/p/src/app/db/__init__.py"), root, &exists);
        assert_eq!(package.names, ["app.db", "src.app.db"]);
        assert!(package.is_package);
        let namespace = module_names(Path::new("/p/tools/ns/job.py"), root, &exists);
        assert_eq!(namespace.names, ["job", "tools.ns.job"]);
        let hyphen = module_names(Path::new("/p/my-scripts/run.py"), root, &exists);
        assert_eq!(hyphen.names, ["run"]);
    }
}
