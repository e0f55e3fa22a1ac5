//! Bundled knowledge about library APIs, kept as data (`*.toml` next to this file) and parsed
//! once on first use.

use std::sync::OnceLock;

use rustc_hash::FxHashMap;
use toml::{Table, Value};

/// What aiolint knows about one external function.
#[derive(Debug, Default)]
pub(crate) struct FunctionSpec {
    pub coroutine: bool,
    /// Blocks the calling thread (network, disk, subprocess, locks).
    pub blocking: bool,
    pub consumes: bool,
    pub returns: Option<Returns>,
}

/// The result of a call: one class, or a tuple of classes.
#[derive(Clone, Debug)]
pub(crate) enum Returns {
    Class(String),
    Tuple(Vec<String>),
}

/// What `with X() as y` binds to `y`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Enter {
    SelfInstance,
    Nothing,
    Class(String),
}

#[derive(Debug, Default)]
pub(crate) struct ClassSpec {
    pub bases: Vec<String>,
    pub coroutines: Vec<String>,
    pub blocking: Vec<String>,
    pub consumes: Vec<String>,
    pub returns: FxHashMap<String, Returns>,
    pub enter: Option<Enter>,
    pub aenter: Option<Enter>,
    pub event_loop: bool,
}

#[derive(Debug, Default)]
pub(crate) struct KnownApi {
    functions: FxHashMap<String, FunctionSpec>,
    classes: FxHashMap<String, ClassSpec>,
}

const TABLES: &[(&str, &str)] = &[
    ("asyncio.toml", include_str!("asyncio.toml")),
    ("blocking.toml", include_str!("blocking.toml")),
    ("libraries.toml", include_str!("libraries.toml")),
];

/// Submodules whose public names asyncio re-exports (`asyncio.tasks.sleep` is `asyncio.sleep`).
const ASYNCIO_SUBMODULES: &[&str] = &[
    "base_events",
    "base_futures",
    "base_subprocess",
    "base_tasks",
    "coroutines",
    "events",
    "exceptions",
    "futures",
    "locks",
    "mixins",
    "proactor_events",
    "protocols",
    "queues",
    "runners",
    "selector_events",
    "streams",
    "taskgroups",
    "tasks",
    "threads",
    "timeouts",
    "transports",
    "unix_events",
    "windows_events",
];

