"""A region host's links to the control plane: Temporal over TLS or with an API key when
the settings ask for it, plain otherwise."""

from __future__ import annotations

from pathlib import Path

from temporalio.service import TLSConfig

from dockyard.settings import Settings
from dockyard.temporal import temporal_tls


def test_temporal_link_is_plain_unless_settings_ask_for_tls() -> None:
    assert temporal_tls(Settings()) is False


def test_temporal_tls_with_the_system_roots() -> None:
    config = temporal_tls(Settings(temporal_tls=True))
    assert isinstance(config, TLSConfig)
    assert config.server_root_ca_cert is None


def test_a_certificate_setting_implies_tls_and_is_read(tmp_path: Path) -> None:
    files = {name: tmp_path / f"{name}.pem" for name in ("ca", "cert", "key")}
    for name, path in files.items():
        path.write_bytes(name.encode())

    config = temporal_tls(
        Settings(
            temporal_tls_ca=files["ca"],
            temporal_tls_cert=files["cert"],
            temporal_tls_key=files["key"],
        )
    )

    assert isinstance(config, TLSConfig)
    assert (config.server_root_ca_cert, config.client_cert, config.client_private_key) == (
        b"ca",
        b"cert",
        b"key",
    )


def test_the_api_key_is_a_secret_read_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("DOCKYARD_TEMPORAL_API_KEY", "tk_secret")
    settings = Settings()
    assert settings.temporal_api_key.get_secret_value() == "tk_secret"
    assert "tk_secret" not in repr(settings)
