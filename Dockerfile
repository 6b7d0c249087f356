# syntax=docker/dockerfile:1
# The portal and the bridge: one image, two commands (see docker-compose.yml).
# No secret is baked in: every setting arrives through the environment at run time.

# The web chat's browser assets, pinned by package-lock.json (when the project has them).
FROM node:22-bookworm-slim AS webchat
WORKDIR /build
RUN --mount=type=bind,target=/src \
    mkdir -p node_modules \
    && if [ -f /src/package.json ]; then \
        cp /src/package*.json ./ && npm ci --omit=dev --ignore-scripts --no-audit --no-fund; \
    fi

# The portal with its translations compiled (*.mo files are build output).
FROM debian:bookworm-slim AS messages
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/*
COPY portal /portal
RUN find /portal -name '*.po' -exec sh -c 'msgfmt --check -o "${1%.po}.mo" "$1"' _ {} \;

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# The repository's layout under /app: every command runs from here (python -m ...).
WORKDIR /app
COPY pyproject.toml scripts/pinned-requirements.py ./
RUN python pinned-requirements.py --runtime pyproject.toml > requirements.txt \
    && pip install -r requirements.txt \
    && rm pinned-requirements.py requirements.txt
COPY --from=webchat /build/node_modules ./node_modules
COPY --from=messages /portal ./portal
COPY bridge ./bridge
COPY stack ./stack
RUN useradd --system --uid 10001 --home-dir /var/lib/chatboard chatboard \
    && mkdir -p /var/lib/chatboard/static /var/lib/chatboard/media \
    && chown -R chatboard:chatboard /var/lib/chatboard
ENV CHATBOARD_RUNTIME_DIR=/var/lib/chatboard \
    CHATBOARD_MEDIA_ROOT=/var/lib/chatboard/media \
    DJANGO_SETTINGS_MODULE=portal.config.settings \
    PORTAL_PORT=8000
USER chatboard
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s \
    CMD ["python", "-m", "stack.container", "health", "portal"]
CMD ["python", "-m", "stack.container", "portal"]
