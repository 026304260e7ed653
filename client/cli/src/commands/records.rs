//! Record commands.

use almanac_client::DeletionMode;
use almanac_client::proto as pb;
use anyhow::Result;
use serde_json::json;

use super::{connect, print_json};
use crate::cli::{DeleteRecordArgs, GetRecordArgs, ListRecordsArgs, PutRecordArgs};
use crate::output::{record_json, time_text, value_text};
use crate::parse;

pub async fn put(args: PutRecordArgs) -> Result<()> {
    let record = parse::record(&args.record)?;
    let ttl_seconds = args
        .ttl
        .map(|ttl| parse::ttl_seconds("--ttl", ttl.into()))
        .transpose()?;
    let target_stores = match (args.online_only, args.offline_only) {
        (true, _) => vec![pb::TargetStore::Online as i32],
        (_, true) => vec![pb::TargetStore::Offline as i32],
        _ => vec![],
    };
    let client = connect(&args.client).await?;
    client
        .put_record_with(pb::PutRecordRequest {
            feature_group_name: args.name,
            record,
            target_stores,
            ttl_seconds,
        })
        .await?;
    if args.client.json {
        print_json(&json!({"written": 1}));
    }
    Ok(())
}

pub async fn get(args: GetRecordArgs) -> Result<()> {
    let client = connect(&args.client).await?;
    let response = client
        .get_record_with(pb::GetRecordRequest {
            feature_group_name: args.name,
            record_identifier_value_as_string: args.record_id,
            feature_names: args.features,
            return_expiration: args.with_expiration,
        })
        .await?;
    let found = !response.record.is_empty();
    let expires_at = response.expires_at_micros.map(time_text);
    if args.client.json {
        let record = if found {
            record_json(&response.record)
        } else {
            serde_json::Value::Null
        };
        if args.with_expiration {
            print_json(&json!({"record": record, "expires_at": expires_at}));
        } else {
            print_json(&record);
        }
        return Ok(());
    }
    if !found {
        println!("no record");
        return Ok(());
    }
    let width = response
        .record
        .iter()
        .map(|f| f.feature_name.len())
        .max()
        .unwrap_or(0);
    for feature in &response.record {
        println!(
            "{:<width$}  {}",
            feature.feature_name,
            value_text(feature.value.as_ref())
        );
    }
    if args.with_expiration {
        println!(
            "{:<width$}  {}",
            "(expires at)",
            expires_at.unwrap_or_else(|| "never".into())
        );
    }
    Ok(())
}

pub async fn delete(args: DeleteRecordArgs) -> Result<()> {
    let client = connect(&args.client).await?;
    let mode = if args.hard {
        DeletionMode::Hard
    } else {
        DeletionMode::Soft
    };
    client
        .delete_record(&args.name, &args.record_id, &args.event_time, mode)
        .await?;
    if args.client.json {
        print_json(&json!({"deleted": args.record_id, "hard": args.hard}));
    }
    Ok(())
}

pub async fn list(args: ListRecordsArgs) -> Result<()> {
    let client = connect(&args.client).await?;
    let limit = args.limit.unwrap_or(usize::MAX);
    let mut records = Vec::new();
    let mut page_token = String::new();
    while records.len() < limit {
        let page = client
            .list_records(pb::ListRecordsRequest {
                feature_group_name: args.name.clone(),
                page_size: (limit - records.len()).min(1000) as u32,
                page_token,
                include_soft_deleted: args.include_soft_deleted,
            })
            .await?;
        records.extend(page.records);
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    records.truncate(limit);
    if args.client.json {
        let listed: Vec<_> = records
            .iter()
            .map(|r| json!({"record_id": r.record_identifier_value_as_string, "event_time": time_text(r.event_time_micros), "soft_deleted": r.soft_deleted}))
            .collect();
        print_json(&json!(listed));
    } else {
        for record in &records {
            let deleted = if record.soft_deleted {
                "  (soft-deleted)"
            } else {
                ""
            };
            println!(
                "{}  {}{deleted}",
                record.record_identifier_value_as_string,
                time_text(record.event_time_micros)
            );
        }
    }
    Ok(())
}
