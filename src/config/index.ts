export { ConfigSchema, type Config } from './schema';
export { loadConfig, parseConfig, applyEnvOverrides, ConfigError, ENV_PREFIX } from './load';
