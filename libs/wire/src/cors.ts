import { Inject, Injectable } from '@nestjs/common';
import { allowsAnyOrigin, CorsRule, headerCovered, matchPreflight, matchRequest } from '@leasehold/domain';
import type { IncomingHttpHeaders } from 'node:http';
import { AzureError, missingHeader } from './errors';
import { header } from './request';

/** The filesystem capability answers this: the CORS rules an account set with Set File Service Properties (none by default). */
export interface CorsRulesLookup {
  corsRulesOf(account: string): Promise<CorsRule[]>;
}
export const CORS_RULES_LOOKUP = Symbol('CORS_RULES_LOOKUP');

const preflightRefused = () =>
  new AzureError(403, 'CorsPreflightFailure', 'CORS not enabled or no matching rule found for this request.');

/** The origin part of the answer to a matched request or preflight: `*` only for a rule allowing any origin, which grants no credentials. */
function originHeaders(rule: CorsRule, origin: string): Record<string, string> {
  return allowsAnyOrigin(rule)
    ? { 'access-control-allow-origin': '*' }
    : { 'access-control-allow-origin': origin, 'access-control-allow-credentials': 'true', vary: 'Origin' };
}

/**
 * CORS as the File service applies it: the account's rules answer preflight OPTIONS requests
 * (no credentials needed) and add Access-Control headers to the responses of matching requests.
 * CORS is not authorization: a matched request still needs its Shared Key or SAS.
 */
@Injectable()
export class CorsPolicy {
  constructor(@Inject(CORS_RULES_LOOKUP) private readonly rules: CorsRulesLookup) {}

  /** The answer to a preflight: 200 with the Access-Control headers, or 403 CorsPreflightFailure; 400 without Origin or Access-Control-Request-Method. */
  async preflight(account: string, headers: IncomingHttpHeaders): Promise<Record<string, string>> {
    const origin = header({ headers }, 'origin');
    if (!origin) throw missingHeader('Origin');
    const method = header({ headers }, 'access-control-request-method');
    if (!method) throw missingHeader('Access-Control-Request-Method');
    const requested = (header({ headers }, 'access-control-request-headers') ?? '')
      .split(',')
      .map((h) => h.trim())
      .filter((h) => h !== '');
    const rule = matchPreflight(await this.rules.corsRulesOf(account), origin, method, requested);
    if (!rule) throw preflightRefused();
    return {
      ...originHeaders(rule, origin),
      'access-control-allow-methods': method.toUpperCase(),
      ...(requested.length ? { 'access-control-allow-headers': requested.join(',') } : {}),
      'access-control-max-age': String(rule.maxAgeInSeconds),
    };
  }

  /**
   * The Access-Control headers for the response to a request that carries an Origin: for a matching
   * rule, the origin and the response headers the rule exposes (prefix patterns expanded to the
   * headers this response has, since browsers know no prefixes); Vary: Origin whenever the answer
   * depends on the origin.
   */
  async responseHeaders(
    account: string,
    method: string,
    origin: string,
    responseHeaderNames: string[],
  ): Promise<Record<string, string>> {
    const rules = await this.rules.corsRulesOf(account);
    if (rules.length === 0) return {};
    const rule = matchRequest(rules, origin, method);
    if (!rule) return { vary: 'Origin' };
    const exposed = [
      ...rule.exposedHeaders.filter((h) => !h.endsWith('*')),
      ...responseHeaderNames.filter((name) =>
        headerCovered(
          rule.exposedHeaders.filter((h) => h.endsWith('*')),
          name,
        ),
      ),
    ];
    return {
      ...originHeaders(rule, origin),
      ...(exposed.length ? { 'access-control-expose-headers': [...new Set(exposed)].join(',') } : {}),
    };
  }
}
