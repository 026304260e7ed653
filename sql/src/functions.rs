//! Scalar functions under the query's memory limit.
//!
//! DataFusion's memory pool counts what operators buffer (sorts, joins,
//! aggregations), not the values functions return, and constant folding
//! evaluates functions while planning, before any operator runs. A single
//! `repeat('x', 1000000000)` would thus allocate a gigabyte however small
//! the limit. Every scalar function of a query's session is wrapped here:
//!
//! - functions that can return far more than they are given (`repeat`,
//!   `lpad`, `rpad`, `array_repeat`, `array_resize`, `range`,
//!   `generate_series`, `replace`, `regexp_replace`) have their output
//!   size bounded from their arguments *before* they run;
//! - every function's output is measured after it runs, so that no chain
//!   of functions can grow a value step by step past the limit.
//!
//! Either way the query fails with RESOURCE_EXHAUSTED naming the limit.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, FieldRef, Int64Type};
use datafusion::common::config::ConfigOptions;
use datafusion::common::{ExprSchema, ScalarValue};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::interval_arithmetic::Interval;
use datafusion::logical_expr::preimage::PreimageResult;
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::sort_properties::{ExprProperties, SortProperties};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, Expr, ExpressionPlacement, ReturnFieldArgs, ScalarFunctionArgs,
    ScalarUDF, ScalarUDFImpl, Signature, StructFieldMapping,
};
use datafusion::prelude::SessionContext;

/// Wraps every scalar function registered in `context` so that none
/// returns more than `max_value_bytes` from one call.
pub(crate) fn bound_scalar_functions(context: &SessionContext, max_value_bytes: usize) {
    let functions: Vec<Arc<ScalarUDF>> = context
        .state()
        .scalar_functions()
        .values()
        .cloned()
        .collect();
    for function in functions {
        context.register_udf(bounded(function, max_value_bytes));
    }
}

fn bounded(function: Arc<ScalarUDF>, max_value_bytes: usize) -> ScalarUDF {
    ScalarUDF::new_from_impl(Bounded {
        inner: function,
        max_value_bytes,
    })
}

/// A scalar function whose output is kept under `max_value_bytes`.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Bounded {
    inner: Arc<ScalarUDF>,
    max_value_bytes: usize,
}

impl Bounded {
    fn over_limit(&self, bytes: u128) -> DataFusionError {
        DataFusionError::ResourcesExhausted(format!(
            "{}() would produce {bytes} bytes, over the limit of {} bytes for the values of one call \
             (half the query memory limit)",
            self.inner.name(),
            self.max_value_bytes
        ))
    }

    /// Refuses a call whose output, bounded from its arguments, is over
    /// the limit.
    fn check_arguments(&self, args: &ScalarFunctionArgs) -> Result<()> {
        let rows = args.number_rows.max(1);
        let bound = match self.inner.name() {
            "repeat" => per_row_product(&args.args, 0, 1, rows),
            "lpad" | "rpad" => per_row_count(&args.args, 1, rows).map(|chars| chars * 4),
            "array_repeat" | "array_resize" => {
                per_row_count(&args.args, 1, rows).map(|items| items * 16)
            }
            "range" | "generate_series" => series_length(&args.args, rows).map(|items| items * 16),
            "replace" | "regexp_replace" => replacement_bound(&args.args, rows),
            _ => None,
        };
        match bound {
            Some(bytes) if bytes > self.max_value_bytes as u128 => Err(self.over_limit(bytes)),
            _ => Ok(()),
        }
    }

    fn check_output(&self, output: &ColumnarValue) -> Result<()> {
        let bytes = match output {
            ColumnarValue::Array(array) => array.get_buffer_memory_size(),
            ColumnarValue::Scalar(scalar) => scalar.size(),
        };
        if bytes > self.max_value_bytes {
            return Err(self.over_limit(bytes as u128));
        }
        Ok(())
    }
}

/// The byte lengths of a string argument, one per row (a scalar repeats).
fn string_lengths(value: &ColumnarValue, rows: usize) -> Option<Vec<u128>> {
    match value {
        ColumnarValue::Scalar(scalar) => {
            let length = match scalar {
                ScalarValue::Utf8(s) | ScalarValue::LargeUtf8(s) | ScalarValue::Utf8View(s) => {
                    s.as_ref().map_or(0, |s| s.len())
                }
                ScalarValue::Binary(b)
                | ScalarValue::LargeBinary(b)
                | ScalarValue::BinaryView(b) => b.as_ref().map_or(0, |b| b.len()),
                _ => return None,
            };
            Some(vec![length as u128; rows])
        }
        ColumnarValue::Array(array) => Some(array_string_lengths(array)?),
    }
}

fn array_string_lengths(array: &ArrayRef) -> Option<Vec<u128>> {
    let lengths = match array.data_type() {
        DataType::Utf8 => array
            .as_string::<i32>()
            .iter()
            .map(|s| s.map_or(0, |s| s.len() as u128))
            .collect(),
        DataType::LargeUtf8 => array
            .as_string::<i64>()
            .iter()
            .map(|s| s.map_or(0, |s| s.len() as u128))
            .collect(),
        DataType::Utf8View => array
            .as_string_view()
            .iter()
            .map(|s| s.map_or(0, |s| s.len() as u128))
            .collect(),
        _ => return None,
    };
    Some(lengths)
}

