//! The SQL catalog: one schema, `public`, in one catalog, `almanac`, whose
//! tables are the live feature groups, read fresh from the engine's
//! catalog on every lookup.

use std::sync::Arc;

use almanac_offline::OfflineStore;
use async_trait::async_trait;
use datafusion::catalog::{CatalogProvider, SchemaProvider};
use datafusion::datasource::TableProvider;
use datafusion::error::Result as DfResult;

use crate::source::GroupSource;
use crate::table::GroupTable;

/// Name of the catalog that holds the feature groups.
pub const CATALOG: &str = "almanac";
/// Name of the schema that holds the feature groups.
pub const SCHEMA: &str = "public";

/// The feature groups as tables.
#[derive(Debug)]
pub struct GroupTables {
    source: Arc<dyn GroupSource>,
    store: OfflineStore,
}

impl GroupTables {
    pub fn new(source: Arc<dyn GroupSource>, store: OfflineStore) -> Self {
        Self { source, store }
    }

    /// The table of the group called `name`; if no group has exactly that
    /// name, the one group whose name matches it regardless of case.
    pub fn group_table(&self, name: &str) -> Option<Arc<GroupTable>> {
        let group = self.source.group(name).or_else(|| {
            let mut matches = self
                .source
                .groups()
                .into_iter()
                .filter(|g| g.name.eq_ignore_ascii_case(name));
            let first = matches.next()?;
            matches.next().is_none().then_some(first)
        })?;
        Some(Arc::new(GroupTable::new(
            group,
            Arc::clone(&self.source),
            self.store.clone(),
        )))
    }
}

#[async_trait]
impl SchemaProvider for GroupTables {
    fn table_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .source
            .groups()
            .iter()
            .map(|g| g.name.clone())
            .collect();
        names.sort();
        names
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        Ok(self.group_table(name).map(|t| t as Arc<dyn TableProvider>))
    }

    fn table_exist(&self, name: &str) -> bool {
        self.group_table(name).is_some()
    }
}

/// The `almanac` catalog, with the one schema `public`.
#[derive(Debug)]
pub(crate) struct AlmanacCatalog {
    tables: Arc<GroupTables>,
}

impl AlmanacCatalog {
    pub(crate) fn new(tables: Arc<GroupTables>) -> Self {
        Self { tables }
    }
}

impl CatalogProvider for AlmanacCatalog {
    fn schema_names(&self) -> Vec<String> {
        vec![SCHEMA.to_owned()]
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        (name == SCHEMA).then(|| Arc::clone(&self.tables) as Arc<dyn SchemaProvider>)
    }
}
