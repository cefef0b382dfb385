export { PhysicalMemory, PageKind, PAGE_SIZE, type MmioHandler } from './memory/physical-memory.js';
export { PortSpace, type PortDevice } from './io/port-space.js';
export { Cpu, CPU_SIGNATURE } from './cpu/cpu.js';
export { Mmu } from './cpu/paging.js';
export { Vector, CpuFault, CpuShutdown } from './cpu/fault.js';
export {
  DecodingBlockSource,
  blockHandlers,
  type BlockSource,
  type ExecBlock,
  type HandlerResolver,
} from './engine/block-source.js';
export { SbeBlockSource } from './engine/sbe-source.js';
export { Engine, StopReason, resolveHandler, type InterruptLine } from './engine/engine.js';
export { Machine, ExitStatus, type RunResult, type MachineConfig } from './machine/machine.js';
export { Uart16550 } from './machine/devices/uart16550.js';
export { loadMultiboot, MultibootError } from './boot/multiboot.js';
export { isBzImage, loadLinux, unpackKernel, LinuxBootError, type LinuxBootOptions } from './boot/linux.js';
export { cachedKernel, defaultKernelCacheDir, userCacheDir } from './boot/kernel-cache.js';
export { BootImageError } from './boot/image-error.js';
export {
  runMachine,
  parseMemorySize,
  parsePort,
  RunOptionError,
  SERIAL_CONSOLE_ID,
  STATS_SIGNAL,
  lastStatsFigures,
  type StatsFigures,
  type RunOptions,
  type RunIo,
} from './machine/run.js';
export { SerialConsole } from './console/serial-console.js';
export { ConsoleOutputPublisher, CONSOLE_OUTPUT_CHUNK } from './console/output-publisher.js';
export { serveConsoleInput, type ConsoleInputTarget } from './console/input-service.js';
export {
  attachVirtioDevices,
  type VirtioDiskSpec,
  type VirtioDiskSource,
  type VirtioNetSpec,
} from './virtio/attach.js';
export { SnapshotError } from './snapshot/state.js';
export { SnapshotFile, SNAPSHOT_FORMAT_VERSION, SNAPSHOT_MAGIC, writeSnapshotFile } from './snapshot/file.js';
export { checkSnapshotDisks, saveSnapshot, restoreSnapshot, type SavedSnapshot } from './snapshot/session.js';
export { requestSnapshotSave, serveSnapshotService, type SnapshotSaver } from './snapshot/bus-service.js';
export { imageFormatToJSON, type MachineSetup, type SnapshotInfo } from '@plex86/proto';
export {
  captureMachineState,
  describeCpu,
  restoreMachineState,
  type SnapshotTarget,
} from './snapshot/machine-state.js';
export type { NetLink } from './virtio/net.js';
export * from './fpu/index.js';
export * from './debug/index.js';
