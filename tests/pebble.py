"""Pebble, Let's Encrypt's test ACME CA, on loopback, for tests that obtain certificates.

`running_pebble(http_port=..., tls_port=..., workdir=...)` starts two processes (Debian
package `pebble`):
- pebble-challtestsrv as Pebble's DNS server, answering every A query with 127.0.0.1, so
  every name a test orders resolves to this machine;
- pebble, validating HTTP-01 challenges on `http_port` and TLS-ALPN-01 on `tls_port`: the
  ports where the edge under test listens.

Two CAs are involved, and a test needs both:
- `wfe_roots_pem`: the CA of Pebble's own HTTPS certificate (made here), which an ACME
  client trusts to talk to Pebble (Caddy: `trusted_roots_pem_files` of its acme issuer);
- `issuer_roots_pem()`: the root Pebble signs issued certificates with (new at every
  start), which a test's HTTPS client trusts to talk to the edge.

Pebble starts in well under a second; readiness is its directory answering.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from dockyard.cli.dev import free_port

START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
POLL_SECONDS = 0.05
# What Pebble 2.4 prints once per new order (wfe.go, NewOrder).
ORDER_LOG_LINE = "Added order"
ENVIRONMENT = {
    "PEBBLE_VA_NOSLEEP": "1",  # validate at once, not after up to 15 s
    "PEBBLE_WFE_NONCEREJECT": "0",  # never reject a good nonce (a client's retry is not tested)
    "PEBBLE_VA_ALWAYS_VALID": "0",  # challenges are really validated, against the edge
}
MISSING = "{binary} is missing: apt-get install pebble (scripts/setup installs it)"


@dataclass(frozen=True)
class Pebble:
    directory_url: str
    wfe_roots_pem: Path
    management_url: str
    log: Path

    def issuer_roots_pem(self) -> str:
        """The root that signs the certificates Pebble issues, as PEM."""
        context = ssl.create_default_context(cafile=self.wfe_roots_pem)
        response = httpx.get(f"{self.management_url}/roots/0", verify=context, timeout=10)
        response.raise_for_status()
        return response.text

    def orders(self) -> int:
        """How many certificate orders Pebble has accepted since it started."""
        with self.log.open(errors="replace") as lines:
            return sum(ORDER_LOG_LINE in line for line in lines)


@contextmanager
def running_pebble(*, http_port: int, tls_port: int, workdir: Path) -> Iterator[Pebble]:
    """Pebble and its DNS server, until the block ends; both are killed then."""
    workdir.mkdir(parents=True, exist_ok=True)
    dns_port, listen_port, management_port = free_port(), free_port(), free_port()
    wfe_roots, certificate, key = _wfe_certificate(workdir)
    config = workdir / "pebble-config.json"
    config.write_text(
        json.dumps(
            {
                "pebble": {
                    "listenAddress": f"127.0.0.1:{listen_port}",
                    "managementListenAddress": f"127.0.0.1:{management_port}",
                    "certificate": str(certificate),
                    "privateKey": str(key),
                    "httpPort": http_port,
                    "tlsPort": tls_port,
                    "ocspResponderURL": "",
                    "externalAccountBindingRequired": False,
                }
            }
        )
    )
    pebble = Pebble(
        directory_url=f"https://127.0.0.1:{listen_port}/dir",
        wfe_roots_pem=wfe_roots,
        management_url=f"https://127.0.0.1:{management_port}",
        log=workdir / "pebble.log",
    )
    with ExitStack() as stack:
        dns = stack.enter_context(
            _process(
                [_binary("pebble-challtestsrv"),
                 "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
                 "-dns01", f"127.0.0.1:{dns_port}", "-management", f"127.0.0.1:{free_port()}",
                 "-http01", "", "-https01", "", "-tlsalpn01", ""],
                log=workdir / "challtestsrv.log",
            )
        )  # fmt: skip
        ca = stack.enter_context(
            _process(
                [_binary("pebble"), "-config", str(config), "-dnsserver", f"127.0.0.1:{dns_port}"],
                log=pebble.log,
            )
        )
        _wait_for_directory(pebble, (dns, ca))
        yield pebble


def _binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/bin")
    if not found:
        raise RuntimeError(MISSING.format(binary=name))
    return found


@contextmanager
def _process(command: list[str], *, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as output:
        process = subprocess.Popen(
            command,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **ENVIRONMENT},
        )
    try:
        yield process
    finally:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)


def _wait_for_directory(pebble: Pebble, processes: tuple[subprocess.Popen[bytes], ...]) -> None:
    context = ssl.create_default_context(cafile=pebble.wfe_roots_pem)
    deadline = time.monotonic() + START_TIMEOUT
    with httpx.Client(verify=context, timeout=2) as client:
        while True:
            for process in processes:
                if process.poll() is not None:
                    raise RuntimeError(f"{process.args[0]} exited: {_tail(pebble.log)}")
            try:
                if client.get(pebble.directory_url).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"Pebble did not answer in {START_TIMEOUT}s: {_tail(pebble.log)}"
                )
            time.sleep(POLL_SECONDS)


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:] if log.exists() else "(no output)"


def _wfe_certificate(workdir: Path) -> tuple[Path, Path, Path]:
    """A CA, and a certificate it signs for Pebble's own HTTPS on 127.0.0.1 and localhost:
    the paths of the CA's PEM, the certificate's and its key's."""
    now = datetime.datetime.now(datetime.UTC)
    validity = (now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=1))
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dockyard test: Pebble WFE CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(validity[0])
        .not_valid_after(validity[1])
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(validity[0])
        .not_valid_after(validity[1])
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = (workdir / "wfe-ca.pem", workdir / "wfe-cert.pem", workdir / "wfe-key.pem")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths
