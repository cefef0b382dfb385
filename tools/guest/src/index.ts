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
export {
  DEFAULT_WORKLOAD,
  GUEST_WORKLOAD_FILE,
  parseWorkloadOutput,
  referenceResults,
  WORKLOAD_BEGIN,
  WORKLOAD_END,
  WORKLOAD_KEYS,
  WORKLOAD_STEPS,
  WorkloadOutputError,
  workloadScript,
  workloadTypedLines,
  type WorkloadKey,
  type WorkloadResults,
  type WorkloadSize,
} from './workload.js';
export {
  ConsoleTimeoutError,
  GUEST_PROMPT,
  GuestConsole,
  qemuBootArgs,
  runWorkload,
  startConsoleProcess,
  type ConsoleProcess,
  type WorkloadRun,
} from './workload-console.js';
