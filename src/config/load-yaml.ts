import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { isAlias, isMap, isNode, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { datasetNames } from '../core/datasets.js';
import { ConfigError, errorMessage } from '../core/errors.js';
import { packageRoot } from '../core/settings.js';

/** The committed JSON Schemas, by file name without `.schema.json`. */
export type SchemaName = 'job' | 'transform' | 'datasets' | 'validation' | 'endpoints' | 'backfill' | 'curate' | 'schedule' | 'retention';

const schemaDir = path.join(packageRoot, 'configs', 'schema');
let ajv: Ajv | undefined;
const compiled = new Map<SchemaName, ValidateFunction>();

/**
 * What the code adds to a committed schema: names that have one list in the code (the
 * fetcher registry's adapters and endpoints), so that the file never repeats them. The same
 * for every call with that schema.
 */
export type SchemaExtension = (schema: Readonly<Record<string, unknown>>) => Record<string, unknown>;

type SchemaObject = { properties?: Record<string, Record<string, unknown>>; definitions?: Record<string, SchemaObject> } & Record<string, unknown>;

/**
 * The dataset names (src/core/datasets.ts, their one list) in a committed schema: a `dataset`
 * property, at the top or in a definition (a backfill target), may name any of them, and
 * datasets.yml has an entry per dataset.
 */
function withDatasetNames(schema: SchemaObject): SchemaObject {
  const out = namingDatasets(schema);
  const definitions = schema.definitions;
  if (!definitions) return out;
  return { ...out, definitions: Object.fromEntries(Object.entries(definitions).map(([name, d]) => [name, namingDatasets(d)])) };
}

function namingDatasets(schema: SchemaObject): SchemaObject {
  const properties = schema.properties;
  if (!properties) return schema;
  const out = { ...properties };
  if (out['dataset']) out['dataset'] = { ...out['dataset'], enum: [...datasetNames] };
  if (schema['$id'] === 'https://mdw.local/schema/datasets.schema.json' && out['datasets']) {
    out['datasets'] = { ...out['datasets'], properties: Object.fromEntries(datasetNames.map((d) => [d, { $ref: '#/definitions/dataset' }])) };
  }
  return { ...schema, properties: out };
}

function validatorFor(name: SchemaName, extend?: SchemaExtension): ValidateFunction {
  let fn = compiled.get(name);
  if (!fn) {
    if (!ajv) {
      ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
      // Schemas refer to each other by $id, so all of them are registered up front.
      for (const f of listSchemaNames()) ajv.addSchema(withDatasetNames(JSON.parse(readFileSync(path.join(schemaDir, f), 'utf8')) as SchemaObject));
    }
    const id = `https://mdw.local/schema/${name}.schema.json`;
    const committed = ajv.getSchema(id);
    if (!committed) throw new Error(`no JSON Schema named ${name}`);
    // The extended copy lives beside the committed one (its relative $refs resolve the same).
    fn = extend ? ajv.compile({ ...extend(committed.schema as Record<string, unknown>), $id: `https://mdw.local/schema/${name}+code.schema.json` }) : committed;
    compiled.set(name, fn);
  }
  return fn;
}

export function listSchemaNames(): string[] {
  return readdirSync(schemaDir).filter((f) => f.endsWith('.schema.json'));
}

/** A parsed, schema-checked YAML file that can still point at its own lines. */
export interface YamlFile<T> {
  readonly file: string;
  readonly value: T;
  /**
   * ConfigError at the node under a JSON pointer (or the closest existing parent); with
   * `at: 'key'`, at the key that names it rather than its value.
   */
  errorAt(pointer: string, message: string, at?: 'key' | 'value'): ConfigError;
}

/**
 * Reads a YAML file, expands ${VAR} and ${VAR:-default} in strings, checks it against its
 * JSON Schema and freezes it. Any problem becomes one ConfigError naming file:line:column.
 */
export function loadYamlFile<T>(file: string, schema: SchemaName, env: NodeJS.ProcessEnv, extend?: SchemaExtension): YamlFile<T> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(code === 'ENOENT' ? 'file not found' : `cannot read: ${code ?? String(err)}`, { file });
  }
  return parseYamlText<T>(text, file, schema, env, extend);
}

