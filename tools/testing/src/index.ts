export {
  DEFAULT_NATS_SERVER_BIN,
  resolveNatsServerBin,
  startNatsServer,
  type NatsServer,
  type NatsServerOptions,
} from './nats-server.js';
export {
  DebianPackageError,
  debianCacheDir,
  debianPackageDepends,
  fetchDebianPackage,
  type DebianPackageOptions,
} from './debian-package.js';
