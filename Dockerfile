# syntax=docker/dockerfile:1
# One image per process: `docker build --target api|worker|sim|cli .` (the compose file names
# the target; with none, the API). `turbo prune` cuts the workspace down to what the apps
# import, so an edit to bench, chaos or the docs leaves the install layer cached. Each runtime
# image holds its app's production dependencies and the dist/ of the workspace packages it
# imports, nothing else: no playwright, testcontainers, vitest, TypeScript sources or bench.

FROM node:20-bookworm-slim AS base
# The version package.json's packageManager pins.
RUN npm install -g pnpm@10.34.9 && npm cache clean --force
WORKDIR /app

# `assemble PACKAGE`, run in /app holding the pruned manifests: installs PACKAGE's production
# dependencies, then keeps the dist/ of PACKAGE and of each workspace package it depends on and
# drops the rest. `--filter-prod` follows dependencies only, not devDependencies, so the test
# fixtures (and testcontainers, vitest, playwright with them) are neither kept nor installed.
COPY <<'EOF' /usr/local/bin/assemble
#!/bin/sh
set -eu
pnpm install --prod --frozen-lockfile --filter-prod="$1..."
keep=$(pnpm ls --filter-prod="$1..." --prod --depth=-1 --json \
  | node -e 'let s="";process.stdin.on("data",(d)=>{s+=d}).on("end",()=>{for(const p of JSON.parse(s))console.log(require("node:path").relative(process.cwd(),p.path))})')
for dir in apps/* packages/*; do
  if printf '%s\n' "$keep" | grep -qx "$dir"; then cp -r "/app-build/$dir/dist" "$dir/"; else rm -rf "$dir"; fi
done
EOF
RUN chmod +x /usr/local/bin/assemble

FROM base AS pruned
# The turbo version the root package.json pins.
RUN npm install -g turbo@2.11.11
COPY . .
RUN turbo prune @voxline/api @voxline/worker @voxline/runninghub-sim @voxline/cli --docker --out-dir /pruned

FROM base AS build
# Manifests and lockfile first: this layer is rebuilt only when a dependency changes.
COPY --from=pruned /pruned/json/ ./
RUN --mount=type=cache,id=pnpm,target=/root/.local/share/pnpm/store pnpm install --frozen-lockfile
COPY --from=pruned /pruned/full/ ./
# Not a package, so not in the pruned tree; every tsconfig extends it.
COPY tsconfig.base.json ./
RUN pnpm exec turbo run build --filter=@voxline/api --filter=@voxline/worker \
      --filter=@voxline/runninghub-sim --filter=@voxline/cli

FROM base AS assembled-api
COPY --from=pruned /pruned/json/ ./
RUN --mount=type=bind,from=build,source=/app,target=/app-build \
    --mount=type=cache,id=pnpm,target=/root/.local/share/pnpm/store assemble @voxline/api

FROM base AS assembled-worker
COPY --from=pruned /pruned/json/ ./
RUN --mount=type=bind,from=build,source=/app,target=/app-build \
    --mount=type=cache,id=pnpm,target=/root/.local/share/pnpm/store assemble @voxline/worker

FROM base AS assembled-sim
COPY --from=pruned /pruned/json/ ./
RUN --mount=type=bind,from=build,source=/app,target=/app-build \
    --mount=type=cache,id=pnpm,target=/root/.local/share/pnpm/store assemble @voxline/runninghub-sim

FROM base AS assembled-cli
COPY --from=pruned /pruned/json/ ./
RUN --mount=type=bind,from=build,source=/app,target=/app-build \
    --mount=type=cache,id=pnpm,target=/root/.local/share/pnpm/store assemble @voxline/cli

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
# The migrator (API and worker at start, `voxline`) reads them from the repository root:
# packages/db/dist → ../../../migrations.
COPY migrations/ ./migrations/

FROM node:20-bookworm-slim AS sim
# The simulator speaks its results with espeak-ng and encodes MP3 with lame.
RUN apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends espeak-ng lame \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /app
COPY --from=assembled-sim /app/ ./
USER node
EXPOSE 8090
CMD ["node", "packages/runninghub-sim/dist/main.js"]

FROM runtime AS cli
COPY --from=assembled-cli /app/ ./
USER node
ENTRYPOINT ["node", "apps/cli/dist/main.js"]

FROM runtime AS worker
COPY --from=assembled-worker /app/ ./
USER node
EXPOSE 9464
CMD ["node", "--max-old-space-size=512", "apps/worker/dist/main.js"]

# Last, so a plain `docker build .` is the API, as it was with the single image.
FROM runtime AS api
COPY --from=assembled-api /app/ ./
USER node
EXPOSE 3000
CMD ["node", "apps/api/dist/main.js"]
