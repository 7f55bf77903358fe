"""``post3 run`` serves the console by default, and none with ``--no-console``."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from tests.conftest import start_server


@pytest.mark.parametrize(("args", "status"), [((), 200), (("--no-console",), 400)])
def test_post3_run_serves_the_console_unless_told_not_to(tmp_path, args, status):
    server = start_server("memory", workdir=tmp_path, args=args)
    try:
        try:
            with urllib.request.urlopen(server.endpoint + "/_post3/console/login") as response:
                got, body = response.status, response.read()
        except urllib.error.HTTPError as error:
            got, body = error.code, error.read()
        assert got == status
        assert (b"Log in" in body) == (status == 200)
    finally:
        server.stop()
