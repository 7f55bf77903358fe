"""A real ``post3 run`` killed with SIGKILL in the middle of uploads leaves no partial object."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from post3_postgres.backend import PostgresBackend

from post3.testing import MiB, pattern

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SERVING = re.compile(r"^post3 serving (http://\S+) \(backend: postgres\)$")


def post3_command() -> list[str]:
    script = Path(sys.executable).with_name("post3")
    return [str(script)] if script.exists() else [sys.executable, "-m", "post3"]


def spawn(command: list[str]) -> subprocess.Popen[bytes]:
    # The server's configuration comes from its flags, never from the caller's shell.
    env = {k: v for k, v in os.environ.items() if not k.startswith("POST3_")}
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL, env=env)


async def start_server(dsn: str, *options: str) -> tuple[subprocess.Popen[bytes], str]:
    command = [*post3_command(), "run", "--backend", "postgres", "--host", "127.0.0.1",
               "--port", "0", "--no-auth", "-o", f"dsn={dsn}", "-o", "auto_migrate=true"]
    for option in options:
        command += ["-o", option]
    process = spawn(command)
    assert process.stdout is not None
    line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), 30)
    match = SERVING.match(line.decode().strip())
    if match is None:
        process.kill()
        pytest.fail(f"post3 run did not start: {line!r}")
    return process, match.group(1)


async def partial_put(endpoint: str, path: str, size: int, sent: int) -> asyncio.StreamWriter:
    """A PUT that declares ``size`` bytes and sends only ``sent``; the connection stays open."""
    host, port = endpoint.removeprefix("http://").split(":")
    _, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        f"PUT {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: {size}\r\n\r\n".encode()
    )
    writer.write(pattern(sent, seed=size % 251))
    await writer.drain()
    return writer


async def writing_versions(sql: asyncpg.Connection) -> int:
    return await sql.fetchval(
        "SELECT count(DISTINCT version_id) FROM blocks JOIN versions ON id = version_id "
        "WHERE state = 'writing'"
    )


async def test_sigkill_mid_upload_leaves_no_partial_object(new_postgres_database) -> None:
    dsn = await new_postgres_database(migrated=True)
    process, endpoint = await start_server(dsn)
    writers = []
    try:
        async with aiohttp.ClientSession() as http:
            assert (await http.put(f"{endpoint}/crash")).status == 200
            previous = pattern(3 * MiB, seed=9)
            response = await http.put(f"{endpoint}/crash/kept", data=previous)
            assert response.status == 200

        # Four uploads half sent: two new keys, one replacing "kept", one of a small object.
        for path in ["/crash/new-1", "/crash/new-2", "/crash/kept"]:
            writers.append(await partial_put(endpoint, path, 8 * MiB, 4 * MiB))
        writers.append(await partial_put(endpoint, "/crash/small", 1000, 500))
        sql = await asyncpg.connect(dsn)
        try:
            for _ in range(100):
                if await writing_versions(sql) == 3:
                    break
                await asyncio.sleep(0.1)
            assert await writing_versions(sql) == 3
            process.send_signal(signal.SIGKILL)
            process.wait(10)

            keys = [r["key"] for r in await sql.fetch("SELECT key FROM objects ORDER BY key")]
            assert keys == ["kept"]
        finally:
            await sql.close()
    finally:
        for writer in writers:
            writer.transport.abort()
        if process.poll() is None:
            process.kill()
            process.wait(10)

    # A new process cleans up what the dead one left, and serves the old object intact.
    process, endpoint = await start_server(dsn, "abandoned_after=0")
    try:
        async with aiohttp.ClientSession() as http:
            response = await http.get(f"{endpoint}/crash/kept")
            assert response.status == 200
            assert await response.read() == previous
            listing = await (await http.get(f"{endpoint}/crash?list-type=2")).text()
            assert re.findall(r"<Key>([^<]*)</Key>", listing) == ["kept"]
            missing = await http.get(f"{endpoint}/crash/new-1")
            assert missing.status == 404
        sql = await asyncpg.connect(dsn)
        try:
            assert await sql.fetchval("SELECT count(*) FROM versions") == 1
            assert await sql.fetchval("SELECT count(*) FROM blocks") == 3
        finally:
            await sql.close()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(10)


async def test_reader_in_a_frozen_process_loses_its_version_after_the_grace(
    new_postgres_database,
) -> None:
    """Leases are renewed by the reader's process: once it stops (frozen here with SIGSTOP;
    killed is the same), the replaced version goes after ``retired_grace``, and the download
    is cut short, never finished with wrong bytes."""
    dsn = await new_postgres_database(migrated=True)
    process, endpoint = await start_server(dsn, "retired_grace=2", "cleanup_interval=3600")
    old = pattern(24 * MiB, seed=5)
    cleaner = PostgresBackend(dsn, retired_grace=2)
    writer = None
    try:
        async with aiohttp.ClientSession() as http:
            assert (await http.put(f"{endpoint}/frozen")).status == 200
            assert (await http.put(f"{endpoint}/frozen/k", data=old)).status == 200
        host, port = endpoint.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port), limit=MiB)
        writer.write(f"GET /frozen/k HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        received = await reader.readexactly(MiB)  # the server reads on, a batch ahead

        await cleaner.open()
        await cleaner.delete_object("frozen", "k")
        process.send_signal(signal.SIGSTOP)
        try:
            await asyncio.sleep(3)
            assert await cleaner.remove_stale_versions() == 1
        finally:
            process.send_signal(signal.SIGCONT)
        while chunk := await asyncio.wait_for(reader.read(MiB), 30):
            received += chunk
        assert len(received) < len(old)
        assert old.startswith(received)
    finally:
        if writer is not None:
            writer.transport.abort()
        await cleaner.close()
        process.send_signal(signal.SIGTERM)
        process.wait(10)