export function parseYamlText<T>(text: string, file: string, schema: SchemaName, env: NodeJS.ProcessEnv, extend?: SchemaExtension): YamlFile<T> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const locate = (offset: number) => lines.linePos(offset);
  const first = doc.errors[0];
  if (first) {
    const at = locate(first.pos[0]);
    throw new ConfigError(`invalid YAML: ${first.message.split('\n')[0]}`, { file, line: at.line, column: at.col });
  }
  const errorAt = (pointer: string, message: string, at: 'key' | 'value' = 'value'): ConfigError => {
    const node = nodeAt(doc, pointerSegments(pointer), at);
    const pos = node?.range ? locate(node.range[0]) : { line: 1, col: 1 };
    return new ConfigError(message, { file, line: pos.line, column: pos.col, pointer });
  };
  expandEnv(doc.contents, [], env, errorAt);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // yaml refuses aliases that would expand a few lines into millions of nodes.
    if (!/alias count/i.test(errorMessage(err))) throw err;
    const at = firstAlias(doc.contents);
    throw new ConfigError(`invalid YAML: its aliases (*name) expand past 100 copies of a node; write the values out`, {
      file,
      ...(at?.range ? { line: locate(at.range[0]).line, column: locate(at.range[0]).col } : { line: 1, column: 1 }),
    });
  }
  if (value === null || value === undefined) throw new ConfigError('the file is empty', { file, line: 1, column: 1 });
  const validate = validatorFor(schema, extend);
  if (!validate(value)) {
    const err = mostSpecific(validate.errors ?? []);
    const { pointer, message, at } = describe(err);
    throw errorAt(pointer, message, at);
  }
  return { file, value: deepFreeze(value) as T, errorAt };
}

/** The first alias node of a document, in document order. */
function firstAlias(node: unknown): Node | undefined {
  if (isAlias(node)) return node;
  if (isMap(node)) {
    for (const pair of node.items) {
      const found = firstAlias(pair.key) ?? firstAlias(pair.value);
      if (found) return found;
    }
  } else if (isSeq(node)) {
    for (const item of node.items) {
      const found = firstAlias(item);
      if (found) return found;
    }
  }
  return undefined;
}

function pointerSegments(pointer: string): (string | number)[] {
  if (pointer === '' || pointer === '/') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** The node at a path (or its closest existing parent); for at = 'key', the last key itself. */
function nodeAt(doc: Document, segments: (string | number)[], at: 'key' | 'value'): Node | undefined {
  let node: unknown = doc.contents;
  let lastGood: Node | undefined = isNode(node) ? node : undefined;
  for (const [i, seg] of segments.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return lastGood;
      if (isNode(pair.key)) lastGood = pair.key as Node;
      if (at === 'key' && i === segments.length - 1) return lastGood;
      node = pair.value ?? pair.key;
      if (isNode(node)) lastGood = node;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
      if (isNode(node)) lastGood = node;
      else return lastGood;
    } else {
      return lastGood;
    }
  }
  return lastGood;
}

function expandEnv(
  node: unknown,
  at: (string | number)[],
  env: NodeJS.ProcessEnv,
  errorAt: (pointer: string, message: string) => ConfigError,
): void {
  if (isScalar(node) && typeof node.value === 'string' && node.value.includes('${')) {
    const reference = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
    // A "${" that starts no reference would reach a path or URL as it stands.
    const stray = /\$\{[^}]{0,40}\}?/.exec(node.value.replace(reference, ''));
    if (stray) {
      throw errorAt(`/${at.join('/')}`, `"${stray[0]}" is not an environment reference: write \${NAME} or \${NAME:-default}, NAME of letters, digits and _`);
    }
    node.value = node.value.replace(reference, (_m, name: string, dflt?: string) => {
      const v = env[name];
      if (v !== undefined && v !== '') return v;
      if (dflt !== undefined) return dflt;
      throw errorAt(`/${at.join('/')}`, `environment variable ${name} is not set (write \${${name}:-default} for a fallback)`);
    });
  } else if (isMap(node)) {
    for (const pair of node.items) {
      if (isPair(pair) && isScalar(pair.key)) expandEnv(pair.value, [...at, String(pair.key.value)], env, errorAt);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => expandEnv(item, [...at, i], env, errorAt));
  }
}

/** Of several schema errors, the deepest one is the most useful to a person. */
function mostSpecific(errors: ErrorObject[]): ErrorObject {
  const ranked = [...errors].sort((a, b) => depth(b) - depth(a) || rank(a) - rank(b));
  return ranked[0]!;
}

function depth(e: ErrorObject): number {
  const extra = e.keyword === 'additionalProperties' || e.keyword === 'required' ? 1 : 0;
  return e.instancePath.split('/').length + extra;
}

function rank(e: ErrorObject): number {
  // Prefer concrete complaints over the summaries that oneOf/anyOf add.
  return ['oneOf', 'anyOf', 'if', 'not'].includes(e.keyword) ? 1 : 0;
}

function describe(e: ErrorObject): { pointer: string; message: string; at?: 'key' } {
  const where = e.instancePath || '/';
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String((e.params as { additionalProperty: string }).additionalProperty);
      return { pointer: `${e.instancePath}/${key}`, message: `unknown key "${key}" in ${where}`, at: 'key' };
    }
    case 'required': {
      const key = String((e.params as { missingProperty: string }).missingProperty);
      return { pointer: e.instancePath, message: `${where} is missing the required key "${key}"` };
    }
    case 'enum': {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ');
      return { pointer: e.instancePath, message: `${where} must be one of ${allowed}` };
    }
    case 'pattern':
      return { pointer: e.instancePath, message: `${where} ${e.message ?? 'has the wrong form'}` };
    default:
      return { pointer: e.instancePath, message: `${where} ${e.message ?? 'is invalid'}` };
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
