"""Lesson 8's MySQL connections and TLS, against a private server that offers it.

The shared server offers no TLS (tests/test_async.py covers that side: plain
text, as the sync driver gives, or the one-line refusal for a caller who
requires TLS). Here a throwaway MariaDB with a self-signed certificate
offers TLS, and every async connection must use it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import private_server
from support.private_server import MySQLExecutor

from prodev.backends import MYSQL
from prodev.backends.mysql import offers_tls
from prodev.config import load_config

# The certificate must exist before the server starts, at a path fixed now.
CERTS = Path(tempfile.gettempdir()) / f"lessons-tls-{os.getpid()}"
CERT, KEY = CERTS / "server.pem", CERTS / "server.key"
private_tls_mariadb = private_server.private_mariadb(
    f"--ssl-ca={CERT} --ssl-cert={CERT} --ssl-key={KEY}"
)


@pytest.fixture(scope="module")
def tls_server(request: pytest.FixtureRequest) -> Iterator[MySQLExecutor]:
    """A private MariaDB offering TLS with a self-signed certificate."""
    private_server.require_mariadb()
    CERTS.mkdir()
    request.addfinalizer(lambda: shutil.rmtree(CERTS, ignore_errors=True))
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-keyout", str(KEY), "-out", str(CERT)],
        check=True, capture_output=True,
    )  # fmt: skip
    server = request.getfixturevalue("private_tls_mariadb")
    private_server.query(server, "CREATE DATABASE IF NOT EXISTS tls_test")
    yield server


@pytest.fixture
def tls_env(tls_server: MySQLExecutor, monkeypatch: pytest.MonkeyPatch) -> MySQLExecutor:
    for key, value in {
        "DB_ENGINE": "mysql", "MYSQL_HOST": tls_server.host, "MYSQL_PORT": str(tls_server.port),
        "MYSQL_USER": "root", "MYSQL_PASSWORD": "", "MYSQL_DATABASE": "tls_test",
    }.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("MYSQL_HOSTS", raising=False)
    return tls_server


async def session_cipher(**tls: Any) -> str:
    """Connect as lesson 8 does (with ``tls`` options) and ask the server for the cipher."""
    streams = MYSQL.aio
    connection = await streams.connect(load_config(), **tls)
    try:
        cursor = await streams.execute(connection, "SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        return (await streams.fetchmany(cursor, 1))[0]["Value"]
    finally:
        await streams.close(connection)


def test_the_greeting_of_a_server_with_tls_offers_it(tls_env: MySQLExecutor) -> None:
    assert asyncio.run(offers_tls(tls_env.host, tls_env.port)) is True


def test_a_server_that_offers_tls_gets_a_tls_session(tls_env: MySQLExecutor) -> None:
    assert asyncio.run(session_cipher()) != ""


def test_a_caller_who_requires_tls_and_verifies_the_certificate_gets_tls(
    tls_env: MySQLExecutor,
) -> None:
    # mysql.connector.aio refuses ssl_ca without a client certificate and key
    # ("need to be both specified"): the server's own pair serves as one here.
    tls = {"ssl_ca": str(CERT), "ssl_cert": str(CERT), "ssl_key": str(KEY)}
    assert asyncio.run(session_cipher(ssl_verify_cert=True, **tls)) != ""
