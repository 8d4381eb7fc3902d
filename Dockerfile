# syntax=docker/dockerfile:1
FROM python:3.12-slim AS build
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
RUN /venv/bin/pip install --no-deps .

FROM python:3.12-slim
ENV PYTHONUNBUFFERED=1 \
    PATH="/venv/bin:$PATH" \
    DATABASE_PATH=/data/bot.sqlite3 \
    ENCRYPTION_KEY_FILE=/data/secret.key
RUN useradd --create-home --uid 10001 bot \
    && mkdir /data && chown bot:bot /data
COPY --from=build /venv /venv
USER bot
WORKDIR /home/bot
VOLUME ["/data"]
STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot"]
