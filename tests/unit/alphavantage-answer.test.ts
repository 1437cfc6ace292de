import { describe, expect, test } from '@jest/globals';
import { BudgetExhaustedError, VendorError, type JsonResponse } from '../../src/http/http-client.js';
import { refuseAnswer } from '../../src/sources/alphavantage/alphavantage.js';
import type { VendorRequest } from '../../src/sources/fetcher.js';

/** Alpha Vantage's HTTP 200 answers, in its words (its documentation and the answers users report). */
const request: VendorRequest = { path: '/query', query: { function: 'TIME_SERIES_DAILY', symbol: 'IBM', outputsize: 'full' }, closed: true };
const page = (body: unknown): JsonResponse => ({ body, text: JSON.stringify(body), status: 200, url: '/query', secrets: 0 });
const refused = (body: unknown) => {
  try {
    refuseAnswer(page(body), request, 'Time Series (Daily)');
    return null;
  } catch (err) {
    return err;
  }
};

describe("Alpha Vantage's answers", () => {
  test('the daily limit (Information) and the older per-minute Note are a spent budget: exit 3, never an empty answer', () => {
    for (const text of [
      'Thank you for using Alpha Vantage! Our standard API rate limit is 25 requests per day. Please subscribe to any of the premium plans at https://www.alphavantage.co/premium/ to instantly remove all daily rate limits.',
      'Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute and 500 calls per day. Please visit https://www.alphavantage.co/premium/ if you would like to target a higher API call frequency.',
    ]) {
      const err = refused(text.includes('25 requests') ? { Information: text } : { Note: text });
      expect(err).toBeInstanceOf(BudgetExhaustedError);
      expect((err as BudgetExhaustedError).exitCode).toBe(3);
      expect((err as Error).message).toContain(text);
    }
  });

  test('a premium endpoint or parameter, and an Error Message, are terminal with the vendor\'s words', () => {
    const premium = 'Thank you for using Alpha Vantage! The outputsize=full parameter value is a premium feature for the TIME_SERIES_DAILY endpoint. You may subscribe to any of the premium plans at https://www.alphavantage.co/premium/ to instantly unlock all premium features';
    const p = refused({ Information: premium });
    expect(p).toBeInstanceOf(VendorError);
    expect((p as VendorError).exitCode).toBe(1);
    const e = refused({ 'Error Message': 'Invalid API call. Please retry or visit the documentation (https://www.alphavantage.co/documentation/) for TIME_SERIES_DAILY.' });
    expect(e).toBeInstanceOf(VendorError);
    expect((e as Error).message).toBe('alphavantage TIME_SERIES_DAILY IBM: Invalid API call. Please retry or visit the documentation (https://www.alphavantage.co/documentation/) for TIME_SERIES_DAILY.');
  });

  test('an answer with the series is accepted, even beside a Note; one with neither names the fields it has', () => {
    expect(refused({ 'Meta Data': {}, 'Time Series (Daily)': {}, Note: 'x' })).toBeNull();
    expect((refused({ 'Meta Data': {} }) as Error).message).toBe('alphavantage TIME_SERIES_DAILY IBM: the answer has no "Time Series (Daily)" (fields: Meta Data)');
    expect(refused([])).toBeInstanceOf(VendorError);
  });
});
