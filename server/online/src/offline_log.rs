//! The durable offline log: every accepted write, delete and TTL purge,
//! appended in the same atomic RocksDB batch as its online change, waiting
//! to be turned into Parquet by the offline tier.
//!
//! Keys are sequence numbers (big-endian u64) that give the arrival order;
//! the single writer assigns them, so commit order equals key order.
//!
//! ```text
//! u8      format (2; entries written before write_time existed are 1)
//! varint  group id
//! bytes   group name
//! zigzag  api_invocation_time, epoch microseconds
//! zigzag  write_time, epoch microseconds (format 2 on; format 1 entries
//!         read it as their api_invocation_time)
//! u8      is_deleted (0 or 1)
//! bytes   record id (canonical text)
//! ...     the record version (see almanac_types::codec)
//! ```

use almanac_types::codec::{self, Reader, put_bytes, put_signed, put_varint};
use almanac_types::{Record, RecordId};

use crate::error::{Result, StoreError};

const FORMAT: u8 = 2;

/// One entry of the offline log.
#[derive(Debug, Clone, PartialEq)]
pub struct OfflineLogEntry {
    pub group_id: u64,
    pub group_name: String,
    /// When the API call that wrote the entry was received.
    pub api_invocation_micros: i64,
    /// When the entry was committed to the durable log, the moment it
    /// became part of the offline store. Strictly increasing in log order,
    /// so it also orders versions that arrived in one call.
    pub write_micros: i64,
    /// A delete marker: only the record id and event time are set.
    pub is_deleted: bool,
    pub record_id: RecordId,
    /// The full version written (or the marker's id and event time).
    pub record: Record,
}

impl OfflineLogEntry {
    /// Encodes the entry.
    pub fn encode(&self) -> Vec<u8> {
        self.header().encode_with(&codec::encode(&self.record))
    }

    /// The entry's fields besides its record.
    pub fn header(&self) -> EntryHeader<'_> {
        EntryHeader {
            group_id: self.group_id,
            group_name: &self.group_name,
            api_invocation_micros: self.api_invocation_micros,
            write_micros: self.write_micros,
            is_deleted: self.is_deleted,
            record_id: &self.record_id.0,
        }
    }

    /// Decodes an entry; never panics on bad bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("offline log entry: {what}"));
        let mut reader = Reader::new(bytes);
        let format = reader.byte()?;
        if format != 1 && format != FORMAT {
            return Err(corrupt("unknown format"));
        }
        let group_id = reader.varint()?;
        let group_name =
            String::from_utf8(reader.bytes()?.to_vec()).map_err(|_| corrupt("group name"))?;
        let api_invocation_micros = reader.signed()?;
        let write_micros = if format == 1 {
            api_invocation_micros
        } else {
            reader.signed()?
        };
        let is_deleted = reader.byte()? != 0;
        let record_id = RecordId(
            String::from_utf8(reader.bytes()?.to_vec()).map_err(|_| corrupt("record id"))?,
        );
        let record = codec::decode(reader.rest())?;
        Ok(Self {
            group_id,
            group_name,
            api_invocation_micros,
            write_micros,
            is_deleted,
            record_id,
            record,
        })
    }

    /// Reads only the group id and invocation time of an encoded entry.
    pub fn decode_header(bytes: &[u8]) -> Result<(u64, i64)> {
        let mut reader = Reader::new(bytes);
        reader.byte()?;
        let group_id = reader.varint()?;
        reader.bytes()?;
        Ok((group_id, reader.signed()?))
    }
}

/// The fields of an entry besides its record, to encode an entry around a
/// record that is already encoded (the writer encodes each version once).
#[derive(Debug, Clone, Copy)]
pub struct EntryHeader<'a> {
    pub group_id: u64,
    pub group_name: &'a str,
    pub api_invocation_micros: i64,
    pub write_micros: i64,
    pub is_deleted: bool,
    pub record_id: &'a str,
}

impl EntryHeader<'_> {
    /// The entry: this header followed by `record`, an encoded version.
    pub fn encode_with(&self, record: &[u8]) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(32 + self.group_name.len() + self.record_id.len() + record.len());
        out.push(FORMAT);
        put_varint(&mut out, self.group_id);
        put_bytes(&mut out, self.group_name.as_bytes());
        put_signed(&mut out, self.api_invocation_micros);
        put_signed(&mut out, self.write_micros);
        out.push(u8::from(self.is_deleted));
        put_bytes(&mut out, self.record_id.as_bytes());
        out.extend_from_slice(record);
        out
    }
}

/// How far behind the offline store is for one group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backlog {
    /// Entries not yet in Parquet.
    pub entries: u64,
    /// Invocation time of the oldest of them.
    pub oldest_api_invocation_micros: Option<i64>,
}

impl Backlog {
    pub(crate) fn add(&mut self, api_invocation_micros: i64) {
        self.entries = self.entries.saturating_add(1);
        self.oldest_api_invocation_micros = Some(
            self.oldest_api_invocation_micros
                .map_or(api_invocation_micros, |oldest| {
                    oldest.min(api_invocation_micros)
                }),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use almanac_types::Value;

    #[test]
    fn round_trips() {
        let entry = OfflineLogEntry {
            group_id: 42,
            group_name: "reviews".into(),
            api_invocation_micros: -7,
            write_micros: 12,
            is_deleted: true,
            record_id: RecordId("r1".into()),
            record: Record {
                schema_version: 3,
                event_time_micros: 99,
                expires_at_micros: None,
                tombstone: false,
                values: vec![Value::String("r1".into()), Value::Null],
            },
        };
        let bytes = entry.encode();
        assert_eq!(OfflineLogEntry::decode(&bytes).unwrap(), entry);
        assert_eq!(OfflineLogEntry::decode_header(&bytes).unwrap(), (42, -7));
        assert!(OfflineLogEntry::decode(&bytes[..bytes.len() - 1]).is_err());
    }
}
