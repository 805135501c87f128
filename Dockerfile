# syntax=docker/dockerfile:1
# Two images from one file:
#   docker build -t debrief .                       slim (the default): an OpenAI-compatible LLM server does the extraction
#   docker build -t debrief:local --target local .  with the embedded model runtime (node-llama-cpp, CPU)

# Build stage: compile TypeScript and the native SQLite addon, and build the console (dist/web).
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# Optional packages too: the console's bundler (vite, rolldown) ships its native binding as one. node-llama-cpp's
# postinstall is skipped (package.json); the prune below drops it from this stage's output.
RUN NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY evals ./evals
COPY web ./web
# --omit=optional again: a prune reinstalls optional packages the lock lists otherwise.
RUN npm run build && npm prune --omit=dev --omit=optional

# Production dependencies with node-llama-cpp. Its llama.cpp binaries ship in npm packages (its postinstall is
# skipped: nothing is downloaded or compiled); only this platform's CPU build is kept, the CUDA and Vulkan builds
# weigh about 600 MB.
FROM build AS local-dependencies
ENV NODE_LLAMA_CPP_SKIP_DOWNLOAD=true
RUN npm ci --omit=dev --no-audit --no-fund \
  && cd node_modules/@node-llama-cpp \
  && for dir in *; do [ "$dir" = "linux-$(node -p process.arch)" ] || rm -rf "$dir"; done

# What both images share: compiled code, prompts, a non-root user, the data volume, the health check.
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production PORT=8080 DEBRIEF_DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY prompts ./prompts
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "--enable-source-maps", "dist/src/server.js"]

# The local model: downloaded into /data/models on the first start (or mount a GGUF file and set DEBRIEF_LOCAL_MODEL).
FROM runtime AS local
COPY --from=local-dependencies /app/node_modules ./node_modules

# The default image (the last stage): production dependencies only, without the model runtime.
FROM runtime AS slim
COPY --from=build /app/node_modules ./node_modules
