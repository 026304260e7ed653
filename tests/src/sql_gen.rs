//! Random SQL over the reviews table (see [`crate::fixtures`]): typed
//! expression trees that mix operators, functions, CASE, casts and column
//! references, shallow or with one deep spine, so that most statements
//! plan and run and some go far past any depth limit. Text never grows
//! faster than the tree (no `repeat`, no `replace`), so a statement's
//! result stays small.

use crate::robustness::Rng;

/// The type of a generated expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Type {
    Int,
    Float,
    Text,
    Bool,
}

/// A random statement.
pub fn statement(rng: &mut Rng) -> String {
    let depth = match rng.below(10) {
        0..=6 => rng.between(1..=10),
        7 | 8 => rng.between(11..=200),
        _ => rng.between(201..=3_000),
    };
    let shape = rng.below(4);
    // Without a FROM clause there are no columns: constants only.
    let mut generator = Generator {
        rng,
        columns: shape != 0,
    };
    match shape {
        0 => format!("SELECT {} AS v", generator.expression(Type::Int, depth)),
        1 => format!(
            "SELECT {} AS v FROM reviews",
            generator.expression(Type::Text, depth)
        ),
        2 => format!(
            "SELECT count(*) FROM reviews WHERE {}",
            generator.expression(Type::Bool, depth)
        ),
        _ => {
            let value = generator.expression(Type::Float, depth);
            let key = generator.expression(Type::Int, depth.min(5));
            format!("SELECT {value} AS v FROM reviews ORDER BY {key} LIMIT 5")
        }
    }
}

struct Generator<'a> {
    rng: &'a mut Rng,
    /// Whether leaves may be columns of the reviews table.
    columns: bool,
}

