//! [`FileBackend`] and its builder.

use std::fs::{self, File};
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use oauth_store_core::clock::{from_unix_millis, to_unix_millis};
use oauth_store_core::envelope::{self, FormatError, Header, OpenOptions, SealOptions, Version};
use oauth_store_core::key_material::KeyRing;
use oauth_store_core::{
    Backend, Capabilities, Clock, DeleteOptions, Entry, EntryKey, EntryMeta, Error, ListedEntry,
    Precondition, PutOptions, Result, Revision, SystemClock, TokenSet, check_precondition,
    check_value_size,
};

use crate::doc::{self, MAX_RANDOM_REVISION, Shape, StoreDoc, StoredEntry, StoredToken};
use crate::status::{FileStatus, Problem};
use crate::{fsutil, lock};

/// The context every v2 store file is sealed with, so that an envelope made for something
/// else (a database row, another tool) does not open as a store file.
pub const FILE_CONTEXT: &[u8] = b"oauth-store-file";

/// The default bound on the store file's size: 64 MiB.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 64 * 1024 * 1024;

/// The default time to wait for the lock: 10 seconds.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// An encrypted file store: every token set in one envelope file, safe for many processes.
///
/// Cheap to clone (clones share one cache). See the [crate documentation](crate) for what it
/// guarantees and `docs/FILE-BACKEND.md` for the file layout.
#[derive(Clone)]
pub struct FileBackend {
    inner: Arc<Inner>,
}

/// Configures a [`FileBackend`]; from [`FileBackend::builder`].
#[must_use = "a builder does nothing until `build` is called"]
pub struct FileBackendBuilder {
    path: PathBuf,
    keys: KeyRing,
    write_v1: bool,
    max_file_size: u64,
    lock_timeout: Duration,
    clock: Arc<dyn Clock>,
}

struct Inner {
    path: PathBuf,
    /// `path` for messages.
    location: String,
    lock_path: PathBuf,
    dir: PathBuf,
    write_v1: bool,
    max_file_size: u64,
    lock_timeout: Duration,
    clock: Arc<dyn Clock>,
    keys: RwLock<KeyRing>,
    cache: Mutex<Option<Arc<Snapshot>>>,
}

/// What identifies one version of the store file. Every write renames a new file into
/// place, so the inode changes on every write; the snapshot keeps the file open, so its inode
/// number cannot be reused while it is cached. Size and times catch edits made in place by
/// other tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: i64,
    mtime_nsec: i64,
    ctime: i64,
    ctime_nsec: i64,
}

impl FileId {
    fn of(m: &fs::Metadata) -> Self {
        Self {
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
            mtime: m.mtime(),
            mtime_nsec: m.mtime_nsec(),
            ctime: m.ctime(),
            ctime_nsec: m.ctime_nsec(),
        }
    }
}

/// The decrypted store as of one version of the file.
struct Snapshot {
    /// `None`: there was no file.
    id: Option<FileId>,
    /// Keeps the file's inode alive (and its number unused) while this snapshot is cached.
    /// Never read: holding it is the point.
    #[allow(dead_code)]
    pin: Option<File>,
    doc: StoreDoc,
    /// The envelope header (absent for a missing or empty file).
    header: Option<Header>,
    by_primary: bool,
}

impl Snapshot {
    fn empty(id: Option<FileId>, pin: Option<File>) -> Self {
        Self {
            id,
            pin,
            doc: StoreDoc::default(),
            header: None,
            by_primary: true,
        }
    }
}

