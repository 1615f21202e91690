# carbon-c-relay for the `cluster` profile of docker-compose.grafana.yml, from
# the same Debian package the test suite drives (tests/stack/).
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends carbon-c-relay \
 && rm -rf /var/lib/apt/lists/*
USER nobody
EXPOSE 2003
ENTRYPOINT ["carbon-c-relay", "-f", "/etc/carbon-c-relay.conf"]
