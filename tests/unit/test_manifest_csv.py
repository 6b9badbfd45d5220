"""The manifest CSV: no text cell can start a spreadsheet formula (OWASP CSV injection)."""

import csv
import io

import pytest

from widget_server.domain.manifest import CSV_COLUMNS, defuse_cell, manifest_csv


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r", "\n"])
def test_every_formula_start_is_defused(start):
    assert defuse_cell(start + "1+1") == "'" + start + "1+1"


def test_plain_text_and_numbers_are_left_alone():
    assert defuse_cell("Pat Fan") == "Pat Fan"
    assert defuse_cell("a=b") == "a=b"
    assert defuse_cell(3) == 3


def test_every_text_cell_of_the_manifest_is_defused():
    manifest = {
        "stops": [
            {
                "name": '=HYPERLINK("https://evil.example","Union Station")',
                "departs_at": "2030-11-14T19:00:00Z",
                "riders": [
                    {
                        "pledge_id": "plg_1",
                        "name": "@SUM(A1:A9)",
                        "phone": "+13125550100",
                        "email": "-2+3@x.example",
                        "seats": 2,
                        "status": "\tpaid",
                        "boarding_code": "ABCD-EFGH-JKMN",
                        "boarded_at": "2030-11-14T19:05:00Z",
                        "boarded_by": "=cmd|' /C calc'!A0",
                        "double_boarded": False,
                        "referred_by": "plg_0",
                        "referrals": 3,
                        "add_ons": [{"name": "=Scarf", "quantity": 2}],
                    }
                ],
            }
        ]
    }
    rows = list(csv.reader(io.StringIO(manifest_csv(manifest))))
    assert rows[0] == list(CSV_COLUMNS)
    row = dict(zip(CSV_COLUMNS, rows[1], strict=True))
    for column in ("stop", "name", "phone", "email", "status", "boarded_by"):
        cell = row[column]
        assert cell.startswith("'"), cell
    assert (row["departs_at"], row["pledge_id"], row["seats"]) == (
        "2030-11-14T19:00:00Z",
        "plg_1",
        "2",
    )
    assert (row["referred_by"], row["referrals"]) == ("plg_0", "3")
    assert row["add_ons"] == "2 × =Scarf"  # starts with a digit: no formula
