# The Meridian app image: one process serving the API, WebSockets, the browser app
# and calendar feeds. docker-compose.yml runs it as `migrate`, `app1` and `app2`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, in their own layer, so code changes rebuild in seconds.
# (aiortc, av, asyncpg, argon2-cffi and hiredis ship manylinux wheels: no compiler.)
COPY pyproject.toml README.md ./
RUN mkdir server && touch server/__init__.py \
 && pip install . \
 && pip uninstall -y meridian \
 && rm -rf server build *.egg-info

# The package itself, installed in place so the browser app is found beside it.
COPY server ./server
COPY static ./static
RUN pip install --no-deps -e . \
 && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin meridian \
 && mkdir -p /data/media /data/calendars \
 && chown -R meridian:meridian /data

USER meridian

ENV MEDIA_DIR=/data/media \
    CALENDARS_DIR=/data/calendars

EXPOSE 8080
VOLUME ["/data"]
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/readyz', timeout=3)"]

CMD ["python", "-m", "server", "serve", "--host", "0.0.0.0"]
