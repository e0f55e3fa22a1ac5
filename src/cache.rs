//! The persistent cache of `aiolint check`, as Ruff's `.ruff_cache`: per file, the analysis of
//! its exact text (summary, findings, pending findings, what it looked up in other modules),
//! keyed by the text, the module names, the settings and this build of aiolint.
//!
//! Layout: `<cache dir>/CACHEDIR.TAG`, `<cache dir>/.gitignore` (`*`), and per kind of run (the
//! settings, the working directory and the paths checked) in `<cache dir>/<version>/`: a pack
//! of one entry per file of its last run, split by key into 16 shards `<run>.<nn>.pack`, and
//! `<run>.last`, the last run's findings under the key of all its inputs (a run where nothing
//! changed reads only that).
//! Both are replaced whole, atomically (written beside, then renamed), so two runs at once
//! never leave a torn file: the last one to finish wins. A file that cannot be read or decoded
//! is treated as empty and replaced; the cache never changes what is reported.

use std::hash::{Hash, Hasher};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, PoisonError};

use analyzer::Settings;
use rustc_hash::FxHashMap;
use xxhash_rust::xxh3::Xxh3;

/// The cache directory's default name, in the working directory.
pub(crate) const DEFAULT_DIRECTORY: &str = ".aiolint_cache";

/// Marks the pack format (and guards against reading something else).
const MAGIC: &[u8] = b"aiolint cache pack 1\n";

/// How many files a pack is split into: a run that changes a few entries rewrites a few
/// shards, not the whole pack.
const SHARDS: usize = 16;

/// The entries of one shard as read, and where each is in them.
type Shard = (Vec<u8>, FxHashMap<u128, (usize, usize)>);

/// One run's view of its pack: the entries of the last run, and those of this one.
pub(crate) struct Pack {
    /// The pack's path without the shard number.
    path: PathBuf,
    salt: u64,
    /// The last run's shards, each read on first use.
    old: [OnceLock<Shard>; SHARDS],
    /// The last run's record, as read.
    last: Vec<u8>,
    /// What the next run gets: old entries still valid, and new ones.
    next: Mutex<FxHashMap<u128, Entry>>,
    /// This run's record, once made.
    record: Mutex<Option<Vec<u8>>>,
}

enum Entry {
    Old,
    New(Vec<u8>),
}

/// The shard an entry is in.
fn shard(key: u128) -> usize {
    // The remainder is below `SHARDS`.
    usize::try_from(key % SHARDS as u128).unwrap_or(0)
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
        let path = versioned.join(format!("{:016x}", hasher.finish()));
        let last = std::fs::read(path.with_extension("last"))
            .ok()
            .and_then(|bytes| bytes.strip_prefix(MAGIC).map(<[u8]>::to_vec))
            .unwrap_or_default();
        Some(Pack {
            path,
            salt,
            old: std::array::from_fn(|_| OnceLock::new()),
            last,
            next: Mutex::default(),
            record: Mutex::default(),
        })
    }

    fn shard_path(&self, shard: usize) -> PathBuf {
        self.path.with_extension(format!("{shard:02}.pack"))
    }

    fn old(&self, shard: usize) -> &Shard {
        self.old[shard].get_or_init(|| {
            let bytes = std::fs::read(self.shard_path(shard)).unwrap_or_default();
            let entries = read_entries(&bytes);
            (bytes, entries)
        })
    }

    fn next(&self) -> std::sync::MutexGuard<'_, FxHashMap<u128, Entry>> {
        self.next.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes what changed for the next run, atomically, shard by shard; a failure is a
    /// warning, never an error. Only shards with a new entry are written (with the entries of
    /// theirs this run kept): a shard with none stays as it is, so a run that read everything
    /// from the cache writes nothing, and entries of files it did not see stay until their
    /// shard is next written.
    pub(crate) fn save(&self) {
        let next = std::mem::take(&mut *self.next());
        let record = self
            .record
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let mut shards: Vec<Vec<(u128, &Entry)>> = (0..SHARDS).map(|_| Vec::new()).collect();
        for (key, entry) in &next {
            shards[shard(*key)].push((*key, entry));
        }
        let mut result = Ok(());
        for (number, entries) in shards.iter_mut().enumerate() {
            if !entries
                .iter()
                .any(|(_, entry)| matches!(entry, Entry::New(_)))
            {
                continue;
            }
            let (old, positions) = self.old(number);
            entries.sort_unstable_by_key(|(key, _)| *key);
            let kept: Vec<(u128, &[u8])> = entries
                .iter()
                .filter_map(|(key, entry)| match entry {
                    Entry::New(bytes) => Some((*key, bytes.as_slice())),
                    Entry::Old => positions
                        .get(key)
                        .and_then(|&(start, end)| old.get(start..end))
                        .map(|bytes| (*key, bytes)),
                })
                .collect();
            result = result.and_then(|()| {
                let bytes = postcard::to_allocvec(&kept)?;
                write(&self.shard_path(number), &bytes)
            });
        }
        if let Some(record) = record {
            result = result.and_then(|()| write(&self.path.with_extension("last"), &record));
        }
        if let Err(error) = result {
            eprintln!(
                "aiolint: warning: cannot write the cache {}: {error}",
                self.path.display()
            );
        }
    }
}

/// Replaces the file at `path` with the magic line and `body`, atomically.
fn write(path: &Path, body: &[u8]) -> anyhow::Result<()> {
    let directory = path
        .parent()
        .ok_or_else(|| anyhow::anyhow!("the cache has no directory"))?;
    let mut temporary = tempfile::NamedTempFile::new_in(directory)?;
    temporary.write_all(MAGIC)?;
    temporary.write_all(body)?;
    temporary.persist(path)?;
    Ok(())
}

impl analyzer::Cache for Pack {
    fn salt(&self) -> u64 {
        self.salt
    }

    fn get(&self, key: u128) -> Option<&[u8]> {
        let (old, entries) = self.old(shard(key));
        let &(start, end) = entries.get(&key)?;
        old.get(start..end)
    }

    fn put(&self, key: u128, entry: Vec<u8>) {
        self.next().insert(key, Entry::New(entry));
    }

    fn keep(&self, key: u128) {
        self.next().insert(key, Entry::Old);
    }

    fn last_run(&self) -> Option<&[u8]> {
        (!self.last.is_empty()).then_some(self.last.as_slice())
    }

    fn set_last_run(&self, record: Vec<u8>) {
        *self.record.lock().unwrap_or_else(PoisonError::into_inner) = Some(record);
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
