//! The binary encoding of one record version, as the online store and the
//! offline log keep it.
//!
//! ```text
//! u8      format (1)
//! varint  schema version the record was written with
//! u8      flags: 1 = tombstone, 2 = has expiry
//! zigzag  event time, epoch microseconds
//! zigzag  expiry, epoch microseconds        (only with flag 2)
//! varint  n, the number of values
//! n x     u8 tag + payload: 0 null, 1 integral (zigzag), 2 fractional (8 bytes
//!         LE), 3 string (varint length + UTF-8), 4/5/6 lists of those
//!         (varint count + elements)
//! ```
//!
//! Values carry their own tags, so a record decodes without its group, and
//! a record written before features were added simply has fewer values: the
//! missing ones read as null and nothing is rewritten.

use crate::error::{Error, Result};
use crate::record::Record;
use crate::value::Value;

const FORMAT: u8 = 1;
const FLAG_TOMBSTONE: u8 = 1;
const FLAG_EXPIRY: u8 = 2;

const TAG_NULL: u8 = 0;
const TAG_INTEGRAL: u8 = 1;
const TAG_FRACTIONAL: u8 = 2;
const TAG_STRING: u8 = 3;
const TAG_INTEGRAL_LIST: u8 = 4;
const TAG_FRACTIONAL_LIST: u8 = 5;
const TAG_STRING_LIST: u8 = 6;

/// Encodes a record version.
pub fn encode(record: &Record) -> Vec<u8> {
    let mut out = Vec::with_capacity(encoded_len(record));
    encode_into(record, &mut out);
    out
}

/// Appends the encoding of `record` to `out`.
pub fn encode_into(record: &Record, out: &mut Vec<u8>) {
    out.push(FORMAT);
    put_varint(out, u64::from(record.schema_version));
    let mut flags = 0;
    if record.tombstone {
        flags |= FLAG_TOMBSTONE;
    }
    if record.expires_at_micros.is_some() {
        flags |= FLAG_EXPIRY;
    }
    out.push(flags);
    put_varint(out, zigzag(record.event_time_micros));
    if let Some(expires) = record.expires_at_micros {
        put_varint(out, zigzag(expires));
    }
    put_varint(out, record.values.len() as u64);
    for value in &record.values {
        match value {
            Value::Null => out.push(TAG_NULL),
            Value::Integral(v) => {
                out.push(TAG_INTEGRAL);
                put_varint(out, zigzag(*v));
            }
            Value::Fractional(v) => {
                out.push(TAG_FRACTIONAL);
                out.extend_from_slice(&v.to_le_bytes());
            }
            Value::String(v) => {
                out.push(TAG_STRING);
                put_bytes(out, v.as_bytes());
            }
            Value::IntegralList(v) => {
                out.push(TAG_INTEGRAL_LIST);
                put_varint(out, v.len() as u64);
                v.iter().for_each(|x| put_varint(out, zigzag(*x)));
            }
            Value::FractionalList(v) => {
                out.push(TAG_FRACTIONAL_LIST);
                put_varint(out, v.len() as u64);
                v.iter()
                    .for_each(|x| out.extend_from_slice(&x.to_le_bytes()));
            }
            Value::StringList(v) => {
                out.push(TAG_STRING_LIST);
                put_varint(out, v.len() as u64);
                v.iter().for_each(|x| put_bytes(out, x.as_bytes()));
            }
        }
    }
}

/// The length in bytes of `encode(record)`, without encoding it.
pub fn encoded_len(record: &Record) -> usize {
    let mut len = 1 + varint_len(u64::from(record.schema_version)) + 1;
    len += varint_len(zigzag(record.event_time_micros));
    len += record
        .expires_at_micros
        .map_or(0, |e| varint_len(zigzag(e)));
    len += varint_len(record.values.len() as u64);
    for value in &record.values {
        len += 1 + match value {
            Value::Null => 0,
            Value::Integral(v) => varint_len(zigzag(*v)),
            Value::Fractional(_) => 8,
            Value::String(v) => bytes_len(v.len()),
            Value::IntegralList(v) => {
                varint_len(v.len() as u64) + v.iter().map(|x| varint_len(zigzag(*x))).sum::<usize>()
            }
            Value::FractionalList(v) => varint_len(v.len() as u64) + 8 * v.len(),
            Value::StringList(v) => {
                varint_len(v.len() as u64) + v.iter().map(|x| bytes_len(x.len())).sum::<usize>()
            }
        };
    }
    len
}

