"""How the CLI words the API's errors: each problem once, with the fix the API suggests."""

from __future__ import annotations

from dockyard.cli.client import _describe


def test_a_field_the_detail_names_is_not_repeated_and_its_fix_follows() -> None:
    payload = {
        "error": {
            "detail": "body.regions[0].name: region 'mars' is not one of this dockyard's",
            "errors": [
                {
                    "location": "body.regions[0].name",
                    "message": "region 'mars' is not one of this dockyard's",
                    "fix": "Use one of: eu, us.",
                }
            ],
        }
    }

    assert _describe(400, payload) == (
        "body.regions[0].name: region 'mars' is not one of this dockyard's; Use one of: eu, us."
    )


def test_the_other_bad_fields_are_listed_after_the_first() -> None:
    payload = {
        "error": {
            "detail": "body.port is not valid (and 1 more problem)",
            "errors": [
                {"location": "body.port", "message": "is not valid"},
                {"location": "body.memoryMib", "message": "must be a multiple of 256"},
            ],
        }
    }

    assert _describe(400, payload) == (
        "body.port is not valid (and 1 more problem); body.memoryMib: must be a multiple of 256"
    )


def test_an_answer_without_a_body_still_says_what_happened() -> None:
    assert _describe(502, {}) == "the API answered 502"
    assert _describe(404, {"error": {"title": "Not Found"}}) == "Not Found"
