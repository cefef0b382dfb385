export {
  buildGuest,
  DEFAULT_CMDLINE,
  GUEST_MODULES,
  guestCacheDir,
  type Guest,
  type GuestBuildOptions,
} from './build.js';
export { CpioType, readCpio, writeCpio, type CpioEntry } from './cpio.js';
export { moduleDepends, moduleLoadOrder, type KernelModule } from './modules.js';
