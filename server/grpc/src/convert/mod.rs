//! Conversions between protobuf messages and domain types, one module per
//! direction. Everything a client can get wrong is caught here or in the
//! engine and reported as an [`StoreError::Invalid`](almanac_online::StoreError).

pub(crate) mod from_proto;
pub(crate) mod to_proto;
