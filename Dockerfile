# Kontakt service image. Build: docker build -t kontakt .
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    KONTAKT_HTTP_HOST=0.0.0.0 \
    KONTAKT_HTTP_PORT=8080 \
    KONTAKT_DATA_DIR=/data

# fonts-dejavu-core: the Cyrillic font of invoice PDFs (KONTAKT_PDF_FONT_DIR)
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*

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
# compile the gettext catalogs first, so the .mo files are installed as package data
RUN pip install "babel>=2.16" \
 && pybabel compile -d kontakt/locales -D kontakt \
 && pip install . \
 && python -c "import kontakt.i18n as i, sys; sys.exit(i.ensure_compiled() != i.LOCALES_DIR)" \
 && useradd --system --uid 10001 --home /data kontakt \
 && mkdir -p /data && chown kontakt /data

USER kontakt
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD python -c "import os,urllib.request,sys; port=os.environ.get('KONTAKT_HTTP_PORT','8080'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/health', timeout=4).status == 200 else 1)"
# Migrations run first; `run` refuses an unmigrated database anyway.
CMD ["sh", "-c", "kontakt migrate && exec kontakt run"]
