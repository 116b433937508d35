"""Docker's image reference grammar."""

from __future__ import annotations

import pytest

from api.image_reference import check_image_reference, image_reference_problem

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    "reference",
    [
        "nginx",
        "nginx:1.27",
        "library/nginx:latest",
        "dockyard/hello:v1",
        "ghcr.io/acme/api:v1.2.3",
        "localhost:5000/team/app",
        "localhost:5000/team/app:v2",
        "registry.example.com:443/a/b/c:tag_1.0-rc",
        "[::1]:5000/app:v1",
        f"ghcr.io/acme/api@{DIGEST}",
        f"ghcr.io/acme/api:v1@{DIGEST}",
        "my_app__x.y-z---w:1",
        "UPPER.example.com/app:v1",
        "a" * 200 + ":v1",
    ],
)
def test_valid_references(reference: str) -> None:
    assert image_reference_problem(reference) is None
    assert check_image_reference(reference) == reference


@pytest.mark.parametrize(
    ("reference", "problem"),
    [
        ("", "empty"),
        ("nginx latest", "whitespace"),
        ("Nginx:1.27", "must be lowercase"),
        ("acme/API:v1", "must be lowercase"),
        ("nginx:", "tag '' is not valid"),
        ("nginx:-x", "tag '-x' is not valid"),
        ("nginx:" + "a" * 129, "is not valid"),
        ("nginx@sha256:abc", "digest 'sha256:abc' is not valid"),
        ("nginx@sha256:" + "a" * 40, "64 hex digits"),
        (":v1", "repository name is missing"),
        ("acme//api", "not a valid repository name"),
        ("acme/api-:v1", "not a valid repository name"),
        ("-acme/api", "not a valid repository name"),
        ("https://ghcr.io/acme/api", "not a valid repository name"),
        ("a" * 256, "longer than 255"),
        ("f" * 64, "reserved for image ids"),
    ],
)
def test_invalid_references_say_why(reference: str, problem: str) -> None:
    found = image_reference_problem(reference)
    assert found is not None and problem in found
    with pytest.raises(ValueError) as raised:
        check_image_reference(reference)
    assert str(raised.value) == found
