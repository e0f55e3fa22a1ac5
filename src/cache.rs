//! The persistent cache of `aiolint check`, as Ruff's `.ruff_cache`: per file, the analysis of
//! its exact text (summary, findings, pending findings, what it looked up in other modules),
//! keyed by the text, the module names, the settings and this build of aiolint.
//!
//! Layout: `<cache dir>/CACHEDIR.TAG`, `<cache dir>/.gitignore` (`*`), and one pack per kind of
//! run in `<cache dir>/<version>/<run>.pack`, where the run is the settings, the working
//! directory and the paths checked. A pack holds one entry per file of its last run and is
//! replaced whole, atomically (written beside it, then renamed), so two runs at once never
//! leave a torn file: the last one to finish wins. A pack that cannot be read or decoded is
//! treated as empty and replaced; the cache never changes what is reported.

use std::hash::{Hash, Hasher};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use analyzer::Settings;
use rustc_hash::FxHashMap;
use xxhash_rust::xxh3::Xxh3;

/// The cache directory's default name, in the working directory.
pub(crate) const DEFAULT_DIRECTORY: &str = ".aiolint_cache";

/// Marks the pack format (and guards against reading something else).
const MAGIC: &[u8] = b"aiolint cache pack 1\n";

/// One run's view of its pack: the entries of the last run, and those of this one.
pub(crate) struct Pack {
    path: PathBuf,
    salt: u64,
    /// The last run's pack, as read.
    old: Vec<u8>,
    /// Where each old entry is in `old`.
    entries: FxHashMap<u128, (usize, usize)>,
    /// What the next run gets: old entries still valid, and new ones.
    next: Mutex<FxHashMap<u128, Entry>>,
}

enum Entry {
    Old(u128),
    New(Vec<u8>),
}

impl Pack {
    /// The pack of a run checking `paths` with `settings`, in `directory`. `None` (no caching)
    /// when the directory cannot be made, with a warning.
    pub(crate) fn open(directory: &Path, paths: &[PathBuf], settings: &Settings) -> Option<Pack> {
        let salt = build_salt()?;
        let versioned = directory.join(env!("CARGO_PKG_VERSION"));
        if let Err(error) = prepare(directory, &versioned) {
            eprintln!(
                "aiolint: warning: cannot use the cache directory {}: {error}",
                directory.display()
            );
            return None;
        }
        let mut hasher = Xxh3::new();
        settings.hash(&mut hasher);
        std::env::current_dir().ok().hash(&mut hasher);
        paths.hash(&mut hasher);
        let path = versioned.join(format!("{:016x}.pack", hasher.finish()));
        let old = std::fs::read(&path).unwrap_or_default();
        let entries = read_entries(&old);
        Some(Pack {
            path,
            salt,
            old,
            entries,
            next: Mutex::default(),
        })
    }

    fn next(&self) -> std::sync::MutexGuard<'_, FxHashMap<u128, Entry>> {
        self.next.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes the pack for the next run, atomically; a failure is a warning, never an error.
    pub(crate) fn save(&self) {
        let next = std::mem::take(&mut *self.next());
        let mut entries: Vec<(u128, &[u8])> = next
            .iter()
            .filter_map(|(key, entry)| match entry {
                Entry::New(bytes) => Some((*key, bytes.as_slice())),
                Entry::Old(key) => self
                    .entries
                    .get(key)
                    .and_then(|&(start, end)| self.old.get(start..end))
                    .map(|bytes| (*key, bytes)),
            })
            .collect();
        entries.sort_unstable_by_key(|(key, _)| *key);
        if let Err(error) = self.write(&entries) {
            eprintln!(
                "aiolint: warning: cannot write the cache {}: {error}",
                self.path.display()
            );
        }
    }

    fn write(&self, entries: &[(u128, &[u8])]) -> anyhow::Result<()> {
        let mut bytes = MAGIC.to_vec();
        bytes.extend(postcard::to_allocvec(entries)?);
        let directory = self
            .path
            .parent()
            .ok_or_else(|| anyhow::anyhow!("the cache has no directory"))?;
        let mut temporary = tempfile::NamedTempFile::new_in(directory)?;
        temporary.write_all(&bytes)?;
        temporary.persist(&self.path)?;
        Ok(())
    }
}

impl analyzer::Cache for Pack {
    fn salt(&self) -> u64 {
        self.salt
    }

    fn get(&self, key: u128) -> Option<&[u8]> {
        let &(start, end) = self.entries.get(&key)?;
        self.old.get(start..end)
    }

    fn put(&self, key: u128, entry: Vec<u8>) {
        self.next().insert(key, Entry::New(entry));
    }

    fn keep(&self, key: u128) {
        self.next().insert(key, Entry::Old(key));
    }
}

/// The entries of a pack's bytes, by key, as ranges into them; nothing for a pack that is
/// missing, of another format, truncated or corrupt.
fn read_entries(bytes: &[u8]) -> FxHashMap<u128, (usize, usize)> {
    let Some(body) = bytes.strip_prefix(MAGIC) else {
        return FxHashMap::default();
    };
    let Ok(entries) = postcard::from_bytes::<Vec<(u128, &[u8])>>(body) else {
        return FxHashMap::default();
    };
    let base = bytes.as_ptr() as usize;
    entries
        .into_iter()
        .map(|(key, entry)| {
            let start = entry.as_ptr() as usize - base;
            (key, (start, start + entry.len()))
        })
        .collect()
}

/// Makes the cache directory, tagged as a cache (`CACHEDIR.TAG`) and ignored by git.
fn prepare(directory: &Path, versioned: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(versioned)?;
    let tag = directory.join("CACHEDIR.TAG");
    if !tag.exists() {
        std::fs::write(
            &tag,
            "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by aiolint.\n# For information about cache directory tags see https://bford.info/cachedir/\n",
        )?;
    }
    let ignore = directory.join(".gitignore");
    if !ignore.exists() {
        std::fs::write(&ignore, "# Automatically created by aiolint.\n*\n")?;
    }
    Ok(())
}

/// What tells this build of aiolint from any other: a hash of its own executable, so that a
/// rebuilt binary never reads entries an older build wrote, even at the same version.
fn build_salt() -> Option<u64> {
    let executable = std::env::current_exe().ok()?;
    let bytes = std::fs::read(executable).ok()?;
    Some(xxhash_rust::xxh3::xxh3_64(&bytes))
}
