# syntax=docker/dockerfile:1
#
# The vsp-csi driver image: `vsp-csi controller | node | all | simulator` (ENTRYPOINT is the CLI).
#
#   docker build -t vsp-csi:0.1.0 .                       # target "node" (the default, last stage)
#   docker build --target controller -t vsp-csi-controller:0.1.0 .
#
# "node" carries the host tools the node plugin runs against the host's devices: e2fsprogs and
# xfsprogs (mkfs, resize), util-linux and mount (blkid, blockdev, mount, umount, losetup),
# multipath-tools (multipath, multipathd) and the open-iscsi client (iscsiadm), plus tini as PID 1
# to reap those tools' children. scripts/chart-check.sh checks that every command the node plugin
# runs comes from one of these packages. The chart
# uses it for both pods and runs the controller as a non-root user. "controller" is the same
# application without the host tools, running as a non-root user, for a smaller controller image.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: compile TypeScript, then keep only the production dependencies -------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: "prepare" would compile before the sources are copied; the build runs below.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY proto ./proto
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# ---- the application, shared by both runtime targets ---------------------------------------------
FROM ${NODE_IMAGE} AS app
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/proto ./proto

# ---- controller: no host tools, non-root ---------------------------------------------------------
FROM app AS controller
LABEL org.opencontainers.image.title="vsp-csi controller" \
      org.opencontainers.image.description="CSI driver for Hitachi VSP arrays (controller only)" \
      org.opencontainers.image.licenses="Apache-2.0"
USER 65532:65532
ENTRYPOINT ["node", "/app/dist/cli.js"]

# ---- node (default): the host tools of the node plugin -------------------------------------------
FROM app AS node
# Debian pins each package to the bookworm release; exact versions are not pinned here because
# superseded versions leave the mirrors and would break the build at the next security update.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        e2fsprogs \
        mount \
        multipath-tools \
        open-iscsi \
        tini \
        util-linux \
        xfsprogs \
    && rm -rf /var/lib/apt/lists/*
LABEL org.opencontainers.image.title="vsp-csi" \
      org.opencontainers.image.description="CSI driver for Hitachi VSP arrays (controller and node plugin)" \
      org.opencontainers.image.licenses="Apache-2.0"
# Runs as root: the node plugin formats, mounts and logs in to targets (its pod is privileged);
# the chart runs the controller from this image as user 65532.
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/dist/cli.js"]
