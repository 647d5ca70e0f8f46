# Kontakt service image. Build: docker build -t kontakt .
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    KONTAKT_HTTP_HOST=0.0.0.0 \
    KONTAKT_HTTP_PORT=8080 \
    KONTAKT_DATA_DIR=/data

WORKDIR /app
COPY pyproject.toml README.md babel.cfg ./
COPY kontakt ./kontakt
COPY bot ./bot
COPY web ./web
COPY models ./models
COPY services ./services
COPY sync ./sync
COPY notifications ./notifications
COPY bench ./bench
RUN pip install . \
 && python -c "import kontakt.i18n as i; i.ensure_compiled()" \
 && useradd --system --uid 10001 --home /data kontakt \
 && mkdir -p /data && chown kontakt /data

USER kontakt
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=4).status == 200 else 1)"
# Migrations run first; `run` refuses an unmigrated database anyway.
CMD ["sh", "-c", "kontakt migrate && exec kontakt run"]
