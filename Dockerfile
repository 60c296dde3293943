# One image for every voxline process; the compose file picks the command.
FROM node:20-bookworm-slim
WORKDIR /app
RUN npm install -g pnpm@10
COPY . .
RUN pnpm install --frozen-lockfile && pnpm build
ENV NODE_ENV=production
USER node
CMD ["node", "apps/api/dist/main.js"]
