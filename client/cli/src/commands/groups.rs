//! Feature-group commands.

use almanac_client::proto as pb;
use anyhow::{Result, bail};
use serde_json::json;

use super::{connect, print_json};
use crate::cli::{
    CreateFeatureGroupArgs, DeleteFeatureGroupArgs, FeatureArgs, GroupArgs, ListFeatureGroupsArgs,
    SearchArgs, SearchResourceArg, SortByArg, SortOrderArg, UpdateFeatureGroupArgs,
    UpdateFeatureMetadataArgs,
};
use crate::output::{description_json, description_text, feature_spec_text, time_text};
use crate::parse;

fn print_description(json_output: bool, description: &pb::FeatureGroupDescription) {
    if json_output {
        print_json(&description_json(description));
    } else {
        print!("{}", description_text(description));
    }
}

pub async fn create(args: CreateFeatureGroupArgs) -> Result<()> {
    let mut features = match &args.from_file {
        Some(path) => {
            let format = crate::files::FileFormat::of(path, args.format)?;
            let schema = crate::files::inferred_schema(path, format)?;
            almanac_client::infer::feature_definitions(&schema, &args.event_time)
                .map_err(|e| anyhow::anyhow!("--from-file {}: {e}", path.display()))?
        }
        None => Vec::new(),
    };
    for spec in &args.features {
        let feature = parse::feature_spec(spec)?;
        match features.iter_mut().find(|f| f.name == feature.name) {
            Some(inferred) => *inferred = feature,
            None => features.push(feature),
        }
    }
    let tags = args
        .tags
        .iter()
        .map(|t| parse::key_value("--tag", t).map(|(key, value)| pb::Tag { key, value }))
        .collect::<Result<Vec<_>>>()?;
    let default_ttl_seconds = args
        .ttl
        .map(|ttl| parse::ttl_seconds("--ttl", ttl.into()))
        .transpose()?;
    let request = pb::CreateFeatureGroupRequest {
        feature_group_name: args.name,
        record_identifier_feature_name: args.record_identifier,
        event_time_feature_name: args.event_time,
        feature_definitions: features,
        online_store: Some(pb::OnlineStoreConfig {
            enabled: !args.no_online,
            default_ttl_seconds,
        }),
        offline_store: Some(pb::OfflineStoreConfig {
            enabled: !args.no_offline,
        }),
        description: args.description,
        tags,
    };
    let client = connect(&args.client).await?;
    let description = client.create_feature_group(request).await?;
    if args.client.json {
        print_json(&description_json(&description));
    } else {
        println!("created feature group {}", description.feature_group_name);
    }
    Ok(())
}

pub async fn describe(args: GroupArgs) -> Result<()> {
    let client = connect(&args.client).await?;
    let description = client.describe_feature_group(&args.name).await?;
    print_description(args.client.json, &description);
    Ok(())
}

pub async fn list(args: ListFeatureGroupsArgs) -> Result<()> {
    let client = connect(&args.client).await?;
    let mut summaries = Vec::new();
    let mut next_token = String::new();
    loop {
        let page = client
            .list_feature_groups(pb::ListFeatureGroupsRequest {
                name_contains: args.name_contains.clone(),
                sort_by: match args.sort_by {
                    SortByArg::Name => pb::SortBy::Name,
                    SortByArg::CreationTime => pb::SortBy::CreationTime,
                } as i32,
                sort_order: match args.sort_order {
                    SortOrderArg::Ascending => pb::SortOrder::Ascending,
                    SortOrderArg::Descending => pb::SortOrder::Descending,
                } as i32,
                next_token: next_token.clone(),
                ..Default::default()
            })
            .await?;
        summaries.extend(page.feature_group_summaries);
        if page.next_token.is_empty() {
            break;
        }
        next_token = page.next_token;
    }
    if args.client.json {
        let groups: Vec<_> = summaries
            .iter()
            .map(|s| json!({"feature_group_name": s.feature_group_name, "status": "Created", "creation_time": time_text(s.creation_time_micros)}))
            .collect();
        print_json(&json!(groups));
    } else {
        for summary in &summaries {
            println!(
                "{:<40} Created  {}",
                summary.feature_group_name,
                time_text(summary.creation_time_micros)
            );
        }
    }
    Ok(())
}

