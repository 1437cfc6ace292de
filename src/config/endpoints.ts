import path from 'node:path';
import { ConfigError, UsageError } from '../core/errors.js';
import { loadYamlFile, type YamlFile } from './load-yaml.js';

/** As written in configs/endpoints.yml (schema: configs/schema/endpoints.schema.json). */
export interface ProviderSpec {
  readonly base_url: string;
  readonly rpm: number;
  readonly daily_budget: number;
  readonly timeout_ms?: number;
  /** What the vendor bills per request beyond the plan (a pay-as-you-go plan); none for a flat plan. */
  readonly cost?: { readonly per_request: number; readonly currency: string };
  readonly auth:
    | { readonly kind: 'bearer'; readonly env: string }
    | { readonly kind: 'headers'; readonly env: Readonly<Record<string, string>>; readonly optional?: boolean }
    | { readonly kind: 'query'; readonly param: string; readonly env: string };
  /** The vendor's count of the window's use, from a response header (Binance's request weight). */
  readonly used_weight?: { readonly header: string; readonly limit: number; readonly window_s: number };
}

export interface EndpointsConfig {
  readonly providers: Readonly<Record<string, ProviderSpec>>;
}

/**
 * configs/endpoints.yml with each provider's base_url taken from MDW_<PROVIDER>_URL when that is
 * set: a rule of the code, so a provider added to the file later can be pointed at a mirror or a
 * simulator without a line written for it.
 */
export function loadEndpoints(configDir: string, env: NodeJS.ProcessEnv): YamlFile<EndpointsConfig> {
  const file = loadYamlFile<EndpointsConfig>(path.join(configDir, 'endpoints.yml'), 'endpoints', env);
  const providers = Object.fromEntries(
    Object.entries(file.value.providers).map(([name, spec]) => {
      const url = baseUrlFromEnv(name, spec.base_url, env);
      return [name, url === undefined ? spec : Object.freeze({ ...spec, base_url: url })];
    }),
  );
  return { ...file, value: Object.freeze({ ...file.value, providers: Object.freeze(providers) }) };
}

/** The variable that overrides a provider's base_url: MDW_POLYGON_URL for polygon, MDW_MY_VENDOR_URL for my-vendor. */
export function baseUrlVariable(provider: string): string {
  return `MDW_${provider.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_URL`;
}

/** The value is not repeated in the error: a URL can carry a user and password. */
function baseUrlFromEnv(provider: string, fileUrl: string, env: NodeJS.ProcessEnv): string | undefined {
  const variable = baseUrlVariable(provider);
  const value = env[variable]?.trim();
  if (!value) return undefined;
  const protocol = URL.canParse(value) ? new URL(value).protocol : '';
  if (protocol !== 'http:' && protocol !== 'https:') {
    throw new UsageError(`${variable} is not an http(s) URL: it replaces the base_url of ${provider} in endpoints.yml, ${fileUrl}`);
  }
  return value;
}

/** A provider's entry, or a config error naming the providers there are. */
export function provider(config: YamlFile<EndpointsConfig>, name: string): ProviderSpec {
  const p = config.value.providers[name];
  if (!p) throw new ConfigError(`no provider "${name}" in endpoints.yml (providers: ${Object.keys(config.value.providers).join(', ')})`, { file: config.file });
  return p;
}

/** The environment variables that hold a provider's keys (names only, never values). */
export function keyVariables(auth: ProviderSpec['auth']): string[] {
  return auth.kind === 'headers' ? Object.values(auth.env) : [auth.env];
}

/**
 * The request headers (or the query parameter) that carry a provider's keys, read from the
 * environment variables the config names, and the key values themselves (for redaction). A
 * missing variable is a config error that names the variable, never a value.
 */
export function providerAuth(
  config: YamlFile<EndpointsConfig>,
  name: string,
  env: NodeJS.ProcessEnv,
): { headers: Record<string, string>; query?: Record<string, string>; secrets: string[] } {
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
  if (p.auth.kind === 'query') {
    const key = need(p.auth.env);
    return { headers: {}, query: { [p.auth.param]: key }, secrets: [key] };
  }
  // A vendor that serves without a key (Binance market data, CoinGecko's public API) gets none when none is set.
  const optional = p.auth.optional === true;
  const entries = Object.entries(p.auth.env)
    .filter(([, variable]) => !optional || Boolean(env[variable]))
    .map(([header, variable]) => [header, need(variable)] as const);
  return { headers: Object.fromEntries(entries), secrets: entries.map(([, v]) => v) };
}
