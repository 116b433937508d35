"""What `dockyard dev` shows of its children: a traceback folds into its exception line."""

from __future__ import annotations

from dockyard.cli.stack import FoldedTracebacks

CHAINED = """\
2026-12-06 19:06:52,119 worker WARNING Completing activity as failed ({'attempt': 1})
Traceback (most recent call last):
  File "docker/api/client.py", line 275, in _raise_for_status
    response.raise_for_status()
requests.exceptions.HTTPError: 500 Server Error

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "activities/instances.py", line 122, in start_instances
    raise failure(error.code, error.message) from error
temporalio.exceptions.ApplicationError: image_not_found: image 'dockyard/nope:v1' is gone
2026-12-06 19:06:53,000 worker INFO next
"""


def shown(text: str, *, settle: bool = False) -> list[str]:
    lines: list[str] = []
    folded = FoldedTracebacks(lines.append, "logs/worker.log")
    for line in text.splitlines(keepends=True):
        folded.feed(line)
    if settle:
        folded.settle()
    return [line.rstrip("\n") for line in lines]


def test_a_chained_traceback_is_its_last_exception_line() -> None:
    assert shown(CHAINED) == [
        "2026-12-06 19:06:52,119 worker WARNING Completing activity as failed ({'attempt': 1})",
        "temporalio.exceptions.ApplicationError: image_not_found: image 'dockyard/nope:v1' "
        "is gone  (11-line traceback in logs/worker.log)",
        "2026-12-06 19:06:53,000 worker INFO next",
    ]


def test_a_traceback_at_the_end_shows_once_the_child_is_quiet() -> None:
    text = "".join(CHAINED.splitlines(keepends=True)[:-1])

    assert len(shown(text)) == 1
    assert shown(text, settle=True)[-1].startswith("temporalio.exceptions.ApplicationError")


def test_lines_outside_tracebacks_pass_unchanged() -> None:
    text = "  indented\nTraceback is a word here\nplain\n"

    assert shown(text, settle=True) == ["  indented", "Traceback is a word here", "plain"]
