# syntax=docker/dockerfile:1
# Build: docker build -t scim-bridge .
# Run:   docker run -p 8080:8080 -v scim-bridge:/data -e SCIM_BRIDGE_TARGET=trainual \
#          -e SCIM_BRIDGE_UPSTREAM_TOKEN=... -e SCIM_BRIDGE_TOKEN=... scim-bridge
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# modernc.org/sqlite is pure Go, so the binary is static and needs no libc.
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/scim-bridge ./cmd/scim-bridge \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/scim-bridge /usr/local/bin/scim-bridge
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
WORKDIR /data
ENV SCIM_BRIDGE_LISTEN=:8080 SCIM_BRIDGE_DB=/data/scim-bridge.db
EXPOSE 8080
VOLUME ["/data"]
ENTRYPOINT ["/usr/local/bin/scim-bridge"]
CMD ["serve"]
