# One image for the gateway and the worker (docker-compose.yml picks the command).
#   docker build -t inngest-temporal .
#   docker run inngest-temporal inngest-temporal worker --app examples.shop
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin app
WORKDIR /app

# Dependencies and our packages. README.md* matches nothing rather than failing when absent.
COPY pyproject.toml README.md* ./
COPY compat ./compat
COPY temporal_worker ./temporal_worker
COPY gateway ./gateway
RUN pip install .

# Apps the worker can serve (`--app examples.shop`): modules are imported from /app.
COPY examples ./examples

# Claim-check store for large payloads when the compose file mounts a shared volume here.
RUN mkdir -p /payloads && chown app:app /payloads

USER app
EXPOSE 8288
CMD ["inngest-temporal", "gateway", "--host", "0.0.0.0", "--port", "8288"]
