# syntax=docker/dockerfile:1
#
# Build (from the repository root; the version comes from the git commit, see VERSION below):
#   docker build -t scim-bridge .
#   docker build --build-arg VERSION=v1.2.3 -t scim-bridge:v1.2.3 .      # a release
#   docker run --rm scim-bridge version
#
# Run one instance on SQLite. Secrets are files, never -e values (those show in `docker inspect` and `ps`):
#   mkdir -p secrets && chmod 700 secrets
#   openssl rand -hex 32 > secrets/scim-token                   # the bearer token the IdP sends
#   printf '%s' "$TRAINUAL_API_KEY" > secrets/upstream-token     # the vendor API key
#   chmod 444 secrets/*                                         # the image runs as uid 65532
#   docker run -d --name scim-bridge -p 8080:8080 -v scim-bridge-data:/data \
#     -v "$PWD/secrets:/run/secrets:ro" \
#     -e SCIM_BRIDGE_TARGET=trainual \
#     -e SCIM_BRIDGE_TOKEN_FILE=/run/secrets/scim-token \
#     -e SCIM_BRIDGE_UPSTREAM_TOKEN_FILE=/run/secrets/upstream-token \
#     scim-bridge
#   docker inspect --format '{{.State.Health.Status}}' scim-bridge    # starting, then healthy
#
# Several replicas on Postgres: deploy/compose/ and deploy/kubernetes/; docs/operations.md, "Packaging and deploying".

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# VERSION, when given, is what `scim-bridge version` prints. Without it the binary carries the git commit, its
# time and whether the tree was modified (Go's VCS stamping, read back through runtime/debug.ReadBuildInfo): the
# build context includes .git for that. A context without a usable .git (a source tarball, a git worktree whose
# .git points outside the context) builds with -buildvcs=false and says so in `scim-bridge version`.
ARG VERSION=""
# modernc.org/sqlite is pure Go, so the binary is static and needs no libc.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    set -eu; \
    vcs=false; \
    if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then vcs=true; fi; \
    ldflags="-s -w"; \
    if [ -n "$VERSION" ]; then ldflags="$ldflags -X main.version=$VERSION"; fi; \
    CGO_ENABLED=0 go build -trimpath -buildvcs="$vcs" -ldflags "$ldflags" -o /out/scim-bridge ./cmd/scim-bridge; \
    /out/scim-bridge version; \
    mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=""
LABEL org.opencontainers.image.title="scim-bridge" \
      org.opencontainers.image.description="SCIM 2.0 service provider for vendors without usable SCIM" \
      org.opencontainers.image.source="https://github.com/scim-bridge/scim-bridge" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /out/scim-bridge /usr/local/bin/scim-bridge
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
# The SQLite file lands in /data: SCIM_BRIDGE_DB's default (scim-bridge.db) is relative to this directory. Neither
# SCIM_BRIDGE_DB nor SCIM_BRIDGE_LISTEN is set here: a value in the environment would override the listen and db
# (db_file, db_env) of a SCIM_BRIDGE_CONFIG file, and the defaults already are :8080 and /data/scim-bridge.db.
WORKDIR /data
EXPOSE 8080
VOLUME ["/data"]
# Distroless has no shell or curl: the binary probes its own /healthz (on the port of SCIM_BRIDGE_LISTEN or the
# config file's listen, over HTTPS when TLS is on) and exits 0 or 1. Its timeout is shorter than Docker's.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --start-interval=2s --retries=3 \
    CMD ["/usr/local/bin/scim-bridge", "healthcheck", "--timeout", "3s"]
ENTRYPOINT ["/usr/local/bin/scim-bridge"]
CMD ["serve"]