impl std::fmt::Debug for FileBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let i = &self.inner;
        f.debug_struct("FileBackend")
            .field("path", &i.path)
            .field("write_v1", &i.write_v1)
            .field("max_file_size", &i.max_file_size)
            .field("lock_timeout", &i.lock_timeout)
            .field("clock", &i.clock)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for FileBackendBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileBackendBuilder")
            .field("path", &self.path)
            .field("write_v1", &self.write_v1)
            .field("max_file_size", &self.max_file_size)
            .field("lock_timeout", &self.lock_timeout)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl FileBackendBuilder {
    /// Keep writing envelope v1 with the v1 plaintext shape, so a harn-vm 0.8 program can share
    /// the file (default: `false`, write v2). See `docs/FILE-BACKEND.md` for what v1 loses.
    pub fn write_v1(mut self, write_v1: bool) -> Self {
        self.write_v1 = write_v1;
        self
    }

    /// The largest store file read or written, in bytes (default 64 MiB).
    pub fn max_file_size(mut self, bytes: u64) -> Self {
        self.max_file_size = bytes;
        self
    }

    /// How long to wait for another writer's lock before failing with [`Error::Locked`]
    /// (default 10 s).
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// The clock TTLs are measured with (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Builds the backend. Nothing is read or created until the first operation.
    ///
    /// Fails with [`Error::NotConfigured`] if the path does not name a file.
    pub fn build(self) -> Result<FileBackend> {
        let (dir, name) = fsutil::split(&self.path).map_err(|_| Error::NotConfigured {
            backend: format!("file({})", self.path.display()),
            hint: "the store path must name a file, not end in `/` or `..`".into(),
        })?;
        let mut lock_name = name.to_owned();
        lock_name.push(".lock");
        let lock_path = dir.join(lock_name);
        let dir = dir.to_owned();
        Ok(FileBackend {
            inner: Arc::new(Inner {
                location: self.path.display().to_string(),
                path: self.path,
                lock_path,
                dir,
                write_v1: self.write_v1,
                max_file_size: self.max_file_size,
                lock_timeout: self.lock_timeout,
                clock: self.clock,
                keys: RwLock::new(self.keys),
                cache: Mutex::new(None),
            }),
        })
    }
}

impl FileBackend {
    /// A builder for a store at `path`, opened with `keys`.
    pub fn builder(path: impl Into<PathBuf>, keys: KeyRing) -> FileBackendBuilder {
        FileBackendBuilder {
            path: path.into(),
            keys,
            write_v1: false,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            clock: Arc::new(SystemClock),
        }
    }

    /// A store at `path` with default options: `builder(path, keys).build()`.
    pub fn open(path: impl Into<PathBuf>, keys: KeyRing) -> Result<Self> {
        Self::builder(path, keys).build()
    }

    /// The store file's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The lock file's path (`<name>.lock` next to the store file).
    #[must_use]
    pub fn lock_path(&self) -> &Path {
        &self.inner.lock_path
    }

    /// Re-encrypts the store under `new_keys` (its primary key, with a fresh salt) under the
    /// lock, and uses `new_keys` from then on. Returns how many entries were re-encrypted.
    ///
    /// The file must open with the current keys. Until it is rotated, any key of the current
    /// ring opens it; include old keys in `new_keys` (as previous keys) to keep opening files
    /// that other processes have not rotated yet.
    pub async fn rotate(&self, new_keys: KeyRing) -> Result<usize> {
        self.run(move |inner| inner.rotate(new_keys)).await
    }

    /// Moves a store file that cannot be opened (corrupt, truncated, tampered, too large, or
    /// not openable with the current keys) aside to `<name>.corrupt-<unix millis>`, under the
    /// lock, so the next write starts a fresh store without losing the evidence.
    ///
    /// Returns the new path, or `None` if there was nothing to move (no file, or a file that
    /// opens fine). Nothing is ever deleted.
    pub async fn quarantine(&self) -> Result<Option<PathBuf>> {
        self.run(Inner::quarantine).await
    }

    /// Reports on the store file without changing it; see [`FileStatus`].
    pub async fn status(&self) -> Result<FileStatus> {
        self.run(Inner::status).await
    }

    /// Writes every item in one atomic rewrite of the store file: all of them, or none.
    ///
    /// Each item is `(key, token set, options)`, as for [`Backend::put`]. The items are
    /// applied in order under one lock, and the file is sealed and replaced once (one write of
    /// the store, where a put per item would make as many), and other readers and writers (in
    /// this process or another) see the store either without any of them or with all of them.
    ///
    /// Each precondition is checked against the store as changed by the earlier items of the
    /// batch, so two items for one key behave like two puts one after the other (the second
    /// replaces the first, and an `if_absent` second item fails). Every written item gets its
    /// own revision, increasing in item order; TTLs are per item, counted from the time of the
    /// write.
    ///
    /// Returns the revisions in item order. An empty batch touches nothing.
    ///
    /// # Errors
    ///
    /// If any item's precondition fails, nothing is written and the error is the
    /// [`Error::Conflict`] of the first failing item, naming its key. A token set too large
    /// for the store fails with [`Error::TooLarge`] before the lock is taken. Otherwise, the
    /// errors of [`Backend::put`] (a store that cannot be opened is never overwritten).
    pub async fn put_many(
        &self,
        items: Vec<(EntryKey, TokenSet, PutOptions)>,
    ) -> Result<Vec<Revision>> {
        let caps = self.capabilities();
        let outcomes = self
            .run(move |inner| inner.put_many(&caps, items, OnConflict::Abort))
            .await?;
        // With `OnConflict::Abort`, any failed item fails the whole batch.
        outcomes.into_iter().collect()
    }

