//! Handlers of the control plane: create, describe, update and delete
//! feature groups, and feature metadata.

use almanac_online::{FeatureMetadataUpdate, GroupUpdate, StoreError};
use almanac_proto as pb;
use almanac_types::FeatureGroup;
use tonic::Status;

use super::FeatureStoreService;
use crate::convert::{from_proto, to_proto};
use crate::status::to_status;

impl FeatureStoreService {
    pub(super) fn describe(&self, group: &FeatureGroup) -> pb::FeatureGroupDescription {
        let backlog = self.engine.offline_backlog(group.id);
        let offline = to_proto::offline_state(
            group,
            &self.offline.root().group_url(group),
            backlog,
            self.flush_status.blocked(),
            self.engine.now_micros(),
        );
        to_proto::description(group, offline)
    }

    pub(super) async fn create_group(
        &self,
        request: pb::CreateFeatureGroupRequest,
    ) -> Result<pb::CreateFeatureGroupResponse, Status> {
        let spec = from_proto::create_spec(request).map_err(to_status)?;
        let group = self.engine.create_group(spec).await.map_err(to_status)?;
        tracing::info!(group = %group.name, id = group.id, "created feature group");
        Ok(pb::CreateFeatureGroupResponse {
            feature_group: Some(self.describe(&group)),
        })
    }

    pub(super) fn describe_group(
        &self,
        request: pb::DescribeFeatureGroupRequest,
    ) -> Result<pb::FeatureGroupDescription, Status> {
        let group = self
            .engine
            .group(&request.feature_group_name)
            .map_err(to_status)?;
        Ok(self.describe(&group))
    }

    pub(super) async fn update_group(
        &self,
        request: pb::UpdateFeatureGroupRequest,
    ) -> Result<pb::FeatureGroupDescription, Status> {
        let add_features = request
            .feature_additions
            .into_iter()
            .map(from_proto::feature_definition)
            .collect::<Result<Vec<_>, _>>()
            .map_err(to_status)?;
        let update = GroupUpdate {
            add_features,
            // Some(0) clears the default: the engine stores it as none.
            default_ttl_seconds: request.default_ttl_seconds.map(Some),
            description: request.description,
        };
        let group = self
            .engine
            .update_group(&request.feature_group_name, update)
            .await
            .map_err(to_status)?;
        Ok(self.describe(&group))
    }

    pub(super) async fn delete_group(
        &self,
        request: pb::DeleteFeatureGroupRequest,
    ) -> Result<pb::DeleteFeatureGroupResponse, Status> {
        let group = self
            .engine
            .delete_group(&request.feature_group_name, request.purge_offline)
            .await
            .map_err(to_status)?;
        tracing::info!(group = %group.name, id = group.id, purge_offline = request.purge_offline, "deleted feature group");
        Ok(pb::DeleteFeatureGroupResponse {})
    }

    pub(super) async fn update_metadata(
        &self,
        request: pb::UpdateFeatureMetadataRequest,
    ) -> Result<pb::FeatureMetadata, Status> {
        let update = FeatureMetadataUpdate {
            description: request.description,
            add_parameters: request
                .parameter_additions
                .into_iter()
                .map(|p| (p.key, p.value))
                .collect(),
            remove_parameters: request.parameter_removals,
        };
        let group = self
            .engine
            .update_feature_metadata(&request.feature_group_name, &request.feature_name, update)
            .await
            .map_err(to_status)?;
        feature_metadata(&group, &request.feature_name)
    }

    pub(super) fn describe_metadata(
        &self,
        request: pb::DescribeFeatureMetadataRequest,
    ) -> Result<pb::FeatureMetadata, Status> {
        let group = self
            .engine
            .group(&request.feature_group_name)
            .map_err(to_status)?;
        feature_metadata(&group, &request.feature_name)
    }
}

fn feature_metadata(group: &FeatureGroup, feature: &str) -> Result<pb::FeatureMetadata, Status> {
    let (_, definition) = group
        .require_feature(feature)
        .map_err(|e| to_status(StoreError::from(e)))?;
    Ok(to_proto::feature_metadata(group, definition))
}
