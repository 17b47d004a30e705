# mockserver as a container (docs/container.md): the demo on 0.0.0.0:8080, the store in the
# volume /data, run as an unprivileged user (uid 10001).
#
#   docker build -t mockserver:latest .
#   docker run --rm -p 8080:8080 -e MOCKSERVER_ADMIN_TOKEN=choose-one mockserver:latest
#
# `make image` builds it with podman; where no registry is reachable, `make image-base` first
# (Debian's Python, from the Debian mirror), which then stands in for this FROM (--from).
FROM python:3.13-slim AS base

# The project's dependencies in a venv of their own: a layer that stays cached until
# pyproject.toml changes. setuptools builds the project in the next step without a download;
# then it and pip leave the venv, which the server alone uses.
FROM base AS build
RUN python3 -m venv /opt/mockserver
COPY pyproject.toml /src/
RUN python3 -c 'import tomllib; print(*tomllib.load(open("/src/pyproject.toml", "rb"))\
["project"]["dependencies"], sep="\n")' > /tmp/requirements.txt \
 && /opt/mockserver/bin/pip install --no-cache-dir --disable-pip-version-check \
      -r /tmp/requirements.txt 'setuptools>=68'
COPY README.md /src/
# mockserver/demo/demo.yaml links to fixtures/demo.yaml: both are needed
COPY fixtures/demo.yaml /src/fixtures/
COPY mockserver /src/mockserver
RUN /opt/mockserver/bin/pip install --no-cache-dir --disable-pip-version-check \
      --no-deps --no-build-isolation /src \
 && /opt/mockserver/bin/pip uninstall --yes --quiet setuptools pip

FROM base
LABEL org.opencontainers.image.title="mockserver" \
      org.opencontainers.image.description="A local, stateful mock of email-marketing SOAP APIs"
RUN groupadd --system --gid 10001 mockserver \
 && useradd --system --uid 10001 --gid mockserver --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin mockserver \
 && mkdir /data && chown mockserver:mockserver /data
COPY --from=build /opt/mockserver /opt/mockserver
# Every option of `mockserver serve` reads MOCKSERVER_<OPTION>; these are the image's.
# MOCKSERVER_ADMIN_TOKEN has no default: a server reachable from outside needs one.
ENV PATH=/opt/mockserver/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    MOCKSERVER_HOST=0.0.0.0 \
    MOCKSERVER_PORT=8080 \
    MOCKSERVER_DB=/data/mockserver.db \
    MOCKSERVER_DEMO=1
USER 10001:10001
WORKDIR /data
VOLUME /data
EXPOSE 8080
# Ready once /_mock/health answers, asked on loopback with the admin token.
HEALTHCHECK --interval=5s --timeout=5s --start-period=30s --retries=3 CMD ["python3", "-c", "\
import os, urllib.request as r; e = os.environ.get; h = e('MOCKSERVER_HOST') or '0.0.0.0'; \
h = {'0.0.0.0': '127.0.0.1', '::': '[::1]'}.get(h, '[%s]' % h if ':' in h else h); \
t = e('MOCKSERVER_ADMIN_TOKEN'); \
r.urlopen(r.Request('http://%s:%s/_mock/health' % (h, e('MOCKSERVER_PORT') or '8080'), \
headers={'Authorization': 'Bearer ' + t} if t else {}), timeout=4)"]
ENTRYPOINT ["mockserver"]
CMD ["serve"]