impl Generator<'_> {
    /// An expression of type `t` whose deepest path has `depth` nodes.
    fn expression(&mut self, t: Type, depth: usize) -> String {
        if depth <= 1 {
            return self.leaf(t);
        }
        let deep = depth - 1;
        let shallow = deep.min(self.rng.between(1..=3));
        // One operand carries the depth; the others stay shallow.
        let operands = |generator: &mut Self, types: &[Type]| -> Vec<String> {
            let spine = generator.rng.below(types.len());
            types
                .iter()
                .enumerate()
                .map(|(i, &t)| {
                    let d = if i == spine { deep } else { shallow };
                    generator.expression(t, d)
                })
                .collect()
        };
        use Type::{Bool, Float, Int, Text};
        match t {
            Int => match self.rng.below(12) {
                0 => format!("abs({})", operands(self, &[Int])[0]),
                1 => format!("(- {})", operands(self, &[Int])[0]),
                2..=4 => {
                    let o = operands(self, &[Int, Int]);
                    let op = self.rng.pick(&["+", "-", "*"]);
                    format!("({} {op} {})", o[0], o[1])
                }
                5 => {
                    let o = operands(self, &[Int, Int]);
                    let op = self.rng.pick(&["/", "%"]);
                    // Mostly no division by zero; sometimes one.
                    if self.rng.chance(90) {
                        format!("({} {op} nullif({}, 0))", o[0], o[1])
                    } else {
                        format!("({} {op} {})", o[0], o[1])
                    }
                }
                6 => {
                    let o = operands(self, &[Int, Int]);
                    let f = self.rng.pick(&["coalesce", "greatest", "least"]);
                    format!("{f}({}, {})", o[0], o[1])
                }
                7 => {
                    let o = operands(self, &[Bool, Int, Int]);
                    format!("CASE WHEN {} THEN {} ELSE {} END", o[0], o[1], o[2])
                }
                8 => format!("length({})", operands(self, &[Text])[0]),
                9 => format!("CAST({} AS BIGINT)", operands(self, &[Float])[0]),
                10 => {
                    let o = operands(self, &[Text, Text]);
                    format!("strpos({}, {})", o[0], o[1])
                }
                _ => format!("({} + 1)", operands(self, &[Int])[0]),
            },
            Float => match self.rng.below(7) {
                0 => format!("({} * 0.5)", operands(self, &[Float])[0]),
                1 => format!("round({}, 2)", operands(self, &[Float])[0]),
                2 => format!("sqrt(abs({}))", operands(self, &[Float])[0]),
                3 => format!("CAST({} AS DOUBLE)", operands(self, &[Int])[0]),
                4 => {
                    let o = operands(self, &[Float, Float]);
                    let op = self.rng.pick(&["+", "-", "*", "/"]);
                    format!("({} {op} {})", o[0], o[1])
                }
                5 => {
                    let o = operands(self, &[Float, Float]);
                    format!("coalesce({}, {})", o[0], o[1])
                }
                _ => {
                    let o = operands(self, &[Bool, Float, Float]);
                    format!("CASE WHEN {} THEN {} ELSE {} END", o[0], o[1], o[2])
                }
            },
            Text => match self.rng.below(10) {
                0 => format!("upper({})", operands(self, &[Text])[0]),
                1 => format!("lower({})", operands(self, &[Text])[0]),
                2 => {
                    let o = operands(self, &[Text, Text]);
                    format!("({} || {})", o[0], o[1])
                }
                3 => {
                    let o = operands(self, &[Text, Text]);
                    format!("concat({}, {})", o[0], o[1])
                }
                4 => format!("substr({}, 1, 3)", operands(self, &[Text])[0]),
                5 => {
                    let width = self.rng.between(0..=20);
                    let f = self.rng.pick(&["lpad", "rpad"]);
                    format!("{f}({}, {width}, 'x')", operands(self, &[Text])[0])
                }
                6 => format!("trim({})", operands(self, &[Text])[0]),
                7 => format!("CAST({} AS VARCHAR)", operands(self, &[Int])[0]),
                8 => format!("reverse({})", operands(self, &[Text])[0]),
                _ => {
                    let o = operands(self, &[Bool, Text, Text]);
                    format!("CASE WHEN {} THEN {} ELSE {} END", o[0], o[1], o[2])
                }
            },
            Bool => match self.rng.below(8) {
                0 | 1 => {
                    let o = operands(self, &[Int, Int]);
                    let op = self.rng.pick(&["<", "<=", "=", "<>", ">", ">="]);
                    format!("({} {op} {})", o[0], o[1])
                }
                2 => {
                    let o = operands(self, &[Bool, Bool]);
                    let op = self.rng.pick(&["AND", "OR"]);
                    format!("({} {op} {})", o[0], o[1])
                }
                3 => format!("(NOT {})", operands(self, &[Bool])[0]),
                4 => format!("({} IS NULL)", operands(self, &[Int])[0]),
                5 => format!("({} LIKE 'r1%')", operands(self, &[Text])[0]),
                6 => {
                    let o = operands(self, &[Int, Int, Int]);
                    format!("({} BETWEEN {} AND {})", o[0], o[1], o[2])
                }
                _ => {
                    let o = operands(self, &[Int, Int, Int]);
                    format!("({} IN ({}, {}, 3))", o[0], o[1], o[2])
                }
            },
        }
    }

    fn leaf(&mut self, t: Type) -> String {
        if self.columns && self.rng.chance(25) {
            let columns: &[&str] = match t {
                Type::Int => &["star_rating"],
                Type::Float => &["helpful_ratio"],
                Type::Text => &["review_id", "product_id"],
                Type::Bool => &["(star_rating > 2)"],
            };
            return self.rng.pick(columns).to_string();
        }
        match t {
            Type::Int => match self.rng.below(4) {
                0 => "CAST(NULL AS BIGINT)".into(),
                _ => (self.rng.below(2_001) as i64 - 1_000).to_string(),
            },
            Type::Float => format!("{}.{}", self.rng.below(100), self.rng.below(100)),
            Type::Text => self.rng.pick(&["'a'", "'r1x'", "''", "'É质'"]).to_string(),
            Type::Bool => self
                .rng
                .pick(&["TRUE", "FALSE", "CAST(NULL AS BOOLEAN)"])
                .to_string(),
        }
    }
}
