#!/usr/bin/env bash
# Runs the SQL benchmark of benches/README.md: Almanac's SQL (through
# Flight SQL) against DuckDB over the same Parquet files, in the same run,
# on 1M reviews shaped like the seed chapter's TSV and 100k reviews x 10
# versions; then freshness.
# Usage: bash benches/run-sql.sh [ROWS] [VERSION_IDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${1:-1000000}"
version_ids="${2:-100000}"
source benches/server.sh
build almanac-sqlbench
start_server 50161 --flush-interval 2s
sb() { "$bin/almanac-sqlbench" "$@"; }

sb load-reviews --rows "$rows"
sb load-versions --ids "$version_ids" --versions 10
sb wait-flushed --group reviews --group review_versions
offline="$data/offline"
reviews_dir=$(ls -d "$offline"/reviews-*)
versions_dir=$(ls -d "$offline"/review_versions-*)
echo "files: reviews $(find "$reviews_dir" -name '*.parquet' | wc -l), $(du -sh "$reviews_dir" | cut -f1); review_versions $(find "$versions_dir" -name '*.parquet' | wc -l), $(du -sh "$versions_dir" | cut -f1)"
duck() { "$python" benches/duckdb_time.py --view "reviews=$reviews_dir" --view "review_versions=$versions_dir" "$@"; }

compare() {
    local name="$1" almanac_sql="$2" duckdb_sql="$3"
    echo "== $name"
    sb query "$almanac_sql"
    duck "$duckdb_sql"
}

seed="SELECT product_id, product_title, count(*) AS reviews, avg(star_rating) AS average_rating FROM reviews GROUP BY product_id, product_title HAVING count(*) >= 1000 ORDER BY average_rating DESC"
compare "seed: products with at least 1,000 reviews by average rating" "$seed" "$seed"

point="SELECT review_id, product_id, star_rating FROM reviews WHERE customer_id = 31415926"
compare "selective scan: one customer's reviews" "$point" "$point"

day="SELECT product_category, count(*), avg(helpful_votes) FROM reviews WHERE event_time >= TIMESTAMP '2026-03-10T00:00:00Z' AND event_time < TIMESTAMP '2026-03-11T00:00:00Z' GROUP BY product_category ORDER BY product_category"
day_duck="SELECT product_category, count(*), avg(helpful_votes) FROM reviews WHERE event_time >= TIMESTAMPTZ '2026-03-10 00:00:00+00' AND event_time < TIMESTAMPTZ '2026-03-11 00:00:00+00' GROUP BY product_category ORDER BY product_category"
compare "selective scan: one day of event time" "$day" "$day_duck"

as_of="SELECT count(*), avg(star_rating) FROM as_of('review_versions', TIMESTAMP '2026-03-06T00:00:00Z')"
as_of_duck="SELECT count(*), avg(star_rating) FROM (SELECT * FROM review_versions WHERE event_time <= TIMESTAMPTZ '2026-03-06 00:00:00+00' QUALIFY row_number() OVER (PARTITION BY review_id ORDER BY event_time DESC, api_invocation_time DESC, write_time DESC) = 1) WHERE NOT is_deleted"
compare "as_of over 10 versions per id" "$as_of" "$as_of_duck"

echo "== freshness (flush interval 2 s)"
sb freshness --samples 20
