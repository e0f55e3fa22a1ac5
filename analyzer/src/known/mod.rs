//! Bundled knowledge about library APIs, kept as data (`*.toml` next to this file) and parsed
//! once on first use.

use std::sync::OnceLock;

use rustc_hash::FxHashMap;
use toml::{Table, Value};

/// What aiolint knows about one external function.
#[derive(Debug, Default)]
pub(crate) struct FunctionSpec {
    /// What calling it gives that must be awaited, if anything.
    pub awaitable: Awaitable,
    /// Blocks the calling thread (network, disk, subprocess, locks).
    pub blocking: bool,
    pub consumes: bool,
    pub returns: Option<Returns>,
    /// Arguments with which the call does not block after all (`os.spawnl(os.P_NOWAIT, ...)`).
    pub released: Vec<Release>,
}

/// What a call gives that must be awaited.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Awaitable {
    /// Nothing (or nothing known).
    #[default]
    No,
    /// A coroutine: an `async def`, which does nothing until awaited.
    Coroutine,
    /// A future that runs anyway but should be awaited: dropping it loses its result and
    /// errors (`asyncio.gather`).
    Future,
}

impl FunctionSpec {
    pub(crate) fn is_coroutine(&self) -> bool {
        self.awaitable == Awaitable::Coroutine
    }
}

/// An argument that makes a blocking call return at once: positional `position` or keyword
/// `keyword`, when it is what `when` says.
#[derive(Clone, Debug)]
pub(crate) struct Release {
    pub position: Option<usize>,
    pub keyword: String,
    pub when: ReleaseWhen,
}

/// The value of a [`Release`] argument that does not block.
#[derive(Clone, Debug)]
pub(crate) enum ReleaseWhen {
    /// `False` or `0` (`block=False`, `blocking=False`).
    False,
    /// `0` or `0.0` (`timeout=0`).
    Zero,
    /// One of these dotted names (`os.P_NOWAIT`).
    Names(Vec<String>),
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
    /// Blocking methods; `"*"` is every method but those in `not_blocking`.
    pub blocking: Vec<String>,
    pub not_blocking: Vec<String>,
    /// Per method, arguments with which it does not block (`queue.get(block=False)`).
    pub released: FxHashMap<String, Vec<Release>>,
    pub consumes: Vec<String>,
    /// Methods that return a future the caller should await.
    pub futures: Vec<String>,
    pub returns: FxHashMap<String, Returns>,
    /// Attributes (properties) holding instances: `Path.parent` is a `Path`.
    pub properties: FxHashMap<String, Returns>,
    /// The class of `instance / other` (`pathlib.Path`).
    pub truediv: Option<String>,
    /// Iterating over an instance blocks (`for line in file`).
    pub blocking_iteration: bool,
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
                    awaitable: if flag(spec, "coroutine") {
                        Awaitable::Coroutine
                    } else if flag(spec, "future") {
                        Awaitable::Future
                    } else {
                        Awaitable::No
                    },
                    blocking: flag(spec, "blocking"),
                    consumes: flag(spec, "consumes"),
                    returns: spec.get("returns").and_then(returns),
                    released: spec.get("released").map(releases).unwrap_or_default(),
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
                    not_blocking: strings(spec, "not-blocking"),
                    released: spec
                        .get("released")
                        .and_then(Value::as_table)
                        .map(|t| t.iter().map(|(k, v)| (k.clone(), releases(v))).collect())
                        .unwrap_or_default(),
                    consumes: strings(spec, "consumes"),
                    futures: strings(spec, "futures"),
                    returns: returns_table(spec, "returns"),
                    properties: returns_table(spec, "properties"),
                    truediv: spec
                        .get("truediv")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    blocking_iteration: flag(spec, "blocking-iteration"),
                    enter: spec.get("enter").and_then(Value::as_str).map(enter),
                    aenter: spec.get("aenter").and_then(Value::as_str).map(enter),
                    event_loop: flag(spec, "event-loop"),
                };
                let entry = self.classes.entry(name.clone()).or_default();
                entry.bases.extend(class.bases);
                entry.coroutines.extend(class.coroutines);
                entry.blocking.extend(class.blocking);
                entry.not_blocking.extend(class.not_blocking);
                entry.released.extend(class.released);
                entry.consumes.extend(class.consumes);
                entry.futures.extend(class.futures);
                entry.returns.extend(class.returns);
                entry.properties.extend(class.properties);
                entry.truediv = entry.truediv.take().or(class.truediv);
                entry.blocking_iteration |= class.blocking_iteration;
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
            if c.not_blocking.iter().any(|m| m == method) {
                return Some(false);
            }
            let every = c.blocking.iter().any(|m| m == "*") && !method.starts_with('_');
            (every || c.blocking.iter().any(|m| m == method)).then_some(true)
        })
        .unwrap_or(false)
    }

    /// The arguments with which `class.method` does not block.
    pub(crate) fn method_released(&self, class: &str, method: &str) -> Vec<Release> {
        self.find_in_mro(class, |c| c.released.get(method).cloned())
            .unwrap_or_default()
    }

    /// Whether `class.method` returns a future that should be awaited.
    pub(crate) fn is_future_method(&self, class: &str, method: &str) -> bool {
        self.find_in_mro(class, |c| {
            c.futures.iter().any(|m| m == method).then_some(())
        })
        .is_some()
    }

    /// The class of the instance attribute (property) `name` of `class`.
    pub(crate) fn property(&self, class: &str, name: &str) -> Option<Returns> {
        self.find_in_mro(class, |c| c.properties.get(name).cloned())
    }

    /// The class of `instance / other` for an instance of `class`.
    pub(crate) fn truediv(&self, class: &str) -> Option<String> {
        self.find_in_mro(class, |c| c.truediv.clone())
    }

    /// Whether iterating over an instance of `class` blocks.
    pub(crate) fn blocks_when_iterated(&self, class: &str) -> bool {
        self.find_in_mro(class, |c| c.blocking_iteration.then_some(()))
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

fn returns_table(spec: &Value, key: &str) -> FxHashMap<String, Returns> {
    spec.get(key)
        .and_then(Value::as_table)
        .map(|t| {
            t.iter()
                .filter_map(|(k, v)| Some((k.clone(), returns(v)?)))
                .collect()
        })
        .unwrap_or_default()
}

/// `{ position = 0, keyword = "block", when = "false" }`, or an array of them.
fn releases(value: &Value) -> Vec<Release> {
    let one = |spec: &Value| {
        let keyword = spec.get("keyword")?.as_str()?.to_string();
        let position = spec
            .get("position")
            .and_then(Value::as_integer)
            .and_then(|p| usize::try_from(p).ok());
        let when = match spec.get("when")? {
            Value::String(when) if when == "false" => ReleaseWhen::False,
            Value::String(when) if when == "zero" => ReleaseWhen::Zero,
            Value::Array(names) => ReleaseWhen::Names(
                names
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect(),
            ),
            _ => return None,
        };
        Some(Release {
            position,
            keyword,
            when,
        })
    };
    match value {
        Value::Array(items) => items.iter().filter_map(one).collect(),
        spec => one(spec).into_iter().collect(),
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
        assert!(
            known
                .function("asyncio.sleep")
                .is_some_and(FunctionSpec::is_coroutine)
        );
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
