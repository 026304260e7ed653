//! Opening the object store behind the offline tier: a folder under the
//! data directory by default, or `s3://bucket/prefix` configured by the
//! standard AWS environment variables.

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use std::time::Duration;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{BackoffConfig, ClientConfigKey, ObjectStore, RetryConfig};
use url::Url;

use crate::error::{OfflineError, Result};
use crate::paths::OfflineRoot;

/// The offline tier's object store and where in it the files go.
#[derive(Debug, Clone)]
pub struct OfflineStore {
    objects: Arc<dyn ObjectStore>,
    root: OfflineRoot,
    /// The file system of a local store, whose files are fsynced after
    /// writing.
    local: Option<Arc<LocalFileSystem>>,
}

impl OfflineStore {
    /// Opens the store at `location` (`s3://bucket/prefix`, `file:///dir`
    /// or a plain directory), or at `<data_dir>/offline` when `None`. S3 is
    /// configured by the standard `AWS_*` environment variables, and then
    /// by `options` (object_store's keys, e.g. `aws_endpoint`,
    /// `aws_allow_http`), which take precedence.
    pub fn open(
        location: Option<&str>,
        data_dir: &FsPath,
        options: &[(String, String)],
    ) -> Result<Self> {
        match location {
            None => Self::local(&data_dir.join("offline")),
            Some(location) if location.starts_with("s3://") => Self::s3(location, options),
            Some(location) => {
                let dir = location.strip_prefix("file://").unwrap_or(location);
                Self::local(FsPath::new(dir))
            }
        }
    }

    /// The store over any object store, with the files under `prefix`;
    /// `shown` is how locations are shown to users. Nothing is fsynced:
    /// the store itself must make a PUT durable before acknowledging it.
    /// Tests use it with an in-memory store and with stores that fail on
    /// purpose.
    pub fn over(objects: Arc<dyn ObjectStore>, prefix: Path, shown: impl Into<String>) -> Self {
        Self {
            objects,
            root: OfflineRoot::new(prefix, shown),
            local: None,
        }
    }

    fn local(dir: &FsPath) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| {
            OfflineError::Config(format!(
                "cannot create the offline folder {}: {e}",
                dir.display()
            ))
        })?;
        let dir = dir.canonicalize()?;
        let prefix = Path::from_absolute_path(&dir)
            .map_err(|e| OfflineError::Config(format!("offline folder {}: {e}", dir.display())))?;
        let local = Arc::new(LocalFileSystem::new());
        Ok(Self {
            objects: Arc::clone(&local) as Arc<dyn ObjectStore>,
            root: OfflineRoot::new(prefix, format!("file://{}", dir.display())),
            local: Some(local),
        })
    }

    fn s3(location: &str, options: &[(String, String)]) -> Result<Self> {
        let url = Url::parse(location)
            .map_err(|e| OfflineError::Config(format!("offline store '{location}': {e}")))?;
        let bucket = url.host_str().filter(|b| !b.is_empty()).ok_or_else(|| {
            OfflineError::Config(format!("offline store '{location}' names no bucket"))
        })?;
        // Fail fast and let the flusher's own backoff retry: it turns the
        // status Blocked while storage is down instead of hanging a flush.
        let retry = RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(2),
                base: 2.0,
            },
            max_retries: 3,
            retry_timeout: Duration::from_secs(10),
        };
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_retry(retry);
        for (key, value) in options {
            let key = key
                .to_ascii_lowercase()
                .parse()
                .map_err(|e| OfflineError::Config(format!("offline store option '{key}': {e}")))?;
            builder = builder.with_config(key, value);
        }
        // Timeouts are set key by key: replacing the client options as a
        // whole would drop what the environment set (AWS_ALLOW_HTTP).
        for (key, default) in [
            (ClientConfigKey::ConnectTimeout, "3s"),
            (ClientConfigKey::Timeout, "120s"),
        ] {
            let key = AmazonS3ConfigKey::Client(key);
            if builder.get_config_value(&key).is_none() {
                builder = builder.with_config(key, default);
            }
        }
        check_plain_http(&builder)?;
        let objects = builder
            .build()
            .map_err(|e| OfflineError::Config(format!("offline store '{location}': {e}")))?;
        let prefix = Path::from(url.path().trim_matches('/'));
        let shown = format!("s3://{bucket}/{prefix}");
        Ok(Self {
            objects: Arc::new(objects),
            root: OfflineRoot::new(prefix, shown.trim_end_matches('/').to_owned()),
            local: None,
        })
    }

    /// The object store seen from the offline root: every path is relative
    /// to it, and nothing outside it can be reached. The query engine reads
    /// through this one only.
    pub fn scoped_objects(&self) -> Arc<dyn ObjectStore> {
        Arc::new(PrefixStore::new(
            Arc::clone(&self.objects),
            self.root.prefix().clone(),
        ))
    }

    /// The object store itself.
    pub fn objects(&self) -> &Arc<dyn ObjectStore> {
        &self.objects
    }

    /// Where the files go.
    pub fn root(&self) -> &OfflineRoot {
        &self.root
    }

    /// The local folder or file behind `path`, for a local store.
    pub fn local_path(&self, path: &Path) -> Option<PathBuf> {
        self.local.as_ref()?.path_to_filesystem(path).ok()
    }

    /// For a local store, fsyncs a file just written and its folder, so a
    /// power loss cannot undo it once the log is trimmed. Object stores
    /// such as S3 acknowledge a PUT only once it is durable.
    pub fn make_durable(&self, path: &Path) -> Result<()> {
        let Some(file) = self.local_path(path) else {
            return Ok(());
        };
        std::fs::File::open(&file)?.sync_all()?;
        if let Some(parent) = file.parent() {
            std::fs::File::open(parent)?.sync_all()?;
        }
        Ok(())
    }
}

/// Refuses an `http://` endpoint unless plain HTTP is allowed: the S3
/// client would refuse every request later with an obscure "builder error",
/// leaving the offline store Blocked for good.
fn check_plain_http(builder: &AmazonS3Builder) -> Result<()> {
    let endpoint = builder
        .get_config_value(&AmazonS3ConfigKey::S3Endpoint)
        .or_else(|| builder.get_config_value(&AmazonS3ConfigKey::Endpoint));
    let Some(endpoint) = endpoint else {
        return Ok(());
    };
    let allowed = builder
        .get_config_value(&AmazonS3ConfigKey::Client(ClientConfigKey::AllowHttp))
        .is_some_and(|value| value.eq_ignore_ascii_case("true"));
    if endpoint.to_ascii_lowercase().starts_with("http://") && !allowed {
        return Err(OfflineError::Config(format!(
            "the S3 endpoint {endpoint} is plain HTTP, which is refused unless allowed: \
             set AWS_ALLOW_HTTP=true or --offline-store-option aws_allow_http=true \
             (or use an https:// endpoint)"
        )));
    }
    Ok(())
}
