# syntax=docker/dockerfile:1
# mlops-bot: the HTTP runtime (`mlops-bot serve`) for Slack, GitHub webhooks, CI reports and EventBridge.
#   docker build -t mlops-bot .                      # bot only: SageMaker backend, DynamoDB or SQLite store
#   docker build --build-arg EXTRAS=local -t mlops-bot:local .   # plus the local ML platform (XGBoost)
# Configuration comes from the environment (see the README's configuration reference).

# python:3.11-slim (Debian slim, CPython 3.11), pinned by the digest that tag resolved to, so a rebuild
# gets the base the tests ran on. To move it: `docker buildx imagetools inspect python:3.11-slim`.
ARG PYTHON_IMAGE=python:3.11-slim@sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7

FROM ${PYTHON_IMAGE} AS builder
# Optional extras of the package to install, e.g. "local"; empty installs the bot runtime only.
ARG EXTRAS=""
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/venv
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY ml ./ml
COPY runtimes ./runtimes
# A wheel first, so the runtime image holds an installed package and no source tree.
RUN /opt/venv/bin/pip wheel --no-deps --wheel-dir /wheels . \
    && set -- /wheels/*.whl \
    && /opt/venv/bin/pip install "$1${EXTRAS:+[$EXTRAS]}"

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="mlops-bot" \
      org.opencontainers.image.description="ChatOps Slack bot for ML model releases"
ENV PATH="/opt/venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MLOPS_HOME=/var/lib/mlops-bot
RUN groupadd --system --gid 10001 mlops \
    && useradd --system --uid 10001 --gid mlops --home-dir /var/lib/mlops-bot --create-home \
       --shell /usr/sbin/nologin mlops
COPY --from=builder /opt/venv /opt/venv
USER 10001:10001
WORKDIR /var/lib/mlops-bot
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4).status == 200 else 1)"]
CMD ["mlops-bot", "serve", "--host", "0.0.0.0", "--port", "3000"]
