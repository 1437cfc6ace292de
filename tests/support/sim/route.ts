import type { IncomingMessage } from 'node:http';
import type { FaultKind, VendorSim } from '../vendor-sim.js';

export type Send = (status: number, body: string, headers?: Record<string, string>) => void;

/**
 * One vendor's part of the simulator: the paths it serves, its credentials, and its answers in
 * the vendor's documented shapes. The shared server (vendor-sim.ts) logs requests, injects
 * faults and hands each request to the first route that serves it.
 */
export interface SimRoute {
  readonly vendor: string;
  serves(url: string): boolean;
  /** The answer to a request without the vendor's credentials, or null when they are right (or not checked). */
  refuse(req: IncomingMessage, sim: VendorSim): { readonly status: number; readonly body: string } | null;
  /** A rate-limit answer's body, in the vendor's words. */
  readonly tooMany: string;
  answer(url: string, fault: FaultKind | undefined, send: Send, sim: VendorSim): void;
}
