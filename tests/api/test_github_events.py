"""Who a push names as its commit's author, read from GitHub's real push payloads."""

from __future__ import annotations

from typing import Any

from api.github import Push
from tests.github import example


def master_push() -> dict[str, Any]:
    return example("push", lambda p: p["ref"] == "refs/heads/master")


def test_the_author_is_the_head_commits_github_login_with_the_pushers_avatar() -> None:
    assert Push.model_validate(master_push()).author() == (
        "Codertocat",
        "https://avatars1.githubusercontent.com/u/21031067?v=4",
    )


def test_someone_else_pushing_the_commit_lends_no_avatar() -> None:
    payload = master_push()
    payload["sender"]["login"] = "release-bot"
    assert Push.model_validate(payload).author() == ("Codertocat", None)


def test_an_email_with_no_github_account_names_no_author() -> None:
    payload = master_push()
    del payload["head_commit"]["author"]["username"]
    assert Push.model_validate(payload).author() == (None, None)
    payload["head_commit"] = None
    assert Push.model_validate(payload).author() == (None, None)


def test_the_commit_time_is_unix_ms_and_a_time_without_a_zone_is_utc() -> None:
    payload = master_push()  # "2019-05-15T15:19:25Z"
    assert Push.model_validate(payload).authored_ms() == 1557933565000
    payload["head_commit"]["timestamp"] = "2019-05-15T17:19:25+02:00"
    assert Push.model_validate(payload).authored_ms() == 1557933565000
    payload["head_commit"]["timestamp"] = "2019-05-15T15:19:25"
    assert Push.model_validate(payload).authored_ms() == 1557933565000
