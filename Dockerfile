# syntax=docker/dockerfile:1
# Both stages on one Debian release, named: a rebuild does not move to the next release unseen.
FROM python:3.12-slim-bookworm AS build
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# Dependencies first, in their own layer: code changes do not reinstall them. The stub's
# build/ goes too: setuptools copies a module only when it is newer than the built one, and
# COPY keeps the real files' older times, so the stub would be installed instead.
COPY pyproject.toml README.md ./
RUN mkdir bot && touch bot/__init__.py \
    && python -m venv /venv \
    && /venv/bin/pip install . \
    && /venv/bin/pip uninstall -y inferno-bot \
    && rm -rf bot build inferno_bot.egg-info
# Then the bot itself, installed like any wheel: the translations travel inside the package.
COPY bot ./bot
RUN /venv/bin/pip install --no-deps . \
    && /venv/bin/python -m compileall -q -f --invalidation-mode unchecked-hash /venv/lib
# Bytecode is compiled at build time (here, and the standard library's below, as the base image
# may ship none): the bot's user cannot write to /venv or /usr/local, so otherwise every start
# would compile every module again in memory. "unchecked-hash" bytecode is used without looking
# at the sources' times, which a copy between stages need not keep; the image never changes its
# sources.

FROM python:3.12-slim-bookworm
ENV PYTHONUNBUFFERED=1 \
    PATH="/venv/bin:$PATH" \
    DATABASE_PATH=/data/bot.sqlite3 \
    ENCRYPTION_KEY_FILE=/data/secret.key
RUN useradd --create-home --uid 10001 bot \
    && mkdir /data && chown bot:bot /data \
    && python -m compileall -q -j 0 "$(python -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')"
COPY --from=build /venv /venv
USER bot
WORKDIR /home/bot
VOLUME ["/data"]
STOPSIGNAL SIGTERM
# Unhealthy when no bot holds the database's lock or the database does not answer a read-only
# query; it takes no lock and writes nothing (bot/healthcheck.py). A run costs about a second
# of CPU (importing the package), hence once a minute.
HEALTHCHECK --interval=60s --timeout=20s --start-period=60s --retries=3 \
    CMD ["python", "-m", "bot", "healthcheck"]
CMD ["python", "-m", "bot"]
