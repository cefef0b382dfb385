export { TargetUnsupportedError, type DebugTarget, type MonitorCapabilities, type SbePageView } from './target.js';
export { PacketParser, framePacket, escapeBinary, toHex, fromHex, type PacketEvents } from './rsp/packet.js';
export { REGISTERS, REGISTER_FILE_SIZE, targetDescription, encodeRegisterFile } from './rsp/registers.js';
export {
  RspSession,
  refuseClient,
  DEFAULT_PACKET_SIZE,
  type RspConnection,
  type RspSessionOptions,
} from './rsp/session.js';
export { runMonitorCommand, hexDump, type MonitorResult } from './rsp/monitor.js';
export { busDebugTarget, type BusDebugTarget, type BusDebugTargetOptions } from './bus-target.js';
export {
  startDebugger,
  parseListenAddress,
  ListenAddressError,
  type DebuggerOptions,
  type DebuggerServer,
  type ListenAddress,
} from './server.js';
export { main as debuggerServiceMain, HELP as DEBUGGER_SERVICE_HELP, USAGE as DEBUGGER_SERVICE_USAGE } from './main.js';