/// Decodes a record version; never panics on bad bytes.
pub fn decode(bytes: &[u8]) -> Result<Record> {
    let mut reader = Reader { bytes, pos: 0 };
    let format = reader.byte()?;
    if format != FORMAT {
        return Err(Error::Corrupt(format!("unknown record format {format}")));
    }
    let schema_version = u32::try_from(reader.varint()?)
        .map_err(|_| Error::Corrupt("schema version out of range".into()))?;
    let flags = reader.byte()?;
    let event_time_micros = unzigzag(reader.varint()?);
    let expires_at_micros = if flags & FLAG_EXPIRY != 0 {
        Some(unzigzag(reader.varint()?))
    } else {
        None
    };
    let count = reader.count(1)?;
    let mut values = Vec::with_capacity(count);
    for _ in 0..count {
        values.push(reader.value()?);
    }
    if reader.pos != bytes.len() {
        return Err(Error::Corrupt("trailing bytes after the record".into()));
    }
    Ok(Record {
        schema_version,
        event_time_micros,
        expires_at_micros,
        tombstone: flags & FLAG_TOMBSTONE != 0,
        values,
    })
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Appends `v` as a LEB128 varint.
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

/// Appends `v` as a zigzag varint.
pub fn put_signed(out: &mut Vec<u8>, v: i64) {
    put_varint(out, zigzag(v));
}

/// Appends a length-prefixed byte string.
pub fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn bytes_len(len: usize) -> usize {
    varint_len(len as u64) + len
}

/// A bounds-checked cursor over encoded bytes.
#[derive(Debug)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    /// The bytes not read yet.
    pub fn rest(&self) -> &'a [u8] {
        &self.bytes[self.pos..]
    }

    fn truncated() -> Error {
        Error::Corrupt("truncated record".into())
    }

    /// Reads one byte.
    pub fn byte(&mut self) -> Result<u8> {
        let b = *self.bytes.get(self.pos).ok_or_else(Self::truncated)?;
        self.pos += 1;
        Ok(b)
    }

    /// Reads a LEB128 varint.
    pub fn varint(&mut self) -> Result<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(Error::Corrupt("varint too long".into()))
    }

    /// Reads a zigzag varint.
    pub fn signed(&mut self) -> Result<i64> {
        Ok(unzigzag(self.varint()?))
    }

    /// Reads an element count, refusing one that the remaining bytes cannot
    /// hold at `min_size` bytes an element.
    fn count(&mut self, min_size: usize) -> Result<usize> {
        let count = self.varint()?;
        let remaining = (self.bytes.len() - self.pos) as u64;
        if count.saturating_mul(min_size as u64) > remaining {
            return Err(Self::truncated());
        }
        Ok(count as usize)
    }

    /// Reads a length-prefixed byte string.
    pub fn bytes(&mut self) -> Result<&'a [u8]> {
        let len = self.count(1)?;
        let out = &self.bytes[self.pos..self.pos + len];
        self.pos += len;
        Ok(out)
    }

    fn string(&mut self) -> Result<String> {
        let bytes = self.bytes()?;
        String::from_utf8(bytes.to_vec()).map_err(|_| Error::Corrupt("string is not UTF-8".into()))
    }

    fn f64(&mut self) -> Result<f64> {
        let end = self.pos + 8;
        let chunk = self.bytes.get(self.pos..end).ok_or_else(Self::truncated)?;
        self.pos = end;
        Ok(f64::from_le_bytes(
            chunk.try_into().map_err(|_| Self::truncated())?,
        ))
    }

    fn value(&mut self) -> Result<Value> {
        Ok(match self.byte()? {
            TAG_NULL => Value::Null,
            TAG_INTEGRAL => Value::Integral(self.signed()?),
            TAG_FRACTIONAL => Value::Fractional(self.f64()?),
            TAG_STRING => Value::String(self.string()?),
            TAG_INTEGRAL_LIST => {
                let n = self.count(1)?;
                Value::IntegralList((0..n).map(|_| self.signed()).collect::<Result<_>>()?)
            }
            TAG_FRACTIONAL_LIST => {
                let n = self.count(8)?;
                Value::FractionalList((0..n).map(|_| self.f64()).collect::<Result<_>>()?)
            }
            TAG_STRING_LIST => {
                let n = self.count(1)?;
                Value::StringList((0..n).map(|_| self.string()).collect::<Result<_>>()?)
            }
            tag => return Err(Error::Corrupt(format!("unknown value tag {tag}"))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<i64>().prop_map(Value::Integral),
            any::<f64>()
                .prop_filter("NaN is not equal to itself", |v| !v.is_nan())
                .prop_map(Value::Fractional),
            ".{0,20}".prop_map(Value::String),
            prop::collection::vec(any::<i64>(), 0..5).prop_map(Value::IntegralList),
            prop::collection::vec(-1e9f64..1e9, 0..5).prop_map(Value::FractionalList),
            prop::collection::vec(".{0,5}", 0..5).prop_map(Value::StringList),
        ]
    }

    fn record() -> impl Strategy<Value = Record> {
        (
            any::<u32>(),
            any::<i64>(),
            any::<Option<i64>>(),
            any::<bool>(),
            prop::collection::vec(value(), 0..12),
        )
            .prop_map(
                |(schema_version, event_time_micros, expires_at_micros, tombstone, values)| {
                    Record {
                        schema_version,
                        event_time_micros,
                        expires_at_micros,
                        tombstone,
                        values,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn round_trips(record in record()) {
            let bytes = encode(&record);
            prop_assert_eq!(bytes.len(), encoded_len(&record));
            prop_assert_eq!(decode(&bytes).unwrap(), record);
        }

        #[test]
        fn never_panics_on_garbage(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode(&bytes);
        }

        #[test]
        fn never_panics_on_truncation(record in record(), cut in 0usize..64) {
            let bytes = encode(&record);
            let cut = cut.min(bytes.len());
            let _ = decode(&bytes[..cut]);
        }
    }
}
