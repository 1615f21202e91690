# carbon-cache from Debian's graphite-carbon, laid out like the compose file's
# graphite image (graphiteapp/graphite-statsd): the configuration in
# /opt/graphite/conf (mounted), the Whisper files in /opt/graphite/storage.
# The tests build it on their local base image, which has graphite-carbon
# already; on a plain Debian image it is installed here.
ARG BASE=debian:bookworm-slim
FROM ${BASE}
RUN command -v carbon-cache >/dev/null \
 || { apt-get update && apt-get install -y --no-install-recommends graphite-carbon && rm -rf /var/lib/apt/lists/*; }
RUN mkdir -p /opt/graphite/conf /opt/graphite/storage
ENV GRAPHITE_ROOT=/opt/graphite GRAPHITE_STORAGE_DIR=/opt/graphite/storage
EXPOSE 2003 2004 7002
ENTRYPOINT ["carbon-cache", "--config=/opt/graphite/conf/carbon.conf", "--nodaemon"]
CMD ["start"]
