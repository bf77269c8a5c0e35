# Multi-stage image of the `cairn`, `cairn-sidecar` and `cairn-operator` binaries (one image, the
# entrypoint chooses). Its build steps are the scripts the README and CI use.
FROM debian:bookworm AS build
WORKDIR /src
COPY . .
RUN scripts/setup && scripts/build release

FROM debian:bookworm-slim
COPY scripts/setup /usr/local/lib/cairn/setup
RUN /usr/local/lib/cairn/setup --runtime && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/release/agent/cairn /usr/local/bin/cairn
COPY --from=build /src/build/release/sidecar/cairn-sidecar /usr/local/bin/cairn-sidecar
COPY --from=build /src/build/release/operator/cairn-operator /usr/local/bin/cairn-operator
EXPOSE 8500 8600/udp 8600/tcp 8300 8502
ENTRYPOINT ["cairn"]
CMD ["agent", "-dev", "-client", "0.0.0.0"]
