"""The unit's certificate settings still verify TLS, and still refuse a stranger.

The systemd unit sets SSL_CERT_FILE=/dev/null and SSL_CERT_DIR (see bench/README.md,
"Where the memory goes"): OpenSSL then reads trusted certificates one by one from the
hashed directory instead of the whole bundle at start. This checks, with the client
itself and a local HTTPS server, that a certificate signed by a CA in that directory
is accepted and one signed by another CA is refused.
"""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import web

from .test_install_guide import unit_environment

UNIT = Path(__file__).parents[2] / "relay/clickatell_relay/install/clickatell-relay.service"

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)  # noqa: S603, S607


def _ca(folder: Path, name: str) -> tuple[Path, Path]:
    key, cert = folder / f"{name}.key", folder / f"{name}.pem"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
             f"/CN={name}", "-keyout", str(key), "-out", str(cert))  # fmt: skip
    return key, cert


@pytest.fixture
def certificates(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A trusted CA (in a hashed directory), a server certificate it signed, and its key."""
    ca_key, ca_cert = _ca(tmp_path, "trusted-ca")
    trusted = tmp_path / "certs"
    trusted.mkdir()
    shutil.copy(ca_cert, trusted / "trusted-ca.pem")
    _openssl("rehash", str(trusted))
    key, request, cert = tmp_path / "s.key", tmp_path / "s.csr", tmp_path / "s.pem"
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
             "-keyout", str(key), "-out", str(request))  # fmt: skip
    names = tmp_path / "san.ext"
    names.write_text("subjectAltName=IP:127.0.0.1\n")
    signed_by = ("-CA", str(ca_cert), "-CAkey", str(ca_key), "-CAcreateserial")
    _openssl("x509", "-req", "-in", str(request), *signed_by, "-days", "2",
             "-extfile", str(names), "-out", str(cert))  # fmt: skip
    return trusted, cert, key


FETCH = """
import asyncio, sys
import aiohttp

async def main() -> None:
    async with aiohttp.ClientSession() as session:
        try:
            async with session.get(sys.argv[1]) as response:
                print(response.status, await response.text())
        except aiohttp.ClientConnectorCertificateError:
            print("refused")

asyncio.run(main())
"""


async def _fetch_with_unit_settings(url: str, trusted: Path) -> str:
    environment = {**unit_environment(UNIT), "SSL_CERT_DIR": str(trusted)}
    assert environment["SSL_CERT_FILE"] == "/dev/null"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", FETCH, url, env=environment, stdout=asyncio.subprocess.PIPE
    )
    output, _ = await process.communicate()
    return output.decode().strip()


@pytest.mark.parametrize("signed_by_trusted_ca", [True, False])
async def test_the_units_certificate_settings_verify(
    certificates: tuple[Path, Path, Path], tmp_path: Path, *, signed_by_trusted_ca: bool
) -> None:
    trusted, cert, key = certificates
    if not signed_by_trusted_ca:
        stranger_key, stranger_cert = _ca(tmp_path, "stranger")
        cert, key = stranger_cert, stranger_key
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    app = web.Application()

    async def hello(_: web.Request) -> web.Response:
        return web.Response(text="hello")

    app.router.add_get("/", hello)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        answer = await _fetch_with_unit_settings(f"https://127.0.0.1:{port}/", trusted)
    finally:
        await runner.cleanup()
    assert answer == ("200 hello" if signed_by_trusted_ca else "refused")
