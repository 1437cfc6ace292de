import path from 'node:path';
import type { DatasetName } from '../core/datasets.js';
import { ConfigError } from '../core/errors.js';
import { loadYamlFile, type YamlFile } from './load-yaml.js';

/** As written in configs/endpoints.yml (schema: configs/schema/endpoints.schema.json). */
export interface ProviderSpec {
  readonly base_url: string;
  readonly rpm: number;
  readonly daily_budget: number;
  readonly timeout_ms?: number;
  readonly auth: { readonly kind: 'bearer'; readonly env: string } | { readonly kind: 'headers'; readonly env: Readonly<Record<string, string>> };
  readonly datasets: Readonly<Partial<Record<DatasetName, { readonly endpoint: string | readonly string[]; readonly unique: boolean; readonly weight: number }>>>;
}

export interface EndpointsConfig {
  readonly providers: Readonly<Record<string, ProviderSpec>>;
}

export function loadEndpoints(configDir: string, env: NodeJS.ProcessEnv): YamlFile<EndpointsConfig> {
  return loadYamlFile<EndpointsConfig>(path.join(configDir, 'endpoints.yml'), 'endpoints', env);
}

/** A provider's entry, or a config error naming the providers there are. */
export function provider(config: YamlFile<EndpointsConfig>, name: string): ProviderSpec {
  const p = config.value.providers[name];
  if (!p) throw new ConfigError(`no provider "${name}" in endpoints.yml (providers: ${Object.keys(config.value.providers).join(', ')})`, { file: config.file });
  return p;
}

/**
 * The request headers that carry a provider's keys, read from the environment variables the
 * config names, and the key values themselves (for redaction). A missing variable is a config
 * error that names the variable, never a value.
 */
export function providerAuth(config: YamlFile<EndpointsConfig>, name: string, env: NodeJS.ProcessEnv): { headers: Record<string, string>; secrets: string[] } {
  const p = provider(config, name);
  const need = (variable: string) => {
    const value = env[variable];
    if (!value) throw config.errorAt(`/providers/${name}/auth`, `${variable} is not set: export the ${name} API key in it`);
    return value;
  };
  if (p.auth.kind === 'bearer') {
    const key = need(p.auth.env);
    return { headers: { authorization: `Bearer ${key}` }, secrets: [key] };
  }
  const entries = Object.entries(p.auth.env).map(([header, variable]) => [header, need(variable)] as const);
  return { headers: Object.fromEntries(entries), secrets: entries.map(([, v]) => v) };
}