    /// Like [`put_many`](Self::put_many), but an item whose precondition fails is skipped
    /// instead of failing the batch; the other items are written in one atomic rewrite.
    ///
    /// This is "import what is not there yet": give the items
    /// [`PutOptions::if_absent`] and existing entries are left alone. Preconditions are
    /// checked in order against the store as changed by the earlier written items; a skipped
    /// item changes nothing, so it does not affect later ones.
    ///
    /// Returns one result per item, in item order: the revision written, or the
    /// [`Error::Conflict`] a single put would have returned (naming the key and what was
    /// found). If every item is skipped, nothing is written.
    ///
    /// # Errors
    ///
    /// The outer error means nothing was written: a token set too large for the store
    /// ([`Error::TooLarge`], before the lock is taken), or any error of [`Backend::put`] other
    /// than a conflict.
    pub async fn put_many_skipping_conflicts(
        &self,
        items: Vec<(EntryKey, TokenSet, PutOptions)>,
    ) -> Result<Vec<Result<Revision>>> {
        let caps = self.capabilities();
        self.run(move |inner| inner.put_many(&caps, items, OnConflict::Skip))
            .await
    }

    async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        match tokio::task::spawn_blocking(move || f(&inner)).await {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(Error::backend(self.name(), true, e)),
        }
    }
}

#[async_trait]
impl Backend for FileBackend {
    fn name(&self) -> String {
        format!("file({})", self.inner.location)
    }

    fn capabilities(&self) -> Capabilities {
        let mut caps = Capabilities::default();
        caps.list = true;
        caps.conditional_writes = true;
        caps.native_ttl = true;
        caps.persistent = true;
        caps.encrypted_at_rest = true;
        caps.cross_process_locking = true;
        caps.max_value_size = Some(usize::try_from(self.inner.max_file_size).unwrap_or(usize::MAX));
        caps
    }

    async fn get(&self, key: &EntryKey) -> Result<Option<Entry>> {
        let key = key.clone();
        self.run(move |inner| inner.get(&key)).await
    }

    async fn put(&self, key: &EntryKey, token: &TokenSet, options: PutOptions) -> Result<Revision> {
        let token = stored_token(&self.capabilities(), key, token)?;
        let key = key.clone();
        self.run(move |inner| inner.put(&key, token, &options))
            .await
    }

    async fn delete(&self, key: &EntryKey, options: DeleteOptions) -> Result<bool> {
        let key = key.clone();
        self.run(move |inner| inner.delete(&key, &options)).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ListedEntry>> {
        let prefix = prefix.to_owned();
        self.run(move |inner| inner.list(&prefix)).await
    }
}

/// The JSON of `token` as it will be stored, checked against the store's size limit.
fn stored_token(caps: &Capabilities, key: &EntryKey, token: &TokenSet) -> Result<StoredToken> {
    let token = StoredToken::new(token);
    check_value_size(caps, key, token.json().len())?;
    Ok(token)
}

/// What a batch does with an item whose precondition fails.
#[derive(Clone, Copy, PartialEq, Eq)]
enum OnConflict {
    /// Write nothing and fail with that item's conflict.
    Abort,
    /// Skip the item, reporting its conflict, and write the others.
    Skip,
}

/// How a load treats a file readable by group or others.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Permissive {
    Tighten,
    Leave,
}

