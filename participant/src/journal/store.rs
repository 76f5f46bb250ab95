//! What the journal needs from storage: a value per ceremony, changed
//! atomically, made durable on demand, and the latest verified checkpoint.

/// A change of one value: given the value stored (if any), the value to
/// store, or `None` to leave it as it is.
pub type Change<'a> = dyn FnMut(Option<&[u8]>) -> anyhow::Result<Option<Vec<u8>>> + 'a;

/// Storage for the agent's journal. Every method may block on the disk.
pub trait JournalStore: Send + Sync + 'static {
    /// The value stored under `key`.
    fn get(&self, key: &str) -> anyhow::Result<Option<Vec<u8>>>;
    /// Every key and value, in key order.
    fn all(&self) -> anyhow::Result<Vec<(String, Vec<u8>)>>;
    /// Applies `change` to the value under `key` atomically and returns
    /// the value stored afterwards. The change is visible at once, and
    /// durable after the next [`JournalStore::sync`].
    fn update(&self, key: &str, change: &mut Change<'_>) -> anyhow::Result<Option<Vec<u8>>>;
    /// Makes every change so far durable: once it returns they survive a
    /// crash.
    fn sync(&self) -> anyhow::Result<()>;
    /// The latest checkpoint note kept.
    fn checkpoint(&self) -> anyhow::Result<Option<String>>;
    /// Keeps `note` as the latest checkpoint, durable after the next sync.
    fn set_checkpoint(&self, note: &str) -> anyhow::Result<()>;
}
