//! Control-plane operations of the [`Engine`]: creating, changing and
//! deleting feature groups. Each runs on the writer thread, so it is
//! ordered with the writes around it.

use std::sync::Arc;

use almanac_types::{FeatureDefinition, FeatureGroup, FeatureGroupSpec, FeatureMetadata};
use almanac_types::{check_description, ttl_setting};
use rocksdb::ReadOptions;

use crate::catalog::{Catalog, StoredGroup};
use crate::db::cf;
use crate::engine::Engine;
use crate::error::{Result, StoreError};
use crate::keys::{CF_LOG_BY_GROUP, CF_OFFLINE_LOG, CF_RECORDS, group_record_range, log_key};
use crate::log_index::group_log_sequences;
use crate::writer::{CatalogChange, Command};

/// A change to a group's settings; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default)]
pub struct GroupUpdate {
    pub add_features: Vec<FeatureDefinition>,
    /// `Some(None)` or `Some(Some(0))` removes the default TTL.
    pub default_ttl_seconds: Option<Option<u64>>,
    pub description: Option<String>,
}

/// A change to one feature's metadata.
#[derive(Debug, Clone, Default)]
pub struct FeatureMetadataUpdate {
    pub description: Option<String>,
    pub add_parameters: Vec<(String, String)>,
    pub remove_parameters: Vec<String>,
}

/// Most parameters one feature may have.
pub(crate) const MAX_FEATURE_PARAMETERS: usize = 25;
/// Longest parameter key or value.
pub(crate) const MAX_PARAMETER_CHARS: usize = 255;

impl Engine {
    pub(crate) async fn change_catalog(&self, change: CatalogChange) -> Result<Arc<FeatureGroup>> {
        self.send(|reply| Command::Catalog { change, reply })
            .await?
    }

    /// Creates a feature group.
    pub async fn create_group(&self, spec: FeatureGroupSpec) -> Result<Arc<FeatureGroup>> {
        let limits = self.limits.clone();
        let now = self.now_micros();
        self.change_catalog(Box::new(move |catalog: &mut Catalog, db, batch| {
            if catalog.get(&spec.name).is_ok() {
                return Err(StoreError::GroupExists(spec.name));
            }
            // Check before taking an id, so a refused request changes nothing.
            FeatureGroup::create(spec.clone(), 0, now, &limits)?;
            let id = catalog.allocate_id(db, batch);
            let mut group = FeatureGroup::create(spec, id, now, &limits)?;
            group.offline_folder = Some(new_offline_folder(&group));
            stage_live(catalog, db, batch, group)
        }))
        .await
    }

    /// Adds features, changes the default TTL or the description.
    pub async fn update_group(&self, name: &str, update: GroupUpdate) -> Result<Arc<FeatureGroup>> {
        let limits = self.limits.clone();
        let now = self.now_micros();
        let name = name.to_owned();
        self.change_catalog(Box::new(move |catalog: &mut Catalog, db, batch| {
            let current = catalog.get(&name)?;
            let mut group = current.with_added_features(update.add_features, &limits)?;
            if let Some(ttl) = update.default_ttl_seconds {
                group.default_ttl_seconds = ttl_setting(ttl)?;
            }
            if let Some(description) = update.description {
                check_description(&description, &limits)?;
                group.description = description;
            }
            group.last_modified_micros = now;
            stage_live(catalog, db, batch, group)
        }))
        .await
    }

    /// Changes the description and parameters of one feature.
    pub async fn update_feature_metadata(
        &self,
        group_name: &str,
        feature: &str,
        update: FeatureMetadataUpdate,
    ) -> Result<Arc<FeatureGroup>> {
        let limits = self.limits.clone();
        let now = self.now_micros();
        let (group_name, feature) = (group_name.to_owned(), feature.to_owned());
        self.change_catalog(Box::new(move |catalog: &mut Catalog, db, batch| {
            let mut group = (*catalog.get(&group_name)?).clone();
            group.require_feature(&feature)?;
            let mut metadata: FeatureMetadata = group.feature_metadata.get(&feature).cloned().unwrap_or_default();
            if let Some(description) = update.description {
                check_description(&description, &limits)?;
                metadata.description = description;
            }
            for key in update.remove_parameters {
                metadata.parameters.remove(&key);
            }
            for (key, value) in update.add_parameters {
                if key.is_empty() || key.chars().count() > MAX_PARAMETER_CHARS || value.chars().count() > MAX_PARAMETER_CHARS {
                    return Err(StoreError::Invalid(format!(
                        "parameter '{key}': keys must be 1-{MAX_PARAMETER_CHARS} characters and values at most {MAX_PARAMETER_CHARS}"
                    )));
                }
                metadata.parameters.insert(key, value);
            }
            if metadata.parameters.len() > MAX_FEATURE_PARAMETERS {
                return Err(StoreError::OverLimit(format!(
                    "feature '{feature}' would have {} parameters; the limit is {MAX_FEATURE_PARAMETERS}",
                    metadata.parameters.len()
                )));
            }
            metadata.last_modified_micros = now;
            group.feature_metadata.insert(feature, metadata);
            group.last_modified_micros = now;
            stage_live(catalog, db, batch, group)
        }))
        .await
    }

    /// Deletes a group: its online data goes at once and the name is free.
    /// Its offline-log entries stay (to reach the offline store) unless
    /// `purge_offline` asks for them to go too.
    pub async fn delete_group(&self, name: &str, purge_offline: bool) -> Result<Arc<FeatureGroup>> {
        let now = self.now_micros();
        let name = name.to_owned();
        let backlog = Arc::clone(&self.shared);
        let deleted = self
            .change_catalog(Box::new(move |catalog: &mut Catalog, db, batch| {
                let group = catalog.get(&name)?;
                let (start, end) = group_record_range(group.id);
                batch.delete_range_cf(cf(db, CF_RECORDS), start, end);
                if purge_offline {
                    for sequence in group_log_sequences(db, group.id, ReadOptions::default())? {
                        batch.delete_cf(cf(db, CF_OFFLINE_LOG), log_key(sequence));
                    }
                    let (start, end) = group_record_range(group.id);
                    batch.delete_range_cf(cf(db, CF_LOG_BY_GROUP), start, end);
                }
                let stored = StoredGroup {
                    group: (*group).clone(),
                    deleted_micros: Some(now),
                    purge_offline,
                    offline_purged: false,
                };
                catalog.stage(db, batch, &stored)?;
                Ok(stored)
            }))
            .await?;
        if purge_offline {
            backlog
                .backlog
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&deleted.id);
        }
        Ok(deleted)
    }
}

/// A folder name for a new group's offline files that no other group, of
/// this name or any other, has or will have: the name, the creation second
/// (for people browsing the store) and a random 64-bit token. The token
/// keeps apart incarnations created within the same second, and groups of
/// other data directories sharing one offline store.
fn new_offline_folder(group: &FeatureGroup) -> String {
    format!(
        "{}-{}-{:016x}",
        group.name,
        group.created_micros.div_euclid(1_000_000),
        rand::random::<u64>()
    )
}

/// Stages a live group's definition.
fn stage_live(
    catalog: &Catalog,
    db: &rocksdb::DB,
    batch: &mut rocksdb::WriteBatch,
    group: FeatureGroup,
) -> Result<StoredGroup> {
    let stored = StoredGroup {
        group,
        deleted_micros: None,
        purge_offline: false,
        offline_purged: false,
    };
    catalog.stage(db, batch, &stored)?;
    Ok(stored)
}
