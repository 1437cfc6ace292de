import Bottleneck from 'bottleneck';
import got, { RequestError } from 'got';
import { ExitCode, MdwError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

/**
 * The one HTTP client every vendor adapter uses, and the only module that imports got and
 * bottleneck. It paces requests per vendor, spends the vendor's daily budget one request at a
 * time, retries what is transient (429, 5xx, resets, timeouts, a cut or unreadable body) with
 * exponential backoff and jitter, honouring Retry-After (and a 418 ban's, Binance's), waits for
 * the next window when the vendor's used-weight header says this one is nearly spent, and turns
 * what is terminal (400, 401, 403, 404, 422) into a VendorError naming the vendor, endpoint,
 * status and what the vendor said. Secrets never appear in what it logs or throws: keys travel
 * in headers (or, for a vendor that takes them only in the query, are added to the URL as it is
 * sent), and every text is redacted. Keys go
 * only to the configured base URL's origin (scheme, host and port): a next_url or a redirect
 * elsewhere is refused, and a body that holds a key comes back with *** in its place.
 */

/** A failure talking to a vendor. Terminal ones are not retried. */
export class VendorError extends MdwError {
  constructor(
    code: 'http_status' | 'transport' | 'bad_payload' | 'page_loop' | 'foreign_host',
    message: string,
    readonly vendor: string,
    readonly endpoint: string,
    readonly status: number | null,
  ) {
    super(`vendor_${code}`, message, ExitCode.failed);
  }
}

/** The day's request budget is spent: the run stops here, and the next one resumes. */
export class BudgetExhaustedError extends MdwError {
  constructor(
    message: string,
    readonly vendor: string,
  ) {
    super('budget_exhausted', message, ExitCode.partial);
  }
}

/** Spends one request of a shared daily budget; false when none is left. */
export interface RequestBudget {
  spend(vendor: string, limit: number): Promise<{ ok: boolean; used: number; limit: number }>;
}

export interface HttpClientOptions {
  readonly vendor: string;
  readonly baseUrl: string;
  /** Requests per minute this vendor allows. */
  readonly rpm: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** Query parameters that carry a key (Alpha Vantage's apikey): added only to the URL sent, never to one shown, landed or compared. */
  readonly query?: Readonly<Record<string, string>>;
  /** Values that must never be shown (the keys in the headers or the query). */
  readonly secrets?: readonly string[];
  readonly budget?: RequestBudget | null;
  /** Requests per UTC day, across runs (the budget keeps the count). */
  readonly dailyBudget?: number;
  readonly logger: Logger;
  readonly timeoutMs?: number;
  /** Attempts for a transient failure, the first included. */
  readonly attempts?: number;
  /** First backoff; doubles each attempt, with jitter. */
  readonly backoffMs?: number;
  /** Waits longer than this (a Retry-After of an hour) fail instead. */
  readonly maxWaitMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  /** The wall clock, for Retry-After dates and weight windows. */
  readonly now?: () => number;
  /**
   * The vendor's own count of what its window has used, sent on every answer (Binance's
   * X-MBX-USED-WEIGHT-1M, windows on the minute): at 90% of the limit, the next request waits
   * for the next window instead of earning a 429 and then a ban.
   */
  readonly usedWeight?: { readonly header: string; readonly limit: number; readonly windowMs: number };
}

export interface JsonResponse {
  readonly body: unknown;
  /** The bytes as received, for the raw landing, with *** where they held a key. */
  readonly text: string;
  readonly status: number;
  /** The URL fetched, redacted. */
  readonly url: string;
  /** How many times the body held one of the vendor's keys (each now ***). */
  readonly secrets: number;
}

const transientStatus = new Set([408, 425, 429, 500, 502, 503, 504]);
/** Redirects followed within the vendor's origin before a request fails. */
const maxRedirects = 5;
/** Shorter values are not taken for keys: replacing them would mangle ordinary text. */
const minSecretLength = 4;

export class HttpClient {
  private readonly limiter: Bottleneck;
  private readonly o: Required<Omit<HttpClientOptions, 'budget' | 'headers' | 'query' | 'secrets' | 'dailyBudget' | 'usedWeight'>> &
    Pick<HttpClientOptions, 'budget' | 'headers' | 'query' | 'secrets' | 'dailyBudget' | 'usedWeight'>;
  /** When the vendor's weight window opens again, after an answer said it is nearly spent (ms since 1970). */
  private weightWaitUntil = 0;
  /** Requests sent, retries included. */
  requests = 0;

  get vendor(): string {
    return this.o.vendor;
  }

  constructor(options: HttpClientOptions) {
    this.o = {
      timeoutMs: 30_000,
      attempts: 5,
      backoffMs: 500,
      maxWaitMs: 120_000,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      random: Math.random,
      now: Date.now,
      ...options,
    };
    this.limiter = new Bottleneck({ maxConcurrent: 1, minTime: Math.ceil(60_000 / Math.max(1, options.rpm)) });
  }

  /** Replaces every secret in a text. */
  redact(text: string): string {
    return this.withoutSecrets(text).text.replace(/([?&](?:apiKey|apikey|api_key|token|key)=)[^&\s]+/gi, '$1***');
  }

  /**
   * A text with *** for each key it holds, as written, JSON-escaped or URL-encoded (a body that
   * echoes the request), and how many it held.
   */
  private withoutSecrets(text: string): { text: string; found: number } {
    let out = text;
    let found = 0;
    for (const s of this.o.secrets ?? []) {
      if (s.length < minSecretLength) continue;
      for (const form of new Set([s, JSON.stringify(s).slice(1, -1), encodeURIComponent(s)])) {
        const parts = out.split(form);
        found += parts.length - 1;
        out = parts.join('***');
      }
    }
    return { text: out, found };
  }

  /** The configured base URL's origin (scheme, host, port): the only one keys are sent to. */
  private get origin(): string {
    return new URL(this.o.baseUrl).origin;
  }

  /** A refusal to send the keys to a URL at another origin; null when it is the vendor's own. Names hosts only, never a path or query. */
  foreignHost(url: URL, what: string, endpoint: string): VendorError | null {
    if (url.origin === this.origin) return null;
    return new VendorError('foreign_host', `${what} ${url.origin}, another host than the configured ${this.origin}: not followed, the key goes only there`, this.o.vendor, endpoint, null);
  }

  /** The URL as sent: with the key parameters, where the vendor takes its key in the query. */
  private keyed(url: URL): URL {
    if (!this.o.query) return url;
    const sent = new URL(url);
    for (const [k, v] of Object.entries(this.o.query)) sent.searchParams.set(k, v);
    return sent;
  }

  /** A path under the base URL (with query), or a full URL (a next_url), as the URL to fetch. */
  resolve(pathOrUrl: string, query: Readonly<Record<string, string | number | boolean>> = {}): URL {
    const url = new URL(/^https?:\/\//.test(pathOrUrl) ? pathOrUrl : this.o.baseUrl.replace(/\/$/, '') + pathOrUrl);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, String(v));
    url.searchParams.sort();
    return url;
  }

  /** GET a JSON document: a path under the base URL (with query) or a full URL (a next_url). */
  getJson(pathOrUrl: string, query: Readonly<Record<string, string | number | boolean>> = {}): Promise<JsonResponse> {
    return this.get(pathOrUrl, query, 'json');
  }

  /**
   * GET a text document (a CSV export, Alpha Vantage's LISTING_STATUS): body is the text, or,
   * where the vendor answered in JSON instead (its error and rate-limit answers), the parsed JSON.
   */
  getText(pathOrUrl: string, query: Readonly<Record<string, string | number | boolean>> = {}): Promise<JsonResponse> {
    return this.get(pathOrUrl, query, 'text');
  }

  private async get(pathOrUrl: string, query: Readonly<Record<string, string | number | boolean>>, as: 'json' | 'text'): Promise<JsonResponse> {
    const url = this.resolve(pathOrUrl, query);
    const shown = this.redact(url.toString());
    const endpoint = this.redact(url.pathname);
    const foreign = this.foreignHost(url, `${this.o.vendor}: the request points at`, endpoint);
    if (foreign) throw foreign;
    for (let attempt = 1; ; attempt++) {
      const failure = await this.attempt(url, shown, endpoint, as);
      if ('body' in failure) return failure;
      if (!failure.transient || attempt >= this.o.attempts) throw failure.error;
      const wait = failure.retryAfterMs ?? Math.round(this.o.backoffMs * 2 ** (attempt - 1) * (0.5 + this.o.random()));
      if (wait > this.o.maxWaitMs) {
        // The vendor asks for more than a run waits (a Binance ban lasts minutes to days): say until when.
        const until = new Date(this.o.now() + wait).toISOString();
        throw new VendorError('http_status', `${failure.error.message}; the vendor asks to wait ${Math.ceil(wait / 1000)} s, until ${until} (a run waits at most ${Math.round(this.o.maxWaitMs / 1000)} s): run again after that`, this.o.vendor, endpoint, (failure.error as VendorError).status ?? null);
      }
      this.o.logger.warn(`${this.o.vendor}: ${failure.error.message}; retry ${attempt} of ${this.o.attempts - 1} in ${(wait / 1000).toFixed(1)} s`);
      await this.o.sleep(wait);
    }
  }

  /** Waits for the vendor's next weight window when the last answer said this one is nearly spent. */
  private async waitForWeight(): Promise<void> {
    const wait = this.weightWaitUntil - this.o.now();
    if (wait <= 0) return;
    this.o.logger.info(`${this.o.vendor}: the request weight of this window is nearly spent; waiting ${(wait / 1000).toFixed(1)} s for the next`);
    await this.o.sleep(wait);
  }

  private noteWeight(headers: Record<string, string | string[] | undefined>): void {
    const w = this.o.usedWeight;
    if (!w) return;
    const value = headers[w.header.toLowerCase()];
    const used = Number(Array.isArray(value) ? value[0] : value);
    if (!Number.isFinite(used) || used < w.limit * 0.9) return;
    // Windows start on the vendor's clock at multiples of their length (Binance: each minute).
    this.weightWaitUntil = (Math.floor(this.o.now() / w.windowMs) + 1) * w.windowMs + 1000;
  }

  private async attempt(
    url: URL,
    shown: string,
    endpoint: string,
    as: 'json' | 'text',
  ): Promise<JsonResponse | { transient: boolean; retryAfterMs: number | null; error: MdwError }> {
    const vendor = this.o.vendor;
    if (this.o.budget) {
      const b = await this.o.budget.spend(vendor, this.o.dailyBudget ?? Number.MAX_SAFE_INTEGER);
      if (!b.ok) throw new BudgetExhaustedError(`${vendor}: the daily budget of ${b.limit} requests is spent; run again tomorrow (or raise daily_budget in configs/endpoints.yml) to resume`, vendor);
    }
    await this.waitForWeight();
    this.requests++;
    let res: { statusCode: number; body: string; headers: Record<string, string | string[] | undefined> };
    // Redirects are followed here, not by got, which would carry keys in custom headers (Alpaca's)
    // to another host and fetch that host's rows.
    for (let target = this.keyed(url), hops = 0; ; hops++) {
      try {
        res = await this.limiter.schedule(() =>
          got(target, {
            headers: { accept: 'application/json', ...this.o.headers },
            timeout: { request: this.o.timeoutMs },
            retry: { limit: 0 },
            throwHttpErrors: false,
            followRedirect: false,
            responseType: 'text',
            decompress: true,
          }),
        );
      } catch (err) {
        const e = err as RequestError;
        const what = e.code === 'ETIMEDOUT' ? `no answer within ${this.o.timeoutMs} ms` : `${e.code ?? 'request failed'}`;
        return { transient: true, retryAfterMs: null, error: new VendorError('transport', `${vendor} ${endpoint}: ${this.redact(what)}`, vendor, endpoint, null) };
      }
      const location = res.statusCode >= 300 && res.statusCode < 400 ? [res.headers.location].flat()[0] : undefined;
      if (location === undefined || !URL.canParse(location, target.href)) break;
      const next = new URL(location, target);
      const foreign = this.foreignHost(next, `${vendor} ${endpoint}: HTTP ${res.statusCode} redirects to`, endpoint);
      if (foreign) return { transient: false, retryAfterMs: null, error: foreign };
      if (hops >= maxRedirects) {
        return { transient: false, retryAfterMs: null, error: new VendorError('http_status', `${vendor} ${endpoint}: more than ${maxRedirects} redirects`, vendor, endpoint, res.statusCode) };
      }
      target = this.keyed(next);
    }
    const status = res.statusCode;
    this.noteWeight(res.headers);
    if (status >= 300) {
      const hint = status === 401 || status === 403 ? ' (check the API key in the environment variable configs/endpoints.yml names)' : '';
      const said = vendorMessage(res.body);
      const error = new VendorError('http_status', `${vendor} ${endpoint}: HTTP ${status}${hint}${said ? `: ${this.redact(said)}` : ''}`, vendor, endpoint, status);
      const after = retryAfter(res.headers['retry-after'], this.o.now());
      // 418 is Binance's ban of an address that went on after 429s: honoured for as long as its
      // Retry-After says (a wait past maxWaitMs ends the run, naming the time); without one it is terminal.
      const transient = transientStatus.has(status) || (status === 418 && after !== null);
      return { transient, retryAfterMs: after, error };
    }
    const { text, found } = this.withoutSecrets(res.body);
    if (as === 'text') return { body: jsonOrText(text), text, status, url: shown, secrets: found };
    try {
      return { body: JSON.parse(text) as unknown, text, status, url: shown, secrets: found };
    } catch {
      // A body cut short or garbled in transit reads differently the next time.
      const error = new VendorError('bad_payload', `${vendor} ${endpoint}: the response is not valid JSON (${res.body.length} bytes)`, vendor, endpoint, status);
      return { transient: true, retryAfterMs: null, error };
    }
  }
}

/** A text answer as the vendor meant it: a JSON object (an error) parsed, anything else as it is. */
function jsonOrText(text: string): unknown {
  if (!/^\s*\{/.test(text)) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Retry-After as seconds or an HTTP date, in milliseconds from now. */
function retryAfter(value: string | string[] | undefined, now: number): number | null {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return null;
  if (/^\d+(\.\d+)?$/.test(v.trim())) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/**
 * What an error answer says, in the vendor's words, when it is JSON with a message: Binance's
 * {"code": -1121, "msg": "Invalid symbol."}, CoinGecko's {"error": "coin not found"} or
 * {"status": {"error_message": ...}}, Polygon's {"error": ...}. Cut to a line.
 */
function vendorMessage(body: string): string | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return null;
  }
  if (!parsed || typeof parsed !== 'object') return null;
  const o = parsed as Record<string, unknown>;
  const status = o['status'] && typeof o['status'] === 'object' ? (o['status'] as Record<string, unknown>) : {};
  const text = [o['msg'], o['message'], o['error'], status['error_message']].find((v): v is string => typeof v === 'string' && v.trim() !== '');
  if (text === undefined) return null;
  const code = typeof o['code'] === 'number' || typeof o['code'] === 'string' ? ` (code ${String(o['code'])})` : '';
  return `${text.replace(/\s+/g, ' ').trim().slice(0, 200)}${code}`;
}

/** Where the next page is: a full URL (Polygon next_url), a token to send back (Alpaca next_page_token), or a cursor. */
export type PageStyle = { readonly kind: 'next_url'; readonly field: string } | { readonly kind: 'token'; readonly field: string; readonly param: string };

/**
 * Every page of a paged request, in order. A page that points back at one already read (a
 * vendor's page loop) is an error, not an endless run; so is going past `maxPages`.
 */
export async function* pages(
  client: HttpClient,
  first: { readonly path: string; readonly query: Readonly<Record<string, string | number | boolean>> },
  style: PageStyle,
  maxPages = 10_000,
): AsyncGenerator<JsonResponse> {
  const seen = new Set<string>();
  let next: { path: string; query: Readonly<Record<string, string | number | boolean>> } | null = first;
  for (let n = 0; next; n++) {
    const key = client.resolve(next.path, next.query).toString();
    if (seen.has(key) || n >= maxPages) {
      throw new VendorError('page_loop', `${client.vendor} ${client.redact(new URL(next.path, 'http://x').pathname)}: page ${n + 1} points back at a page already read; stopping instead of looping`, client.vendor, client.redact(first.path), null);
    }
    seen.add(key);
    if (n > 0 && style.kind === 'next_url') {
      const foreign = client.foreignHost(client.resolve(next.path), `${client.vendor} ${client.redact(first.path)}: next_url points at`, client.redact(first.path));
      if (foreign) throw foreign;
    }
    const page = await client.getJson(next.path, next.query);
    yield page;
    const value = (page.body as Record<string, unknown> | null)?.[style.field];
    if (typeof value !== 'string' || value === '') next = null;
    else next = style.kind === 'next_url' ? { path: value, query: {} } : { path: first.path, query: { ...first.query, [style.param]: value } };
  }
}