pub async fn update(args: UpdateFeatureGroupArgs) -> Result<()> {
    let feature_additions = args
        .add_features
        .iter()
        .map(|f| parse::feature_spec(f))
        .collect::<Result<Vec<_>>>()?;
    let default_ttl_seconds = match args.ttl.as_deref() {
        None => None,
        Some("none") => Some(0),
        Some(text) => {
            let duration = humantime::parse_duration(text)
                .map_err(|e| anyhow::anyhow!("--ttl '{text}': {e}"))?;
            Some(parse::ttl_seconds("--ttl", duration)?)
        }
    };
    if feature_additions.is_empty() && default_ttl_seconds.is_none() && args.description.is_none() {
        bail!("nothing to update: give --add-feature, --ttl or --description");
    }
    let client = connect(&args.client).await?;
    let description = client
        .update_feature_group(pb::UpdateFeatureGroupRequest {
            feature_group_name: args.name,
            feature_additions,
            default_ttl_seconds,
            description: args.description,
        })
        .await?;
    print_description(args.client.json, &description);
    Ok(())
}

pub async fn delete(args: DeleteFeatureGroupArgs) -> Result<()> {
    let client = connect(&args.client).await?;
    client
        .delete_feature_group(&args.name, args.purge_offline)
        .await?;
    if args.client.json {
        print_json(&json!({"deleted": args.name}));
    } else {
        println!("deleted feature group {}", args.name);
    }
    Ok(())
}

fn print_metadata(json_output: bool, metadata: &pb::FeatureMetadata) {
    let feature = metadata.feature.clone().unwrap_or_default();
    if json_output {
        print_json(&json!({
            "feature_group_name": metadata.feature_group_name,
            "feature": feature_spec_text(&feature),
            "description": metadata.description,
            "parameters": metadata.parameters.iter().map(|p| (p.key.clone(), json!(p.value))).collect::<serde_json::Map<_, _>>(),
            "last_modified_time": time_text(metadata.last_modified_time_micros),
        }));
    } else {
        println!("{:<20} {}", "feature", feature_spec_text(&feature));
        println!("{:<20} {}", "description", metadata.description);
        for parameter in &metadata.parameters {
            println!("{:<20} {}={}", "parameter", parameter.key, parameter.value);
        }
    }
}

pub async fn describe_metadata(args: FeatureArgs) -> Result<()> {
    let client = connect(&args.client).await?;
    let metadata = client
        .describe_feature_metadata(&args.group, &args.feature)
        .await?;
    print_metadata(args.client.json, &metadata);
    Ok(())
}

pub async fn update_metadata(args: UpdateFeatureMetadataArgs) -> Result<()> {
    let parameter_additions = args
        .parameters
        .iter()
        .map(|p| {
            parse::key_value("--parameter", p)
                .map(|(key, value)| pb::FeatureParameter { key, value })
        })
        .collect::<Result<Vec<_>>>()?;
    let client = connect(&args.client).await?;
    let metadata = client
        .update_feature_metadata(pb::UpdateFeatureMetadataRequest {
            feature_group_name: args.group,
            feature_name: args.feature,
            description: args.description,
            parameter_additions,
            parameter_removals: args.remove_parameters,
        })
        .await?;
    print_metadata(args.client.json, &metadata);
    Ok(())
}

pub async fn search(args: SearchArgs) -> Result<()> {
    let client = connect(&args.client).await?;
    let resource = match args.resource {
        SearchResourceArg::All => pb::SearchResource::All,
        SearchResourceArg::FeatureGroup => pb::SearchResource::FeatureGroup,
        SearchResourceArg::Feature => pb::SearchResource::Feature,
    };
    let mut hits = Vec::new();
    let mut next_token = String::new();
    loop {
        let page = client
            .search(pb::SearchRequest {
                query: args.query.clone(),
                resource: resource as i32,
                max_results: 0,
                next_token,
            })
            .await?;
        hits.extend(page.hits);
        if page.next_token.is_empty() {
            break;
        }
        next_token = page.next_token;
    }
    if args.client.json {
        let hits: Vec<_> = hits
            .iter()
            .map(|h| json!({"feature_group_name": h.feature_group_name, "feature_name": (!h.feature_name.is_empty()).then_some(&h.feature_name), "description": h.description}))
            .collect();
        print_json(&json!(hits));
    } else {
        for hit in &hits {
            match hit.feature_name.as_str() {
                "" => println!(
                    "feature group  {}  {}",
                    hit.feature_group_name, hit.description
                ),
                feature => println!(
                    "feature        {}.{}  {}",
                    hit.feature_group_name, feature, hit.description
                ),
            }
        }
    }
    Ok(())
}
