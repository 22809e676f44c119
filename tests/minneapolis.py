"""A build of another city's data: hand-made Minneapolis wards and a small incidents export in
Chicago's layout (Case Number, Date, Primary Type, Latitude, Longitude), 2019-2023, built with the
command line's provenance flags. Nothing in it is Durham's."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from click.testing import CliRunner

from crimetiles.cli import main

TITLE = "Violent incidents in Minneapolis wards"
ATTRIBUTION = "Minneapolis Police Department & Hennepin County"
ATTRIBUTION_URL = "https://opendata.minneapolismn.gov/?source=police&format=csv"
CAVEAT = "Figures for 2023 are preliminary."
ABOUT = """# Violent incidents

## Why it matters

Counts of *reported* incidents show where police respond.

## Further resources

| Resource | What |
| :-- | :-- |
| [Minneapolis open data](https://opendata.minneapolismn.gov/) | the incidents |

<script>alert("raw html")</script>

[a link that runs code](javascript:alert(1))
"""
WARDS = {  # WARD, NAME, west, south, east, north (degrees)
    "3": ("Downtown West", -93.285, 44.970, -93.260, 44.985),
    "5": ("Near North", -93.310, 44.985, -93.285, 45.000),
    "9": ("Powderhorn", -93.260, 44.930, -93.235, 44.950),
}
YEARS = range(2019, 2024)
OFFENSES = ("ASSAULT", "ROBBERY", "BATTERY", "THEFT")
"""Chicago's `Primary Type` text: the first three violent, THEFT not."""


def write_wards(path: Path) -> Path:
    """The wards as a GeoJSON FeatureCollection (EPSG:4326 by definition), fields WARD and NAME."""
    features = [
        {
            "type": "Feature",
            "properties": {"WARD": ward, "NAME": name},
            "geometry": {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]},
        }
        for ward, (name, w, s, e, n) in WARDS.items()
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path


def write_incidents(path: Path) -> Path:
    """Incidents inside each ward, each year: ward i has i + 1 rows per offense a year (so 2, 3
    and 4 rows of each of the four offenses)."""
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["ID", "Case Number", "Date", "Primary Type", "Latitude", "Longitude"])
        number = 0
        for i, (_, w, s, e, n) in enumerate(WARDS.values()):
            for year in YEARS:
                for offense in OFFENSES:
                    for k in range(i + 2):
                        number += 1
                        lon = w + (e - w) * (k + 1) / (i + 3)
                        lat = s + (n - s) * (k + 1) / (i + 3)
                        date = f"0{k + 1}/1{k}/{year} 08:00:00 PM"
                        writer.writerow([number, f"MN{number:06d}", date, offense, f"{lat:.6f}", f"{lon:.6f}"])
    return path


def build_minneapolis(folder: Path, *provenance_flags: str) -> Path:
    """Build the wards of `folder` with `crimetiles build` and `provenance_flags`; returns the build."""
    incidents = write_incidents(folder / "mpls_incidents.csv")
    wards = write_wards(folder / "wards.geojson")
    out = folder / "build"
    args = ["build", str(incidents), "-b", f"wards={wards}", "--id-field", "WARD", "--name-field", "NAME"]
    args += ["--hex-res", "7", "--archive-maxzoom", "10", "--out", str(out), "-q", *provenance_flags]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


def build_with_provenance(folder: Path) -> Path:
    """The build with every provenance flag given (`TITLE`, `ATTRIBUTION`...)."""
    about = folder / "about.md"
    about.write_text(ABOUT, encoding="utf-8")
    flags = ("--title", TITLE, "--attribution", ATTRIBUTION, "--attribution-url", ATTRIBUTION_URL)
    return build_minneapolis(folder, *flags, "--about", str(about), "--caveat", CAVEAT)
