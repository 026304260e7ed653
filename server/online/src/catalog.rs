//! Feature-group definitions: persisted in the `catalog` column family and
//! served from an in-memory snapshot.
//!
//! Only the writer thread changes the catalog, so a definition and the data
//! written under it always agree. Deleted groups keep their definition
//! (marked deleted) so that their offline-log entries can still be read.

use std::collections::HashMap;
use std::sync::Arc;

use almanac_types::FeatureGroup;
use rocksdb::{DB, IteratorMode, WriteBatch};
use serde::{Deserialize, Serialize};

use crate::db::cf;
use crate::error::{Result, StoreError};
use crate::keys::{CF_CATALOG, GROUP_PREFIX, NEXT_GROUP_ID_KEY, group_key, name_key};

/// A group definition as the catalog stores it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredGroup {
    pub group: FeatureGroup,
    /// Set once the group is deleted.
    pub deleted_micros: Option<i64>,
    /// Whether the deletion asked for the offline data to go too.
    pub purge_offline: bool,
    /// Set once the offline tier has removed the group's files.
    #[serde(default)]
    pub offline_purged: bool,
}

/// The in-memory snapshot of the catalog.
#[derive(Debug, Default)]
pub(crate) struct Catalog {
    live: HashMap<String, Arc<FeatureGroup>>,
    by_id: HashMap<u64, Arc<StoredGroup>>,
    next_id: u64,
}

impl Catalog {
    /// Loads every stored definition.
    pub(crate) fn load(db: &DB) -> Result<Self> {
        let mut catalog = Catalog {
            next_id: 1,
            ..Default::default()
        };
        let family = cf(db, CF_CATALOG);
        if let Some(bytes) = db.get_cf(family, NEXT_GROUP_ID_KEY)? {
            let bytes: [u8; 8] = bytes
                .as_slice()
                .try_into()
                .map_err(|_| StoreError::Corrupt("next group id".into()))?;
            catalog.next_id = u64::from_be_bytes(bytes);
        }
        let iter = db.iterator_cf(
            family,
            IteratorMode::From(GROUP_PREFIX, rocksdb::Direction::Forward),
        );
        for item in iter {
            let (key, value) = item?;
            if !key.starts_with(GROUP_PREFIX) {
                break;
            }
            let stored: StoredGroup = serde_json::from_slice(&value)
                .map_err(|e| StoreError::Corrupt(format!("catalog entry: {e}")))?;
            catalog.remember(stored);
        }
        Ok(catalog)
    }

    fn remember(&mut self, stored: StoredGroup) {
        let stored = Arc::new(stored);
        if stored.deleted_micros.is_none() {
            self.live
                .insert(stored.group.name.clone(), Arc::new(stored.group.clone()));
        } else if self.holds_name(&stored.group) {
            // Only this incarnation gives the name up: a later group of the
            // same name stays live when an old one's entry is stored again
            // (e.g. when its offline purge finishes).
            self.live.remove(&stored.group.name);
        }
        self.next_id = self.next_id.max(stored.group.id + 1);
        self.by_id.insert(stored.group.id, stored);
    }

    /// The live group called `name`.
    pub(crate) fn get(&self, name: &str) -> Result<Arc<FeatureGroup>> {
        self.live
            .get(name)
            .cloned()
            .ok_or_else(|| StoreError::GroupNotFound(name.to_owned()))
    }

    /// The live group with internal id `id`.
    pub(crate) fn live_by_id(&self, id: u64) -> Option<&FeatureGroup> {
        self.by_id
            .get(&id)
            .filter(|stored| stored.deleted_micros.is_none())
            .map(|stored| &stored.group)
    }

    /// Any group, live or deleted, with internal id `id`.
    pub(crate) fn stored_by_id(&self, id: u64) -> Option<Arc<StoredGroup>> {
        self.by_id.get(&id).cloned()
    }

    /// Deleted groups whose offline files are to go and have not yet.
    pub(crate) fn awaiting_offline_purge(&self) -> Vec<Arc<StoredGroup>> {
        self.by_id
            .values()
            .filter(|s| s.deleted_micros.is_some() && s.purge_offline && !s.offline_purged)
            .cloned()
            .collect()
    }

    /// Every live group, in no particular order.
    pub(crate) fn live_groups(&self) -> Vec<Arc<FeatureGroup>> {
        self.live.values().cloned().collect()
    }

    /// Hands out the next group id and records it in `batch`.
    pub(crate) fn allocate_id(&mut self, db: &DB, batch: &mut WriteBatch) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        batch.put_cf(
            cf(db, CF_CATALOG),
            NEXT_GROUP_ID_KEY,
            self.next_id.to_be_bytes(),
        );
        id
    }

    /// Whether the live group called like `group` is `group` itself.
    fn holds_name(&self, group: &FeatureGroup) -> bool {
        self.live
            .get(&group.name)
            .is_some_and(|live| live.id == group.id)
    }

    /// Adds to `batch` the writes that store `stored`. The name index
    /// changes only for the incarnation that holds the name.
    pub(crate) fn stage(
        &self,
        db: &DB,
        batch: &mut WriteBatch,
        stored: &StoredGroup,
    ) -> Result<()> {
        let family = cf(db, CF_CATALOG);
        let json = serde_json::to_vec(stored)
            .map_err(|e| StoreError::Corrupt(format!("catalog entry: {e}")))?;
        batch.put_cf(family, group_key(stored.group.id), json);
        let name = name_key(&stored.group.name);
        if stored.deleted_micros.is_none() {
            batch.put_cf(family, name, stored.group.id.to_be_bytes());
        } else if self.holds_name(&stored.group) {
            batch.delete_cf(family, name);
        }
        Ok(())
    }

    /// Takes `stored` into the snapshot once its batch is committed.
    pub(crate) fn commit(&mut self, stored: StoredGroup) {
        self.remember(stored);
    }
}
