"""careledger served as a council would serve it to people, for the sign-in tests: uvicorn
with TLS (a certificate made for 127.0.0.1; the session cookie is Secure, so it travels only
over HTTPS), sign-in through the council's identity provider (tests/identity_provider.py),
on the port whose callback the provider has registered; and a person's way through the
provider's sign-in page, as a browser without script goes.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import re
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import SecretStr

from careledger.service.settings import ServiceSettings
from tests.identity_provider import IdentityProvider, User

SESSION_SECRET = "test-session-secret-for-sign-in-0123456789"
# uvicorn serving create_app on the socket the test run holds (as a process manager hands a
# worker its socket), with TLS.
SERVE = """
import socket, sys, uvicorn
from careledger.service.server import LOG_CONFIG
listener, certificate, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
config = uvicorn.Config("careledger.service.app:create_app", factory=True, access_log=False,
                        ssl_certfile=certificate, ssl_keyfile=key, log_config=LOG_CONFIG)
uvicorn.Server(config).run(sockets=[socket.socket(fileno=listener)])
"""


@dataclass(frozen=True)
class Certificate:
    certificate: Path
    key: Path

    def trusted(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.certificate))


@pytest.fixture(scope="session")
def tls_certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for 127.0.0.1, trusted by the tests' clients only."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "careledger test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    paths = Certificate(folder / "certificate.pem", folder / "key.pem")
    paths.certificate.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


@dataclass(frozen=True)
class Served:
    url: str
    log: Path
    certificate: Certificate

    def client(self) -> httpx2.Client:
        return httpx2.Client(verify=self.certificate.trusted(), timeout=30)


def settings_for(provider: IdentityProvider) -> ServiceSettings:
    """The settings careledger is served with, as a council gives them in the environment."""
    return ServiceSettings(
        session_secret=SecretStr(SESSION_SECRET),
        oidc_issuer=provider.issuer,
        oidc_client_id=provider.client_id,
        oidc_client_secret=SecretStr(provider.client_secret),
        public_url=provider.public_url,
    )


@contextmanager
def served_with_sign_in(
    db: str, provider: IdentityProvider, certificate: Certificate, folder: Path
) -> Iterator[Served]:
    """`create_app` on uvicorn with TLS, on the provider's registered port, signing people in
    through `provider`."""
    log = folder / "uvicorn.log"
    environment = os.environ | {
        "CARELEDGER_DB": db,
        "CARELEDGER_SESSION_SECRET": SESSION_SECRET,
        "CARELEDGER_OIDC_ISSUER": provider.issuer,
        "CARELEDGER_OIDC_CLIENT_ID": provider.client_id,
        "CARELEDGER_OIDC_CLIENT_SECRET": provider.client_secret,
        "CARELEDGER_PUBLIC_URL": provider.public_url,
        # Every test signs in afresh, from one address, in one store: the limit (which counts
        # the start and the callback of each sign-in) is tested on its own.
        "CARELEDGER_SIGN_IN_ATTEMPTS_PER_MINUTE": "1000",
    }
    listener = provider.service_socket.fileno()
    command = [sys.executable, "-c", SERVE, str(listener), str(certificate.certificate),
               str(certificate.key)]  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, env=environment, pass_fds=[listener]
        )
    served = Served(provider.public_url, log, certificate)
    try:
        _wait_until_up(served, process)
        yield served
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(served: Served, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    with served.client() as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"uvicorn stopped:\n{served.log.read_text()}")
            try:
                if client.get(f"{served.url}/health").status_code == 200:
                    return
            except httpx2.TransportError:
                pass
            time.sleep(0.1)
    raise RuntimeError(f"uvicorn did not answer within 60 s:\n{served.log.read_text()}")


def provider_sign_in_page(client: httpx2.Client, served: Served, next_page: str) -> httpx2.Response:
    """Start sign-in at careledger and follow it to the provider's sign-in page."""
    page = client.get(f"{served.url}/sign-in/oidc", params={"next": next_page},
                      follow_redirects=True)  # fmt: skip
    assert page.status_code == 200 and "Council sign-in" in page.text, page.text
    return page


def submit(
    page: httpx2.Response, client: httpx2.Client, button: str, **fields: str
) -> httpx2.Response:
    """Post one of the provider page's forms (`login` or `abort`) and follow its redirects up
    to careledger's callback, which is answered as it comes."""
    action = re.search(rf'action="(/interaction/[^"]+/{button})"', page.text)
    assert action is not None, page.text
    return client.post(str(page.url.join(action[1])), data=fields, follow_redirects=True)


def signed_in(client: httpx2.Client, served: Served, user: User, next_page: str) -> httpx2.Response:
    """A person signs in at the provider and arrives at careledger's page that goes on to
    `next_page`; that page is then opened, as its refresh does in a browser."""
    page = provider_sign_in_page(client, served, next_page)
    arrived = submit(page, client, "login", username=user.username, password=user.password)
    assert arrived.status_code == 200 and "Signed in" in arrived.text, arrived.text
    refresh = re.search(r'content="0;url=([^"]+)"', arrived.text)
    assert refresh is not None
    return client.get(f"{served.url}{refresh[1].replace('&amp;', '&')}")