impl KnownApi {
    /// The bundled tables, parsed once.
    pub(crate) fn get() -> &'static KnownApi {
        static KNOWN: OnceLock<KnownApi> = OnceLock::new();
        KNOWN.get_or_init(|| {
            let mut known = KnownApi::default();
            for (name, text) in TABLES {
                // The tables ship inside the binary and are checked by a unit test.
                if let Ok(table) = text.parse::<Table>() {
                    known.load(&table);
                } else {
                    debug_assert!(false, "bundled table {name} does not parse");
                }
            }
            known
        })
    }

    fn load(&mut self, table: &Table) {
        if let Some(functions) = table.get("functions").and_then(Value::as_table) {
            for (name, spec) in functions {
                let spec = FunctionSpec {
                    coroutine: flag(spec, "coroutine"),
                    blocking: flag(spec, "blocking"),
                    consumes: flag(spec, "consumes"),
                    returns: spec.get("returns").and_then(returns),
                };
                self.functions.insert(name.clone(), spec);
            }
        }
        if let Some(classes) = table.get("classes").and_then(Value::as_table) {
            for (name, spec) in classes {
                let class = ClassSpec {
                    bases: strings(spec, "bases"),
                    coroutines: strings(spec, "coroutines"),
                    blocking: strings(spec, "blocking"),
                    consumes: strings(spec, "consumes"),
                    returns: spec
                        .get("returns")
                        .and_then(Value::as_table)
                        .map(|t| {
                            t.iter()
                                .filter_map(|(k, v)| Some((k.clone(), returns(v)?)))
                                .collect()
                        })
                        .unwrap_or_default(),
                    enter: spec.get("enter").and_then(Value::as_str).map(enter),
                    aenter: spec.get("aenter").and_then(Value::as_str).map(enter),
                    event_loop: flag(spec, "event-loop"),
                };
                let entry = self.classes.entry(name.clone()).or_default();
                entry.bases.extend(class.bases);
                entry.coroutines.extend(class.coroutines);
                entry.blocking.extend(class.blocking);
                entry.consumes.extend(class.consumes);
                entry.returns.extend(class.returns);
                entry.enter = entry.enter.take().or(class.enter);
                entry.aenter = entry.aenter.take().or(class.aenter);
                entry.event_loop |= class.event_loop;
            }
        }
    }

    /// Maps re-exported spellings to the canonical one (`asyncio.tasks.sleep` -> `asyncio.sleep`).
    pub(crate) fn canonical(name: &str) -> std::borrow::Cow<'_, str> {
        let mut parts = name.splitn(3, '.');
        if let (Some("asyncio"), Some(sub), Some(rest)) = (parts.next(), parts.next(), parts.next())
        {
            let reexported = ASYNCIO_SUBMODULES.contains(&sub)
                || (sub == "subprocess" && rest.starts_with("create_subprocess_"));
            if reexported {
                return format!("asyncio.{rest}").into();
            }
        }
        name.into()
    }

    pub(crate) fn function(&self, name: &str) -> Option<&FunctionSpec> {
        self.functions.get(name)
    }

    pub(crate) fn class(&self, name: &str) -> Option<&ClassSpec> {
        self.classes.get(name)
    }

    /// Walks `class` and its known bases (breadth-first, cycle-safe) until `find` answers.
    pub(crate) fn find_in_mro<T>(
        &self,
        class: &str,
        mut find: impl FnMut(&ClassSpec) -> Option<T>,
    ) -> Option<T> {
        let mut queue = vec![class.to_string()];
        let mut seen = 0;
        while let Some(name) = queue.pop() {
            seen += 1;
            if seen > 32 {
                return None;
            }
            let Some(spec) = self.classes.get(&name) else {
                continue;
            };
            if let Some(found) = find(spec) {
                return Some(found);
            }
            queue.extend(spec.bases.iter().rev().cloned());
        }
        None
    }

    pub(crate) fn is_coroutine_method(&self, class: &str, method: &str) -> bool {
        self.find_in_mro(class, |c| {
            c.coroutines.iter().any(|m| m == method).then_some(())
        })
        .is_some()
    }

    pub(crate) fn is_blocking_method(&self, class: &str, method: &str) -> bool {
        self.find_in_mro(class, |c| {
            c.blocking.iter().any(|m| m == method).then_some(())
        })
        .is_some()
    }

    pub(crate) fn method_consumes(&self, class: &str, method: &str) -> bool {
        self.find_in_mro(class, |c| {
            c.consumes.iter().any(|m| m == method).then_some(())
        })
        .is_some()
    }

    pub(crate) fn method_returns(&self, class: &str, method: &str) -> Option<Returns> {
        self.find_in_mro(class, |c| c.returns.get(method).cloned())
    }

    pub(crate) fn is_event_loop(&self, class: &str) -> bool {
        self.find_in_mro(class, |c| c.event_loop.then_some(()))
            .is_some()
    }

    pub(crate) fn enter(&self, class: &str, is_async: bool) -> Option<Enter> {
        self.find_in_mro(class, |c| {
            if is_async {
                c.aenter.clone()
            } else {
                c.enter.clone()
            }
        })
    }
}

fn flag(spec: &Value, key: &str) -> bool {
    spec.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn strings(spec: &Value, key: &str) -> Vec<String> {
    spec.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn returns(value: &Value) -> Option<Returns> {
    match value {
        Value::String(class) => Some(Returns::Class(class.clone())),
        Value::Array(items) => Some(Returns::Tuple(
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
        )),
        _ => None,
    }
}

fn enter(value: &str) -> Enter {
    match value {
        "self" => Enter::SelfInstance,
        "none" => Enter::Nothing,
        class => Enter::Class(class.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_tables_parse() {
        for (name, text) in TABLES {
            assert!(text.parse::<Table>().is_ok(), "{name} does not parse");
        }
        let known = KnownApi::get();
        assert!(known.function("asyncio.sleep").is_some_and(|f| f.coroutine));
        assert!(known.is_coroutine_method("asyncio.PriorityQueue", "get"));
        assert!(known.is_event_loop("asyncio.SelectorEventLoop"));
        assert!(!known.is_coroutine_method("asyncio.Queue", "get_nowait"));
        assert!(known.function("requests.get").is_some_and(|f| f.blocking));
        assert!(known.is_blocking_method("requests.Session", "post"));
        assert!(known.is_coroutine_method("aiohttp.ClientResponse", "json"));
    }

    #[test]
    fn canonical_names() {
        assert_eq!(KnownApi::canonical("asyncio.tasks.sleep"), "asyncio.sleep");
        assert_eq!(
            KnownApi::canonical("asyncio.subprocess.Process"),
            "asyncio.subprocess.Process"
        );
        assert_eq!(
            KnownApi::canonical("asyncio.subprocess.create_subprocess_exec"),
            "asyncio.create_subprocess_exec"
        );
        assert_eq!(KnownApi::canonical("time.sleep"), "time.sleep");
    }
}
