import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: import.meta.dirname,
  cacheDir: '../../node_modules/.vite/services/hal-console',
  // Workspace packages resolve to their TypeScript sources, so tests need no prior build.
  ssr: { resolve: { conditions: ['@plex86/source'] } },
  test: {
    name: 'hal-console',
    watch: false,
    environment: 'node',
    include: ['{src,test}/**/*.{test,spec}.ts'],
    reporters: ['default'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // One nats-server for the run; tests get its URL through inject('natsUrl').
    globalSetup: ['../../tools/testing/src/nats-global-setup.ts'],
  },
});
