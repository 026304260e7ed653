//! The only object store a query can reach: the offline store, scoped to
//! its root. The read-only guard refuses statements that read files or
//! URLs; this is the second barrier behind it. Whatever a future guard
//! bypass could name, the engine has no store for it: no local file
//! system at `/`, no other bucket, nothing outside the offline root.

use std::sync::Arc;

use datafusion::error::{DataFusionError, Result};
use datafusion::execution::object_store::{ObjectStoreRegistry, ObjectStoreUrl};
use object_store::ObjectStore;
use url::Url;

use crate::error::SqlError;

/// The URL under which the offline store is registered: paths below it
/// are relative to the offline root.
pub(crate) const OFFLINE_STORE_URL: &str = "almanac-offline://store/";

/// The URL of the offline store, for file scans.
pub(crate) fn offline_store_url() -> ObjectStoreUrl {
    ObjectStoreUrl::parse(OFFLINE_STORE_URL).expect("a valid object store URL")
}

/// A registry that holds the offline store and nothing else, and takes no
/// other store.
#[derive(Debug)]
pub(crate) struct OfflineOnly {
    url: Url,
    store: Arc<dyn ObjectStore>,
}

impl OfflineOnly {
    /// A registry over `store`, already scoped to the offline root.
    pub(crate) fn new(store: Arc<dyn ObjectStore>) -> Self {
        Self {
            url: Url::parse(OFFLINE_STORE_URL).expect("a valid URL"),
            store,
        }
    }

    fn is_offline_store(&self, url: &Url) -> bool {
        url.scheme() == self.url.scheme() && url.host_str() == self.url.host_str()
    }
}

impl ObjectStoreRegistry for OfflineOnly {
    fn register_store(
        &self,
        _url: &Url,
        _store: Arc<dyn ObjectStore>,
    ) -> Option<Arc<dyn ObjectStore>> {
        // Nothing else is ever served; the call has no way to fail.
        None
    }

    fn get_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        if self.is_offline_store(url) {
            return Ok(Arc::clone(&self.store));
        }
        Err(DataFusionError::External(Box::new(SqlError::ReadOnly(
            format!("reading '{url}' is refused: queries read feature groups only"),
        ))))
    }
}
