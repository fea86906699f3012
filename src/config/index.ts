/** The config loader's public surface (see load.ts for the theory of operation). */
export { parseConfig, DEFAULTS, type ConfigResult } from "./load.js";
export { formatConfigError, formatPath, type ConfigError } from "./errors.js";
export { parseDuration } from "./duration.js";
export type { DaemonConfig, LogLevel, LogLevels, LogSubsystem, TsipsecConfig, WrittenChild, WrittenConnection } from "./types.js";
export { LOG_LEVELS, LOG_SUBSYSTEMS } from "./types.js";
