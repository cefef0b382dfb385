export { startConsoleBackend, type ConsoleBackend, type ConsoleBackendOptions } from './backend.js';
export {
  stdioEndpoint,
  fileEndpoint,
  tcpEndpoint,
  parseTcpAddress,
  MAX_CLIENT_BACKLOG,
  type ConsoleEndpoint,
  type StdioStreams,
  type TcpEndpoint,
} from './endpoints.js';
export { EscapeFilter, ESCAPE_KEY, ESCAPE_HELP, type EscapeActions } from './escape.js';
export {
  ConsoleInputSender,
  INPUT_CHUNK,
  DEFAULT_MAX_PENDING,
  type InputStats,
  type ConsoleInputOptions,
} from './input.js';
export { ConsoleOutputReader, consoleOutputSubject, MAX_OUTPUT_CHUNK, type OutputStats } from './output.js';
export { main as consoleServiceMain, HELP as CONSOLE_SERVICE_HELP, parseBackend } from './main.js';
