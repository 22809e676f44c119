# crimetiles: the Durham demo served by granian. Multi-stage: build a wheel from the source and
# install it into a venv, build the demo with the installed command, then copy only the venv and
# the demo build (no source) into a slim, non-root runtime image.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY crimetiles crimetiles
COPY artifact artifact
COPY precompute precompute
COPY server server
COPY static static
RUN python -m pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
 && python -m venv /venv \
 && /venv/bin/pip install --no-cache-dir /wheels/crimetiles-*.whl \
 && cd /tmp \
 && /venv/bin/crimetiles synth --out /app/demo/incidents \
 && /venv/bin/crimetiles build /app/demo/incidents --out /app/demo/build --quiet

FROM python:3.11-slim
# the GL and EGL libraries the Skia wheel links against (PNG tiles), and a font for /map.png's text
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends libegl1 libgl1 fonts-dejavu-core && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --home-dir /app crimetiles
WORKDIR /app
COPY --from=build /venv /venv
COPY --from=build --chown=crimetiles /app /app
USER crimetiles
# Every other setting keeps its default (README, "Configuration"); set it with docker run -e CRIMETILES_...
ENV CRIMETILES_BUILD_DIR=/app/demo/build \
    PATH=/venv/bin:$PATH
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s \
  CMD python -c "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"
CMD ["granian", "--interface", "wsgi", "--workers", "2", "--blocking-threads", "1", "--workers-kill-timeout", "5", "--host", "0.0.0.0", "--port", "8000", "--access-log", "crimetiles.server.wsgi:app"]
