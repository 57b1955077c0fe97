# chatops: a slim image that runs as a non-root user.
#   docker build -t chatops .
#   docker run --env-file chatops.env -v /etc/chatops:/etc/chatops:ro chatops
# With the app-level token (xapp-...) in chatops.env it runs Socket Mode (no inbound port
# needed but the health check's); without it, HTTP mode (the signing secret required).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY chatops ./chatops
RUN pip wheel --no-cache-dir --wheel-dir /wheels '.[postgres]'

FROM python:3.11-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends openssh-client git curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 --shell /usr/sbin/nologin chatops
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/* && rm -rf /wheels
# The runbooks are the set shipped in the package; to use your own, mount a folder and set
# CHATOPS_COMMANDS to it (docker-compose.yml shows how).
ENV CHATOPS_CONFIG=/etc/chatops/chatops.yml \
    CHATOPS_LOG_FORMAT=json \
    PYTHONUNBUFFERED=1
USER chatops
WORKDIR /home/chatops
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD curl -fsS http://127.0.0.1:3000/healthz || exit 1
# Socket Mode when the app-level token is set, HTTP mode otherwise; /healthz on 3000 either way
CMD ["sh", "-c", "chatops db upgrade && exec chatops serve --mode auto --host 0.0.0.0 --port 3000"]
