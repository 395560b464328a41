"""gunicorn settings for serving Gatehouse (``gunicorn gatehouse.wsgi`` reads this file from the
working directory). Every value can be overridden by the environment or the command line.

Requests spend part of their time waiting on PostgreSQL, so each process runs a few threads;
processes, not threads, use the cores (the GIL). Two processes per core with four threads each
cover the database waits without more processes than the cores can keep busy. The benchmark
(``python -m bench --only pages``) serves the pages with these settings.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1)))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# A worker that stops answering is replaced; a slow client cannot hold a thread for long.
timeout = 30
keepalive = 5
# Recycle workers now and then so a slow leak cannot grow without bound.
max_requests = 5000
max_requests_jitter = 500
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
