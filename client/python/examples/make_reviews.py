#!/usr/bin/env python3
"""Writes a TSV file shaped like the Amazon customer reviews dataset.

    python3 make_reviews.py reviews.tsv [--rows 20000] [--seed 0] [--event-time TIME]

The columns are those of the public dataset's TSV files::

    marketplace customer_id review_id product_id product_parent
    product_title product_category star_rating helpful_votes total_votes
    vine verified_purchase review_headline review_body review_date

The file is tab-separated, written with the csv module with minimal
quoting: a field holding a tab, a double quote or a line break is quoted
(and its quotes doubled), as pandas' ``read_csv(path, sep="\\t")`` expects.
Headlines and bodies mix commas, quotes, apostrophes, accented letters,
Chinese and Japanese text and emoji, so that a pipeline that mangles text
shows it.

About 60% of the reviews go to a few popular products, each with its own
rating distribution, so that with 20,000 rows several products have more
than 1,000 reviews and their average ratings differ: the seed chapter's
query ("products with at least 1,000 reviews, by average rating") has an
answer. The output depends only on ``--rows`` and ``--seed``.

``--event-time 2026-03-01T00:00:00Z`` adds an ``event_time`` column with
that value on every row, the column a feature group needs to version its
records (the seed chapter adds it to the DataFrame before ingesting).

Standard library only.
"""

import argparse
import csv
import datetime
import random
import string
import sys

COLUMNS = [
    "marketplace",
    "customer_id",
    "review_id",
    "product_id",
    "product_parent",
    "product_title",
    "product_category",
    "star_rating",
    "helpful_votes",
    "total_votes",
    "vine",
    "verified_purchase",
    "review_headline",
    "review_body",
    "review_date",
]

# Popular products: (title, category, weights of star ratings 1..5). The
# weights give each a different average rating, from about 4.6 down to 2.1.
POPULAR = [
    ("Kindle Paperwhite, 6\" High-Resolution Display", "Digital_Ebook_Purchase", (1, 1, 3, 15, 80)),
    ("Echo Dot (2nd Generation) – Smart speaker", "Electronics", (3, 4, 10, 30, 53)),
    ("Crème brûlée Torch Set, Chef's Edition", "Kitchen", (6, 8, 15, 35, 36)),
    ("Wireless Earbuds 「静音」 Noise Cancelling", "Electronics", (12, 12, 22, 30, 24)),
    ("Yoga Mat – Extra Thick, Non-Slip", "Sports", (20, 18, 22, 22, 18)),
    ("USB-C Cable 3-Pack, 6 ft", "PC", (35, 20, 18, 15, 12)),
    ("Phone Case, \"Ultra Slim\" Edition", "Wireless", (45, 22, 15, 10, 8)),
]
POPULAR_SHARE = 0.6
LONG_TAIL_PRODUCTS = 2000

CATEGORIES = [
    "Books", "Music", "Video DVD", "Toys", "Home", "Apparel", "Beauty",
    "Grocery", "Outdoors", "Tools", "Watches", "Shoes", "Baby", "Pet Products",
]
TITLE_WORDS = [
    "Deluxe", "Classic", "Portable", "Organic", "Vintage", "Smart", "Mini",
    "Pro", "Ultra", "Eco", "Café", "Jalapeño", "Über", "Naïve", "Garden",
    "Travel", "Kids'", "Men's", "Women's", "Premium", "Set", "Kit", "Lamp",
    "Blender", "Novel", "Album", "Puzzle", "Backpack", "Jacket", "Mug",
]
MARKETPLACES = ["US"] * 8 + ["UK", "DE", "FR", "JP"]

HEADLINES = {
    1: ["Terrible, don't buy", "Broke after 2 days", "Déçu… vraiment déçu", "质量太差了！",
        "Not as \"advertised\"", "Worst purchase ever 😡", "ひどい商品でした"],
    2: ["Meh, it's OK I guess", "Could be better", "Pas terrible, mais bon", "一般般吧",
        "\"Works\", sort of", "Disappointed 😕"],
    3: ["Average", "It's fine, nothing special", "Correct, sans plus", "还可以，凑合用",
        "Does the job, mostly", "So-so 🤷"],
    4: ["Good value", "Pretty good, would buy again", "Très bien, je recommande", "质量不错",
        "Solid \"everyday\" product", "Nice 👍", "Gut, aber teuer"],
    5: ["Five stars", "Love it!", "Très bon, \"vraiment\" génial — 5★", "质量很好，推荐！",
        "Perfect, exactly what I needed 😍", "最高です！", "Ausgezeichnet, schnelle Lieferung"],
}
OPENINGS = [
    "I bought this for my daughter's birthday, and",
    "After three weeks of daily use,",
    "Honestly,",
    "J'ai acheté ce produit en promotion, et",
    "买了一个月了，",
    "Arrived quickly; the box said \"fragile\", and",
    "My husband's verdict:",
    "Ordered it on a whim —",
    "Für den Preis:",
    "正直に言うと、",
]
VERDICTS = {
    1: ["it stopped working, and support never answered.",
        "it's flimsy, cheap, and smells like plastic.",
        "c'est de la camelote, à éviter !",
        "完全不能用，退货了。",
        "the \"premium\" finish peeled off in a day 😤"],
    2: ["it works, but the build quality isn't great.",
        "it's smaller than the photos suggest.",
        "ça marche, mais sans plus.",
        "有点失望，和描述不太一样。"],
    3: ["it does what it says, nothing more.",
        "it's OK for the price, I guess.",
        "rapport qualité/prix correct.",
        "中规中矩，可以接受。"],
    4: ["it's well made, and I'd buy it again.",
        "very good, though the manual is in \"Engrish\".",
        "très bon produit, livraison rapide.",
        "性价比很高，推荐购买。"],
    5: ["it's perfect — exactly as described!",
        "absolutely love it, 10/10 ❤️",
        "génial, \"vraiment\" top, je recommande à 100 % !",
        "质量很好，推荐！物流也很快。",
        "すばらしい！また買います。"],
}
EXTRAS = [
    "", "", "", "",
    " Update: still going strong after 6 months.",
    " P.S. the colour is a bit off (more \"teal\" than blue).",
    " Naïve design, but it's sturdy.",
    " 5★ for the seller, 3★ for the courier.",
    " Line one.\nLine two, after a line break.",
    " Specs:\tsize M\tweight 200 g",
    "<br /><br />Would recommend to friends, family, and coworkers.",
]


