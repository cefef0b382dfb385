export { MachineDebugger, DebugError, type MachineDebuggerOptions } from './machine-debugger.js';
export { debugServiceHandlers, DEBUG_STOP_SUBJECT, type DebugServiceHandlers } from './service.js';
export { readCpuRegisters, writeCpuRegisters, RegisterWriteError } from './registers.js';
export { debugTranslate, readDebugMemory, writeDebugMemory } from './memory.js';
export * from './wire.js';
export { readX87, writeX87, cpuFpu } from './x87.js';
export { serveDebugService, type ServedDebugger } from './bus-service.js';
