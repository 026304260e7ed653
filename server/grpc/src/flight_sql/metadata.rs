//! Flight SQL metadata: GetCatalogs, GetDbSchemas, GetTables,
//! GetTableTypes and GetSqlInfo, which ADBC and JDBC drivers ask for
//! before any statement. One catalog (`almanac`), one schema (`public`),
//! every live feature group a table.

use almanac_sql::{CATALOG, SCHEMA};
use arrow::array::RecordBatch;
use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::sql::metadata::{SqlInfoData, SqlInfoDataBuilder};
use arrow_flight::sql::{
    CommandGetCatalogs, CommandGetDbSchemas, CommandGetSqlInfo, CommandGetTableTypes,
    CommandGetTables, SqlInfo,
};
use futures::{TryStreamExt, stream};
use tonic::{Response, Status};

use super::{FlightDataStream, FlightSqlEndpoint, flight_status};
use crate::status::internal;

/// What GetSqlInfo answers: the server's name and versions, and that it
/// runs read-only SQL without transactions, Substrait or cancellation.
pub(super) fn sql_info() -> SqlInfoData {
    let mut info = SqlInfoDataBuilder::new();
    info.append(SqlInfo::FlightSqlServerName, "Almanac");
    info.append(SqlInfo::FlightSqlServerVersion, env!("CARGO_PKG_VERSION"));
    info.append(SqlInfo::FlightSqlServerArrowVersion, arrow::ARROW_VERSION);
    info.append(SqlInfo::FlightSqlServerReadOnly, true);
    info.append(SqlInfo::FlightSqlServerSql, true);
    info.append(SqlInfo::FlightSqlServerSubstrait, false);
    info.append(SqlInfo::FlightSqlServerTransaction, 0i32);
    info.append(SqlInfo::FlightSqlServerCancel, false);
    info.append(SqlInfo::SqlIdentifierQuoteChar, "\"");
    info.build().expect("static SQL info is valid")
}

impl FlightSqlEndpoint {
    pub(super) fn catalogs(
        &self,
        query: CommandGetCatalogs,
    ) -> Result<Response<FlightDataStream>, Status> {
        let mut builder = query.into_builder();
        builder.append(CATALOG);
        Ok(one_batch(
            builder.build().map_err(internal("listing catalogs"))?,
        ))
    }

    pub(super) fn schemas(
        &self,
        query: CommandGetDbSchemas,
    ) -> Result<Response<FlightDataStream>, Status> {
        let mut builder = query.into_builder();
        builder.append(CATALOG, SCHEMA);
        Ok(one_batch(
            builder.build().map_err(internal("listing schemas"))?,
        ))
    }

    pub(super) fn tables(
        &self,
        query: CommandGetTables,
    ) -> Result<Response<FlightDataStream>, Status> {
        use datafusion::catalog::SchemaProvider;
        use datafusion::datasource::TableProvider;
        let mut builder = query.into_builder();
        let tables = self.sql.tables();
        for name in tables.table_names() {
            let Some(table) = tables.group_table(&name) else {
                continue;
            };
            builder
                .append(CATALOG, SCHEMA, &name, "TABLE", &table.schema())
                .map_err(internal("listing tables"))?;
        }
        Ok(one_batch(
            builder.build().map_err(internal("listing tables"))?,
        ))
    }

    pub(super) fn table_types(
        &self,
        query: CommandGetTableTypes,
    ) -> Result<Response<FlightDataStream>, Status> {
        let mut builder = query.into_builder();
        builder.append("TABLE");
        Ok(one_batch(
            builder.build().map_err(internal("listing table types"))?,
        ))
    }

    pub(super) fn sql_info(
        &self,
        query: CommandGetSqlInfo,
    ) -> Result<Response<FlightDataStream>, Status> {
        let batch = query
            .into_builder(&self.info)
            .build()
            .map_err(internal("building the SQL info"))?;
        Ok(one_batch(batch))
    }
}

fn one_batch(batch: RecordBatch) -> Response<FlightDataStream> {
    let stream = FlightDataEncoderBuilder::new()
        .with_schema(batch.schema())
        .build(stream::once(async move { Ok(batch) }))
        .map_err(flight_status);
    Response::new(Box::pin(stream))
}
