"""``python -m se4u.service``: run the course service (JupyterHub starts it this way)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from urllib.parse import urlparse

from tornado.httpserver import HTTPServer

from se4u.service.app import course_from_env, make_app


async def serve() -> None:
    """Listen where the hub says (``$JUPYTERHUB_SERVICE_URL``) until stopped."""
    logging.basicConfig(level=logging.INFO, format="[se4u-service %(asctime)s] %(message)s")
    url = urlparse(os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:10101"))
    course = course_from_env()
    logging.info("forum threads: %d; database: %s", len(course.threads), course.db.dialect)
    server = HTTPServer(make_app(course), xheaders=True)
    server.listen(url.port or 80, url.hostname or "127.0.0.1")
    logging.info("listening on %s:%s%s", url.hostname, url.port, course.prefix)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.stop()
    course.executor.shutdown(wait=True)
    course.db.close()
    logging.info("stopped")


if __name__ == "__main__":
    asyncio.run(serve())
