import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: import.meta.dirname,
  cacheDir: '../../node_modules/.vite/tools/cli',
  // Workspace packages resolve to their TypeScript sources, so tests need no prior build.
  ssr: { resolve: { conditions: ['@plex86/source'] } },
  test: {
    name: 'cli',
    watch: false,
    environment: 'node',
    include: ['{src,test}/**/*.{test,spec}.ts'],
    reporters: ['default'],
    // One nats-server for the run; tests get its URL through inject('natsUrl').
    globalSetup: ['../../tools/testing/src/nats-global-setup.ts'],
  },
});