def review_id(rng, taken):
    """A unique id like R3O9SGZBVQBV76."""
    alphabet = string.ascii_uppercase + string.digits
    while True:
        candidate = "R" + "".join(rng.choice(alphabet) for _ in range(13))
        if candidate not in taken:
            taken.add(candidate)
            return candidate


def product_id(rng):
    """An id like B00EXAMPLE (ASIN-shaped)."""
    return "B00" + "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(7))


def make_products(rng):
    """The popular products, then the long tail; each a dict with an id,
    a parent, a title, a category and star weights."""
    products = []
    for title, category, weights in POPULAR:
        products.append(
            {
                "id": product_id(rng),
                "parent": rng.randrange(100_000_000, 999_999_999),
                "title": title,
                "category": category,
                "weights": weights,
            }
        )
    for _ in range(LONG_TAIL_PRODUCTS):
        words = rng.sample(TITLE_WORDS, rng.randint(2, 4))
        weights = tuple(rng.randint(1, 30) for _ in range(5))
        products.append(
            {
                "id": product_id(rng),
                "parent": rng.randrange(100_000_000, 999_999_999),
                "title": " ".join(words) + (", " + str(rng.randint(2, 12)) + "-Pack" if rng.random() < 0.2 else ""),
                "category": rng.choice(CATEGORIES),
                "weights": weights,
            }
        )
    return products


def make_rows(rows, seed):
    """Yields the data rows (lists in COLUMNS order)."""
    rng = random.Random(seed)
    products = make_products(rng)
    popular, tail = products[: len(POPULAR)], products[len(POPULAR):]
    customers = [rng.randrange(10_000_000, 53_000_000) for _ in range(max(100, rows // 3))]
    taken = set()
    first_day = datetime.date(2010, 1, 1)
    days = (datetime.date(2015, 8, 31) - first_day).days
    for _ in range(rows):
        product = rng.choice(popular) if rng.random() < POPULAR_SHARE else rng.choice(tail)
        stars = rng.choices(range(1, 6), weights=product["weights"])[0]
        total = rng.choice([0, 0, 0, 1, 2, 3, 5, 8, 13, 40])
        helpful = rng.randint(0, total)
        headline = rng.choice(HEADLINES[stars])
        body = f"{rng.choice(OPENINGS)} {rng.choice(VERDICTS[stars])}{rng.choice(EXTRAS)}"
        date = first_day + datetime.timedelta(days=rng.randrange(days + 1))
        yield [
            rng.choice(MARKETPLACES),
            rng.choice(customers),
            review_id(rng, taken),
            product["id"],
            product["parent"],
            product["title"],
            product["category"],
            stars,
            helpful,
            total,
            "Y" if rng.random() < 0.02 else "N",
            "Y" if rng.random() < 0.85 else "N",
            headline,
            body,
            date.isoformat(),
        ]


def write_reviews(path, rows=20_000, seed=0, event_time=None):
    """Writes ``rows`` reviews to ``path`` as TSV, with an ``event_time``
    column holding ``event_time`` when it is given; returns ``path``."""
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter="\t", quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        if event_time is None:
            writer.writerow(COLUMNS)
            writer.writerows(make_rows(rows, seed))
        else:
            writer.writerow(COLUMNS + ["event_time"])
            writer.writerows(row + [event_time] for row in make_rows(rows, seed))
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", help="the TSV file to write")
    parser.add_argument("--rows", type=int, default=20_000, help="number of reviews (default 20000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--event-time", help="add an event_time column with this ISO-8601 UTC time")
    args = parser.parse_args(argv)
    if args.rows < 0:
        parser.error("--rows must not be negative")
    write_reviews(args.output, args.rows, args.seed, args.event_time)
    print(f"wrote {args.rows} reviews to {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
