"""Runs localstripe on 127.0.0.1 (localstripe's own entry point binds every interface) on a free
port, prints the port on stdout, keeps nothing on disk, and exits when stdin closes (the test
that started it ended)."""

import asyncio
import os
import sys
import threading

from aiohttp import web

import localstripe.resources as resources

# localstripe pickles its whole store to /tmp on every write; the test cards stay in memory.
resources.Store.dump_to_disk = lambda self: None

from localstripe.server import app  # noqa: E402  (after the patch)


def exit_when_stdin_closes():
    sys.stdin.read()
    os._exit(0)


async def main():
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    print(port, flush=True)
    await asyncio.Event().wait()


threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
asyncio.run(main())
