# syntax=docker/dockerfile:1
#
# genesys_exporter container image: a release build with the official Rust image,
# run as a non-root user on a distroless glibc base (no shell, no package manager).
#
#   docker build --build-arg GENESYS_EXPORTER_REVISION="$(git rev-parse --short=12 HEAD)" \
#     --build-arg GENESYS_EXPORTER_BRANCH="$(git branch --show-current)" -t genesys_exporter .
#   docker run --rm -p 10321:10321 genesys_exporter --demo
#
# The build step is the project's own `cargo build --release --locked --features jemalloc`; the
# .dockerignore keeps the context to the files that build needs.

FROM rust:1.95-slim-bookworm AS build
# The jemalloc allocator is built from C sources with make (gcc is in the image).
RUN apt-get update \
    && apt-get install -y --no-install-recommends make=4.3-4.1 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# build.rs reads the revision and branch for --version and genesys_exporter_build_info
# (the context has no .git).
ARG GENESYS_EXPORTER_REVISION=unknown
ARG GENESYS_EXPORTER_BRANCH=unknown
ENV GENESYS_EXPORTER_REVISION=${GENESYS_EXPORTER_REVISION} \
    GENESYS_EXPORTER_BRANCH=${GENESYS_EXPORTER_BRANCH}
COPY Cargo.toml Cargo.lock build.rs ./
COPY src ./src
COPY benches ./benches
RUN cargo build --release --locked --features jemalloc --bin genesys_exporter \
    && install -D -m 0755 target/release/genesys_exporter /out/genesys_exporter

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/genesys_exporter /usr/local/bin/genesys_exporter
# The distroless "nonroot" user.
USER 65532:65532
EXPOSE 10321
ENTRYPOINT ["/usr/local/bin/genesys_exporter"]
