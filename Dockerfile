# One image holding the `cairn`, `cairn-sidecar` and `cairn-operator` binaries: the entrypoint is
# `cairn`, the Helm chart runs the others by command (deploy/helm/cairn). Its build steps are the
# scripts the README and CI use; tests/k8s/test_dockerfile.py (k8s.dockerfile) checks that every
# RUN step is one of them, that the runtime stage is Debian runtime packages and a non-root user,
# and that the chart's commands and user match. No Docker engine runs in CI.
FROM debian:bookworm AS build
WORKDIR /src
COPY . .
RUN scripts/setup && scripts/build release

FROM debian:bookworm-slim
COPY scripts/setup /usr/local/lib/cairn/setup
# Only the shared libraries the binaries link (Debian runtime packages), and the user they run
# as: uid/gid 10001, the chart's runAsUser, owning the data dir's parent.
RUN /usr/local/lib/cairn/setup --runtime && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/cairn --create-home cairn
COPY --from=build /src/build/release/agent/cairn /usr/local/bin/cairn
COPY --from=build /src/build/release/sidecar/cairn-sidecar /usr/local/bin/cairn-sidecar
COPY --from=build /src/build/release/operator/cairn-operator /usr/local/bin/cairn-operator
USER 10001:10001
WORKDIR /var/lib/cairn
EXPOSE 8500 8600/udp 8600/tcp 8300 8502
ENTRYPOINT ["cairn"]
CMD ["agent", "-dev", "-client", "0.0.0.0"]
