export { PhysicalMemory, PageKind, PAGE_SIZE, type MmioHandler } from './memory/physical-memory.js';
export { PortSpace, type PortDevice } from './io/port-space.js';
export { Cpu, CPU_SIGNATURE } from './cpu/cpu.js';
export { Mmu } from './cpu/paging.js';
export { Vector, CpuFault, CpuShutdown } from './cpu/fault.js';
