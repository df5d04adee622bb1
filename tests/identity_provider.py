"""The council's identity provider for the tests: panva's `oidc-provider` on Node.js, started
once per run (tests/oidc_provider/server.mjs), so that sign-in is tested against the real
protocol: discovery, JWKS, the authorization code flow with PKCE, and signed ID tokens.

Its npm packages are installed from tests/oidc_provider/package-lock.json into a cache folder
named by the lock's digest (`npm ci`), once per machine. Node.js and npm missing fail the run
in CI and skip these tests elsewhere, saying so (as tests/conftest.py treats PostgreSQL).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SOURCE = Path(__file__).parent / "oidc_provider"
FILES = ("package.json", "package-lock.json", "server.mjs")
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "careledger"


@dataclass(frozen=True)
class User:
    username: str  # the ID token's preferred_username
    password: str
    name: str
    email: str


# People the council's provider knows. The first two are registered in careledger by the tests
# that sign them in; the third is known to the provider but never to careledger.
IRO = User("margaret.ellery", "kestrel-harbour-41", "Margaret Ellery", "m.ellery@council.test")
INSPECTOR = User("imran.shah", "granite-meadow-73", "Imran Shah", "imran.shah@inspect.test")
STRANGER = User("dave.outsider", "willow-copper-58", "Dave Outsider", "dave@elsewhere.test")
USERS = (IRO, INSPECTOR, STRANGER)


@dataclass(frozen=True)
class IdentityProvider:
    issuer: str
    client_id: str
    client_secret: str
    # careledger's listening socket, bound for the whole run: the callback registered at the
    # provider names its port, which no other program on the machine may take meanwhile.
    service_socket: socket.socket = field(compare=False, repr=False)

    @property
    def service_port(self) -> int:
        return int(self.service_socket.getsockname()[1])

    @property
    def public_url(self) -> str:
        return f"https://127.0.0.1:{self.service_port}"

    @property
    def redirect_uri(self) -> str:
        return f"{self.public_url}/sign-in/oidc/callback"

    @property
    def signed_out_uri(self) -> str:
        return f"{self.public_url}/sign-in"


def bound_socket() -> socket.socket:
    """A socket on a free port of the loopback, bound (and so held) until it is closed."""
    held = socket.socket()
    held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    held.bind(("127.0.0.1", 0))
    held.set_inheritable(True)
    return held


def _require(command: str) -> str:
    found = shutil.which(command)
    if found:
        return found
    message = f"{command} is not installed: the OpenID Connect provider runs on Node.js"
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def installed_provider() -> Path:
    """The provider's folder with its node_modules, installed once for this lock and script."""
    digest = hashlib.sha256(b"".join((SOURCE / name).read_bytes() for name in FILES))
    folder = CACHE / f"oidc-provider-{digest.hexdigest()[:16]}"
    if (folder / "node_modules" / "oidc-provider").is_dir():
        return folder
    CACHE.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix="oidc-provider-", dir=CACHE))
    for name in FILES:
        shutil.copy(SOURCE / name, building / name)
    subprocess.run(
        [_require("npm"), "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=building,
        check=True,
        timeout=300,
    )
    try:
        building.rename(folder)
    except OSError:  # another run installed it meanwhile
        shutil.rmtree(building, ignore_errors=True)
    return folder


@pytest.fixture(scope="session")
def identity_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IdentityProvider]:
    node = _require("node")
    folder = installed_provider()
    provider = IdentityProvider(
        issuer="",
        client_id="careledger",
        client_secret=hashlib.sha256(os.urandom(32)).hexdigest(),
        service_socket=bound_socket(),
    )
    configuration = tmp_path_factory.mktemp("oidc") / "provider.json"
    configuration.write_text(
        json.dumps(
            {
                "clients": [
                    {
                        "client_id": provider.client_id,
                        "client_secret": provider.client_secret,
                        "redirect_uris": [provider.redirect_uri],
                        # where careledger asks to come back to after signing out there:
                        # oidc-provider's RP-Initiated Logout is on by default, and its
                        # discovery advertises the end_session_endpoint
                        "post_logout_redirect_uris": [provider.signed_out_uri],
                    }
                ],
                "users": [user.__dict__ for user in USERS],
            }
        )
    )
    log = configuration.with_name("provider.log")
    with log.open("w") as output:
        process = subprocess.Popen(
            [node, str(folder / "server.mjs"), str(configuration)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        issuer = _issuer_announced(process, log)
        yield IdentityProvider(
            issuer, provider.client_id, provider.client_secret, provider.service_socket
        )
    finally:
        process.terminate()
        process.wait(timeout=10)
        provider.service_socket.close()


def _issuer_announced(process: subprocess.Popen[bytes], log: Path) -> str:
    """The issuer the provider prints once it listens (its log goes to a file, never a pipe
    that could fill and stall it)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        for line in log.read_text().splitlines():
            if line.startswith("issuer "):
                return line.split(" ", 1)[1].strip()
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"the OpenID Connect provider did not start:\n{log.read_text()}")
