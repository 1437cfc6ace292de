import type { Adapter, AdapterName } from './adapter.js';
import { alpacaAdapter } from './alpaca/alpaca-adapter.js';
import { fileAdapter } from './file/file-adapter.js';
import { polygonAdapter } from './polygon/polygon-adapter.js';

/** Every adapter, one line each. */
export const adapters: Record<AdapterName, Adapter> = {
  file: fileAdapter,
  polygon: polygonAdapter,
  alpaca: alpacaAdapter,
};
