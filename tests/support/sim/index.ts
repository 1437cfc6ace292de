import { alpacaSim } from './alpaca.js';
import { alphavantageSim } from './alphavantage.js';
import { binanceSim } from './binance.js';
import { coingeckoSim } from './coingecko.js';
import { finnhubSim } from './finnhub.js';
import { polygonSim } from './polygon.js';
import type { SimRoute } from './route.js';

/** Every vendor's route, the first that serves a path answering it; Polygon's (the catch-all, with its 404) last. */
export const simRoutes: readonly SimRoute[] = [alpacaSim, alphavantageSim, binanceSim, coingeckoSim, finnhubSim, polygonSim];