/// The integer argument at `index`, one per row; negative counts as 0.
fn counts(args: &[ColumnarValue], index: usize, rows: usize) -> Option<Vec<u128>> {
    let value = args.get(index)?;
    let as_count = |v: i64| v.max(0) as u128;
    match value {
        ColumnarValue::Scalar(scalar) => {
            let value = scalar.cast_to(&DataType::Int64).ok()?;
            let ScalarValue::Int64(count) = value else {
                return None;
            };
            Some(vec![count.map_or(0, as_count); rows])
        }
        ColumnarValue::Array(array) => {
            let array = arrow::compute::cast(array, &DataType::Int64).ok()?;
            Some(
                array
                    .as_primitive::<Int64Type>()
                    .iter()
                    .map(|v| v.map_or(0, as_count))
                    .collect(),
            )
        }
    }
}

/// Sum over rows of `length(arg[text]) * arg[count]`.
fn per_row_product(args: &[ColumnarValue], text: usize, count: usize, rows: usize) -> Option<u128> {
    let lengths = string_lengths(args.get(text)?, rows)?;
    let counts = counts(args, count, rows)?;
    Some(
        lengths
            .iter()
            .zip(&counts)
            .map(|(l, c)| l.saturating_mul(*c))
            .fold(0u128, u128::saturating_add),
    )
}

/// Sum over rows of the integer argument at `index`.
fn per_row_count(args: &[ColumnarValue], index: usize, rows: usize) -> Option<u128> {
    Some(
        counts(args, index, rows)?
            .into_iter()
            .fold(0u128, u128::saturating_add),
    )
}

/// The number of items `range(start, stop[, step])` or
/// `generate_series(...)` of integers returns, over all rows.
fn series_length(args: &[ColumnarValue], rows: usize) -> Option<u128> {
    let (start, stop) = if args.len() == 1 {
        (vec![0u128; rows], counts(args, 0, rows)?)
    } else {
        (counts(args, 0, rows)?, counts(args, 1, rows)?)
    };
    let step = if args.len() >= 3 {
        counts(args, 2, rows)?
    } else {
        vec![1; rows]
    };
    Some(
        start
            .iter()
            .zip(&stop)
            .zip(&step)
            .map(|((a, b), s)| a.abs_diff(*b) / (*s).max(1) + 1)
            .fold(0u128, u128::saturating_add),
    )
}

/// An upper bound of `replace(text, from, to)` / `regexp_replace(text,
/// pattern, to, ...)`: every position of the text may be replaced.
fn replacement_bound(args: &[ColumnarValue], rows: usize) -> Option<u128> {
    let text = string_lengths(args.first()?, rows)?;
    let to = string_lengths(args.get(2)?, rows)?;
    Some(
        text.iter()
            .zip(&to)
            .map(|(t, r)| t.saturating_add((t + 1).saturating_mul(*r)))
            .fold(0u128, u128::saturating_add),
    )
}

impl ScalarUDFImpl for Bounded {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }

    #[allow(deprecated)]
    fn display_name(&self, args: &[Expr]) -> Result<String> {
        self.inner.inner().display_name(args)
    }

    fn schema_name(&self, args: &[Expr]) -> Result<String> {
        self.inner.inner().schema_name(args)
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.inner().return_type(arg_types)
    }

    fn with_updated_config(&self, config: &ConfigOptions) -> Option<ScalarUDF> {
        let updated = self.inner.inner().with_updated_config(config)?;
        Some(bounded(Arc::new(updated), self.max_value_bytes))
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        self.inner.inner().return_field_from_args(args)
    }

    #[allow(deprecated)]
    fn is_nullable(&self, args: &[Expr], schema: &dyn ExprSchema) -> bool {
        self.inner.inner().is_nullable(args, schema)
    }

    fn is_strict(&self) -> bool {
        self.inner.inner().is_strict()
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        self.check_arguments(&args)?;
        let output = self.inner.inner().invoke_with_args(args)?;
        self.check_output(&output)?;
        Ok(output)
    }

    fn simplify(&self, args: Vec<Expr>, info: &SimplifyContext) -> Result<ExprSimplifyResult> {
        self.inner.inner().simplify(args, info)
    }

    fn preimage(
        &self,
        args: &[Expr],
        lit_expr: &Expr,
        info: &SimplifyContext,
    ) -> Result<PreimageResult> {
        self.inner.inner().preimage(args, lit_expr, info)
    }

    fn short_circuits(&self) -> bool {
        self.inner.inner().short_circuits()
    }

    fn conditional_arguments<'a>(
        &self,
        args: &'a [Expr],
    ) -> Option<(Vec<&'a Expr>, Vec<&'a Expr>)> {
        self.inner.inner().conditional_arguments(args)
    }

    fn evaluate_bounds(&self, input: &[&Interval]) -> Result<Interval> {
        self.inner.inner().evaluate_bounds(input)
    }

    fn propagate_constraints(
        &self,
        interval: &Interval,
        inputs: &[&Interval],
    ) -> Result<Option<Vec<Interval>>> {
        self.inner.inner().propagate_constraints(interval, inputs)
    }

    fn output_ordering(&self, inputs: &[ExprProperties]) -> Result<SortProperties> {
        self.inner.inner().output_ordering(inputs)
    }

    fn preserves_lex_ordering(&self, inputs: &[ExprProperties]) -> Result<bool> {
        self.inner.inner().preserves_lex_ordering(inputs)
    }

    fn strictly_order_preserving(&self, inputs: &[ExprProperties]) -> Result<bool> {
        self.inner.inner().strictly_order_preserving(inputs)
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.inner().coerce_types(arg_types)
    }

    fn struct_field_mapping(
        &self,
        literal_args: &[Option<ScalarValue>],
    ) -> Option<StructFieldMapping> {
        self.inner.inner().struct_field_mapping(literal_args)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.inner.inner().documentation()
    }

    fn placement(&self, args: &[ExpressionPlacement]) -> ExpressionPlacement {
        self.inner.inner().placement(args)
    }
}