impl Inner {
    fn keys(&self) -> KeyRing {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn cache(&self) -> MutexGuard<'_, Option<Arc<Snapshot>>> {
        // The cache only ever holds complete snapshots; a panic cannot leave it half-written.
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn io(&self, e: std::io::Error) -> Error {
        Error::io(&self.location, e)
    }

    fn now_ms(&self) -> u64 {
        to_unix_millis(self.clock.now())
    }

    fn shape(&self) -> Shape {
        if self.write_v1 { Shape::V1 } else { Shape::V2 }
    }

    /// The current store, from the cache when the file is unchanged (one `lstat`), else read
    /// and decrypted.
    fn load(&self, keys: &KeyRing, permissive: Permissive) -> Result<Arc<Snapshot>> {
        for _ in 0..3 {
            let meta = match fs::symlink_metadata(&self.path) {
                Ok(m) => Some(m),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(self.io(e)),
            };
            let id = meta.as_ref().map(FileId::of);
            if let Some(hit) = self.cache().as_ref().filter(|s| s.id == id) {
                return Ok(Arc::clone(hit));
            }
            let Some(meta) = meta else {
                let snap = Arc::new(Snapshot::empty(None, None));
                *self.cache() = Some(Arc::clone(&snap));
                return Ok(snap);
            };
            self.check_regular(&meta)?;
            if meta.len() > self.max_file_size {
                return Err(self.too_large(meta.len()));
            }
            if meta.mode() & 0o077 != 0 && permissive == Permissive::Tighten {
                self.tighten()?;
                continue;
            }
            let file = match File::open(&self.path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(self.io(e)),
            };
            let fmeta = file.metadata().map_err(|e| self.io(e))?;
            if (fmeta.dev(), fmeta.ino()) != (meta.dev(), meta.ino()) {
                // Replaced between lstat and open (a write, or a symlink swapped in): retry.
                continue;
            }
            let snap = Arc::new(self.decode(file, &fmeta, keys)?);
            *self.cache() = Some(Arc::clone(&snap));
            return Ok(snap);
        }
        Err(self.io(std::io::Error::other(
            "the store file kept changing while it was being read",
        )))
    }

    fn check_regular(&self, meta: &fs::Metadata) -> Result<()> {
        let ft = meta.file_type();
        if ft.is_file() {
            return Ok(());
        }
        let what = if ft.is_symlink() {
            "a symbolic link"
        } else if ft.is_dir() {
            "a directory"
        } else {
            "not a regular file"
        };
        Err(self.io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("the store path is {what}; a store file must be a regular file"),
        )))
    }

    fn too_large(&self, size: u64) -> Error {
        Error::TooLarge {
            location: self.location.clone(),
            size,
            limit: self.max_file_size,
        }
    }

    fn tighten(&self) -> Result<()> {
        fsutil::tighten_mode(&self.path).map_err(|e| {
            self.io(std::io::Error::new(
                e.kind(),
                format!(
                    "the store file is readable by group or others and could not be \
                     tightened to 0600 ({e}); refusing to use it"
                ),
            ))
        })
    }

    fn decode(&self, mut file: File, meta: &fs::Metadata, keys: &KeyRing) -> Result<Snapshot> {
        let id = Some(FileId::of(meta));
        let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
        (&mut file)
            .take(self.max_file_size.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| self.io(e))?;
        if bytes.len() as u64 > self.max_file_size {
            return Err(self.too_large(bytes.len() as u64));
        }
        if bytes.is_empty() {
            return Ok(Snapshot::empty(id, Some(file)));
        }
        let max_len = usize::try_from(self.max_file_size).unwrap_or(usize::MAX);
        let opened = envelope::open(
            keys,
            &bytes,
            &OpenOptions::new(&self.location)
                .context(FILE_CONTEXT)
                .max_len(max_len),
        )
        .or_else(|e| match e {
            // A v1 envelope cannot carry a context: open it without one.
            Error::Corrupt {
                source: FormatError::ContextNotSupported,
                ..
            } => envelope::open(
                keys,
                &bytes,
                &OpenOptions::new(&self.location).max_len(max_len),
            ),
            e => Err(e),
        })?;
        let shape = match opened.header.version() {
            Version::V1 => Shape::V1,
            Version::V2 => Shape::V2,
        };
        let doc = doc::parse(&opened.plaintext, shape)
            .map_err(|reason| Error::corrupt(&self.location, FormatError::Plaintext(reason)))?;
        Ok(Snapshot {
            id,
            pin: Some(file),
            doc,
            header: Some(opened.header),
            by_primary: opened.by_primary,
        })
    }

    fn get(&self, key: &EntryKey) -> Result<Option<Entry>> {
        let snap = self.load(&self.keys(), Permissive::Tighten)?;
        let now = self.now_ms();
        let Some(e) = snap.doc.entries.get(key.as_str()) else {
            return Ok(None);
        };
        if e.is_expired_at(now) {
            return Ok(None);
        }
        match e.token.parse() {
            Ok(t) => Ok(Some(Entry::new(t, meta_of(e)))),
            Err(reason) => Err(Error::InvalidTokenSet {
                location: format!("entry {key:?} of {}", self.location),
                reason,
            }),
        }
    }

    fn list(&self, prefix: &str) -> Result<Vec<ListedEntry>> {
        let snap = self.load(&self.keys(), Permissive::Tighten)?;
        let now = self.now_ms();
        Ok(snap
            .doc
            .entries
            .range::<str, _>((
                std::ops::Bound::Included(prefix),
                std::ops::Bound::Unbounded,
            ))
            .take_while(|(k, _)| k.starts_with(prefix))
            .filter(|(_, e)| !e.is_expired_at(now))
            .filter_map(|(k, e)| {
                Some(ListedEntry::new(
                    EntryKey::new(k.as_str()).ok()?,
                    meta_of(e),
                ))
            })
            .collect())
    }

    fn put(&self, key: &EntryKey, token: StoredToken, options: &PutOptions) -> Result<Revision> {
        self.mutate(|doc, shape, now| {
            let (revision, _) = self.apply_put(doc, shape, now, key, token, options)?;
            Ok((revision, true))
        })
    }

    /// Size-checks every item (before the lock), then applies them in order in one
    /// [`mutate`](Self::mutate): one lock, one rewrite.
    fn put_many(
        &self,
        caps: &Capabilities,
        items: Vec<(EntryKey, TokenSet, PutOptions)>,
        on_conflict: OnConflict,
    ) -> Result<Vec<Result<Revision>>> {
        let items = items
            .into_iter()
            .map(|(key, token, options)| {
                let token = stored_token(caps, &key, &token)?;
                Ok((key, token, options))
            })
            .collect::<Result<Vec<_>>>()?;
        if items.is_empty() {
            return Ok(Vec::new());
        }
        self.mutate(|doc, shape, now| {
            let revision_before = doc.revision;
            // What each applied item replaced, to take the batch back if a later item fails:
            // `mutate` keeps the map of a failed write cached as the file's content.
            let mut undo: Vec<(EntryKey, Option<StoredEntry>)> = Vec::with_capacity(items.len());
            let mut outcomes = Vec::with_capacity(items.len());
            for (key, token, options) in items {
                match self.apply_put(doc, shape, now, &key, token, &options) {
                    Ok((revision, replaced)) => {
                        undo.push((key, replaced));
                        outcomes.push(Ok(revision));
                    }
                    Err(e) if e.is_conflict() && on_conflict == OnConflict::Skip => {
                        outcomes.push(Err(e));
                    }
                    Err(e) => {
                        for (key, replaced) in undo.into_iter().rev() {
                            match replaced {
                                Some(entry) => doc.entries.insert(key.into_string(), entry),
                                None => doc.entries.remove(key.as_str()),
                            };
                        }
                        doc.revision = revision_before;
                        return Err(e);
                    }
                }
            }
            let changed = !undo.is_empty();
            Ok((outcomes, changed))
        })
    }

    /// Applies one put to `doc`, the store as it is under the lock (including the earlier
    /// items of a batch): checks the precondition against it, then inserts the entry with the
    /// next revision. Returns the new revision and the entry it replaced; leaves `doc`
    /// unchanged when it fails.
    fn apply_put(
        &self,
        doc: &mut StoreDoc,
        shape: Shape,
        now: SystemTime,
        key: &EntryKey,
        token: StoredToken,
        options: &PutOptions,
    ) -> Result<(Revision, Option<StoredEntry>)> {
        let current = doc
            .entries
            .get(key.as_str())
            .map(|e| Revision::from_u64(e.revision));
        check_precondition(key, &options.precondition, current.as_ref())?;
        let revision = next_revision(doc, shape).map_err(|e| self.io(e))?;
        let expires_at_ms = oauth_store_core::clock::expiry(now, options.ttl).map(to_unix_millis);
        let ttl_seconds = options.ttl.map(|t| {
            let secs = t.as_secs().saturating_add(u64::from(t.subsec_nanos() > 0));
            i64::try_from(secs).unwrap_or(i64::MAX)
        });
        let replaced = doc.entries.insert(
            key.as_str().to_owned(),
            StoredEntry {
                token,
                ttl_seconds,
                revision,
                revision_stored: true,
                expires_at_ms,
                updated_at_ms: Some(to_unix_millis(now)),
            },
        );
        Ok((Revision::from_u64(revision), replaced))
    }

    fn delete(&self, key: &EntryKey, options: &DeleteOptions) -> Result<bool> {
        self.mutate(|doc, _, _| {
            let current = doc
                .entries
                .get(key.as_str())
                .map(|e| Revision::from_u64(e.revision));
            if let Some(want) = &options.if_revision {
                check_precondition(
                    key,
                    &Precondition::IfRevision(want.clone()),
                    current.as_ref(),
                )?;
            }
            let existed = doc.entries.remove(key.as_str()).is_some();
            Ok((existed, existed))
        })
    }

    /// The read-modify-write every write goes through, under the lock: load (refusing to go
    /// on if the file cannot be opened), drop expired entries, apply `f`, and if `f` changed
    /// something, seal and replace the file atomically.
    ///
    /// `f` returns its result and whether it changed the store; it must not change the store
    /// when it fails.
    fn mutate<R>(
        &self,
        f: impl FnOnce(&mut StoreDoc, Shape, SystemTime) -> Result<(R, bool)>,
    ) -> Result<R> {
        fsutil::create_dir_all(&self.dir).map_err(|e| Error::io(self.dir.display(), e))?;
        let _lock = lock::acquire(&self.lock_path, self.lock_timeout)?;
        let keys = self.keys();
        let snap = self.load(&keys, Permissive::Tighten)?;
        // The time of the write is taken once the lock is held.
        let now_time = self.clock.now();
        let now = to_unix_millis(now_time);
        let shape = self.shape();

        // Take the snapshot out of the cache: it is about to be replaced. Without other
        // holders its map is reused as it is; otherwise it is copied.
        {
            let mut cache = self.cache();
            if cache.as_ref().is_some_and(|c| Arc::ptr_eq(c, &snap)) {
                *cache = None;
            }
        }
        let Snapshot {
            id,
            pin,
            mut doc,
            header,
            by_primary,
        } = match Arc::try_unwrap(snap) {
            Ok(s) => s,
            Err(shared) => Snapshot {
                id: shared.id,
                pin: shared.pin.as_ref().and_then(|f| f.try_clone().ok()),
                doc: shared.doc.clone(),
                header: shared.header.clone(),
                by_primary: shared.by_primary,
            },
        };
        let had_file = id.is_some();
        let before = doc.entries.len();
        doc.entries.retain(|_, e| !e.is_expired_at(now));
        let purged = before != doc.entries.len();

        let outcome = f(&mut doc, shape, now_time);
        let unchanged = match &outcome {
            Ok((_, changed)) => !changed && !purged,
            Err(_) => !purged,
        };
        if unchanged {
            // Nothing to write (a lost condition, a delete of a missing key): the snapshot
            // still describes the file, so keep it cached.
            *self.cache() = Some(Arc::new(Snapshot {
                id,
                pin,
                doc,
                header,
                by_primary,
            }));
            return outcome.map(|(result, _)| result);
        }
        let (result, _) = outcome?;
        fsutil::remove_stale_temp_files(&self.path);
        if doc.entries.is_empty() && shape == Shape::V1 {
            // The v1 behaviour: the last delete removes the file.
            if had_file {
                fsutil::remove_durably(&self.path).map_err(|e| self.io(e))?;
            }
            *self.cache() = Some(Arc::new(Snapshot::empty(None, None)));
            return Ok(result);
        }
        let reuse =
            header.filter(|h| by_primary && h.version() == Version::V2 && shape == Shape::V2);
        self.write(&keys, doc, shape, reuse)?;
        Ok(result)
    }

    /// Seals and writes `doc`, then caches it as the file's new content.
    fn write(
        &self,
        keys: &KeyRing,
        doc: StoreDoc,
        shape: Shape,
        reuse: Option<Header>,
    ) -> Result<()> {
        let plaintext = doc::serialize(&doc, shape);
        let options = match shape {
            Shape::V1 => SealOptions::v1(),
            Shape::V2 => SealOptions::v2().context(FILE_CONTEXT),
        };
        let options = match &reuse {
            Some(h) => options.reuse_salt_of(h),
            None => options,
        };
        let sealed = envelope::seal(keys, &plaintext, &options)?;
        if sealed.len() as u64 > self.max_file_size {
            return Err(self.too_large(sealed.len() as u64));
        }
        // The header of what was just written: the reused one differs only in its nonce,
        // which sealing does not reuse; otherwise open the new envelope once to learn it.
        let header = if let Some(h) = reuse {
            h
        } else {
            let max_len = usize::try_from(self.max_file_size).unwrap_or(usize::MAX);
            let context: &[u8] = if shape == Shape::V2 {
                FILE_CONTEXT
            } else {
                &[]
            };
            envelope::open(
                keys,
                &sealed,
                &OpenOptions::new(&self.location)
                    .context(context)
                    .max_len(max_len),
            )?
            .header
        };
        let file = fsutil::write_atomic(&self.path, &sealed).map_err(|e| self.io(e))?;
        let id = file.metadata().map(|m| FileId::of(&m)).ok();
        *self.cache() = Some(Arc::new(Snapshot {
            id,
            pin: Some(file),
            doc,
            header: Some(header),
            by_primary: true,
        }));
        Ok(())
    }

    fn rotate(&self, new_keys: KeyRing) -> Result<usize> {
        fsutil::create_dir_all(&self.dir).map_err(|e| Error::io(self.dir.display(), e))?;
        let _lock = lock::acquire(&self.lock_path, self.lock_timeout)?;
        let snap = self.load(&self.keys(), Permissive::Tighten)?;
        *self.cache() = None;
        let count = snap.doc.entries.len();
        if snap.id.is_some() && snap.header.is_some() {
            let mut doc = snap.doc.clone();
            let now = self.now_ms();
            doc.entries.retain(|_, e| !e.is_expired_at(now));
            let count = doc.entries.len();
            self.write(&new_keys, doc, self.shape(), None)?;
            *self.keys.write().unwrap_or_else(PoisonError::into_inner) = new_keys;
            return Ok(count);
        }
        *self.keys.write().unwrap_or_else(PoisonError::into_inner) = new_keys;
        Ok(count)
    }

    fn quarantine(&self) -> Result<Option<PathBuf>> {
        // Nothing there: nothing to move, and no directory or lock file to create for it.
        match fs::symlink_metadata(&self.path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io(e)),
            Ok(_) => {}
        }
        let _lock = lock::acquire(&self.lock_path, self.lock_timeout)?;
        *self.cache() = None;
        match self.load(&self.keys(), Permissive::Leave) {
            Ok(_) => return Ok(None),
            Err(Error::Corrupt { .. } | Error::WrongKey { .. } | Error::TooLarge { .. }) => {}
            Err(e) => return Err(e),
        }
        *self.cache() = None;
        let (_, name) = fsutil::split(&self.path).map_err(|e| self.io(e))?;
        let stamp = self.now_ms();
        for n in 0..100u32 {
            let mut aside = name.to_owned();
            aside.push(format!(".corrupt-{stamp}"));
            if n > 0 {
                aside.push(format!("-{n}"));
            }
            let aside = self.dir.join(aside);
            match fsutil::rename_noclobber(&self.path, &aside) {
                Ok(()) => return Ok(Some(aside)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(self.io(e)),
            }
        }
        Err(self.io(std::io::Error::other(
            "no free name to move the store file aside to",
        )))
    }

    fn status(&self) -> Result<FileStatus> {
        let mut st = FileStatus {
            path: self.path.clone(),
            lock_path: self.lock_path.clone(),
            exists: false,
            mode: None,
            size: None,
            envelope_version: None,
            kdf: None,
            key_id: None,
            opened_by_primary: None,
            entries: None,
            expired_entries: None,
            store_revision: None,
            lock_held_elsewhere: lock::held_elsewhere(&self.lock_path)?,
            stale_temp_files: fsutil::stale_temp_files(&self.path).unwrap_or_default(),
            problems: Vec::new(),
        };
        if !st.stale_temp_files.is_empty() {
            st.problems.push(Problem::StaleTempFiles {
                count: st.stale_temp_files.len(),
            });
        }
        match fs::symlink_metadata(&self.path) {
            Ok(m) => {
                st.exists = true;
                st.mode = Some(m.permissions().mode() & 0o7777);
                st.size = Some(m.len());
                if m.file_type().is_file() && m.mode() & 0o077 != 0 {
                    st.problems.push(Problem::PermissiveMode {
                        mode: m.mode() & 0o7777,
                    });
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(st),
            Err(e) => {
                st.problems.push(Problem::Unreadable(self.io(e)));
                return Ok(st);
            }
        }
        match self.load(&self.keys(), Permissive::Leave) {
            Ok(snap) => {
                let now = self.now_ms();
                if let Some(h) = &snap.header {
                    st.envelope_version = Some(h.version().number());
                    st.kdf = Some(h.kdf().name());
                    st.key_id = h.key_id().map(|k| k.to_string());
                    st.opened_by_primary = Some(snap.by_primary);
                    if !snap.by_primary {
                        st.problems.push(Problem::OpenedByOldKey);
                    }
                }
                st.entries = Some(snap.doc.entries.len());
                st.expired_entries = Some(
                    snap.doc
                        .entries
                        .values()
                        .filter(|e| e.is_expired_at(now))
                        .count(),
                );
                if snap
                    .header
                    .as_ref()
                    .is_some_and(|h| h.version() == Version::V2)
                {
                    st.store_revision = Some(snap.doc.revision);
                }
                let invalid: Vec<String> = snap
                    .doc
                    .entries
                    .iter()
                    .filter(|(k, e)| EntryKey::new(k.as_str()).is_err() || e.token.parse().is_err())
                    .map(|(k, _)| k.clone())
                    .collect();
                if !invalid.is_empty() {
                    st.problems.push(Problem::InvalidEntries { keys: invalid });
                }
            }
            Err(e) => st.problems.push(Problem::Unreadable(e)),
        }
        Ok(st)
    }
}

fn meta_of(e: &StoredEntry) -> EntryMeta {
    EntryMeta::new(
        Revision::from_u64(e.revision),
        e.expires_at_ms.map(from_unix_millis),
        e.updated_at_ms.map(from_unix_millis),
    )
}

/// The revision of the next write. v2: the store-wide counter, plus one (a new store's
/// counter starts at a random value below 2^40, so a store re-created after quarantine or
/// deletion does not hand out the revisions of the old one again). v1 files have no place
/// for a counter that harn-vm would keep, so v1 revisions are random below 2^53.
fn next_revision(doc: &mut StoreDoc, shape: Shape) -> std::io::Result<u64> {
    match shape {
        Shape::V2 => {
            if doc.revision == 0 {
                doc.revision = fsutil::random_u64()? % (1 << 40);
            }
            doc.revision = doc.revision.checked_add(1).ok_or_else(|| {
                std::io::Error::other("the store's revision counter is exhausted")
            })?;
            Ok(doc.revision)
        }
        Shape::V1 => {
            let r = fsutil::random_u64()? % (MAX_RANDOM_REVISION - 1) + 1;
            doc.revision = doc.revision.max(r);
            Ok(r)
        }
    }
}

#[cfg(test)]
mod tests {
    use oauth_store_core::key_material::SecretKey;

    use super::*;

    #[test]
    fn public_types_are_send_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<FileBackend>();
        check::<FileBackendBuilder>();
        check::<FileStatus>();
    }

    #[test]
    fn batch_futures_are_send() {
        fn check<T: Send>(_: &T) {}
        let dir = std::env::temp_dir().join("never-created").join("s.json");
        let store = FileBackend::open(dir, KeyRing::new(SecretKey::generate())).unwrap();
        // Built but never polled: nothing is touched.
        check(&store.put_many(Vec::new()));
        check(&store.put_many_skipping_conflicts(Vec::new()));
    }
}
