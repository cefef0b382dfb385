import { defineConfig } from 'vitest/config';

// Container tests: named apart from vitest.config.mts so that `nx run-many -t test`
// leaves them out; `nx run e2e:e2e` runs them (after docker/build-local-images.sh).
export default defineConfig({
  root: import.meta.dirname,
  cacheDir: '../../node_modules/.vite/tools/e2e',
  ssr: { resolve: { conditions: ['@plex86/source'] } },
  test: {
    name: 'e2e',
    watch: false,
    environment: 'node',
    include: ['src/**/*.e2e.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
    env: {
      TESTCONTAINERS_RYUK_DISABLED: 'true',
      TESTCONTAINERS_HOST_OVERRIDE: '127.0.0.1',
    },
  },
});
