import baseConfig from '../../eslint.config.mjs';

export default [
  ...baseConfig,
  {
    files: ['package.json'],
    rules: {
      // bin/plex86.mjs runs the sources through tsx; the check only reads src/.
      '@nx/dependency-checks': ['error', { ignoredDependencies: ['tsx'] }],
    },
  },
];
