/**
 * CORS rules of the File service, as Set File Service Properties stores them, and how a request is
 * matched against them: rules are tried in order and the first that matches decides.
 */
export interface CorsRule {
  /** Origins as given (`*` for any); compared case-insensitively. */
  allowedOrigins: string[];
  /** Upper-case HTTP methods. */
  allowedMethods: string[];
  /** Header names or prefixes ending in `*` (`*` alone: any header). */
  allowedHeaders: string[];
  exposedHeaders: string[];
  maxAgeInSeconds: number;
}

export const CORS_METHODS = ['DELETE', 'GET', 'HEAD', 'MERGE', 'POST', 'OPTIONS', 'PUT', 'PATCH'];
export const MAX_CORS_RULES = 5;
const MAX_NAME_LENGTH = 256;
const MAX_LITERAL_HEADERS = 64;
const MAX_PREFIXED_HEADERS = 2;
/** Azure's limit on the rules' XML (tags included). */
export const MAX_CORS_XML_BYTES = 2 * 1024;

/** Why the rules cannot be stored, or undefined when they can (Azure's documented limits). */
export function corsRulesProblem(rules: CorsRule[]): string | undefined {
  if (rules.length > MAX_CORS_RULES) return `At most ${MAX_CORS_RULES} CORS rules are allowed.`;
  for (const rule of rules) {
    if (rule.allowedOrigins.length === 0) return 'AllowedOrigins must name at least one origin.';
    if (rule.allowedMethods.length === 0) return 'AllowedMethods must name at least one method.';
    const unknown = rule.allowedMethods.find((m) => !CORS_METHODS.includes(m));
    if (unknown !== undefined) return `'${unknown}' is not a method a CORS rule can allow.`;
    if (rule.allowedOrigins.length > 64) return 'At most 64 origins are allowed in a rule.';
    if (rule.allowedOrigins.some((o) => o.length > MAX_NAME_LENGTH))
      return `An origin is longer than ${MAX_NAME_LENGTH} characters.`;
    if (!Number.isInteger(rule.maxAgeInSeconds) || rule.maxAgeInSeconds < 0)
      return 'MaxAgeInSeconds must be a non-negative integer.';
    for (const list of [rule.allowedHeaders, rule.exposedHeaders]) {
      if (list.some((h) => h.length > MAX_NAME_LENGTH))
        return `A header name is longer than ${MAX_NAME_LENGTH} characters.`;
      const prefixed = list.filter((h) => h.endsWith('*') && h !== '*').length;
      if (prefixed > MAX_PREFIXED_HEADERS)
        return `At most ${MAX_PREFIXED_HEADERS} prefixed headers are allowed in a list.`;
      if (list.length - prefixed > MAX_LITERAL_HEADERS)
        return `At most ${MAX_LITERAL_HEADERS} literal headers are allowed in a list.`;
    }
  }
  return undefined;
}

const originMatches = (rule: CorsRule, origin: string) =>
  rule.allowedOrigins.some((allowed) => allowed === '*' || allowed.toLowerCase() === origin.toLowerCase());

/** True when `name` is covered by the list: `*`, the exact name, or a prefix ending in `*`; case-insensitive. */
export function headerCovered(patterns: string[], name: string): boolean {
  const lower = name.toLowerCase();
  return patterns.some((p) => {
    const pattern = p.toLowerCase();
    return pattern.endsWith('*') ? lower.startsWith(pattern.slice(0, -1)) : pattern === lower;
  });
}

/** The rule a preflight (origin, requested method and headers) matches, or undefined: every requested header must be allowed. */
export function matchPreflight(
  rules: CorsRule[],
  origin: string,
  method: string,
  requestHeaders: string[],
): CorsRule | undefined {
  return rules.find(
    (rule) =>
      originMatches(rule, origin) &&
      rule.allowedMethods.includes(method.toUpperCase()) &&
      requestHeaders.every((h) => headerCovered(rule.allowedHeaders, h)),
  );
}

/** The rule an actual cross-origin request matches (origin and method; headers were the preflight's business), or undefined. */
export function matchRequest(rules: CorsRule[], origin: string, method: string): CorsRule | undefined {
  return rules.find((rule) => originMatches(rule, origin) && rule.allowedMethods.includes(method.toUpperCase()));
}

/** True when the rule allows any origin: the response then names `*` and grants no credentials. */
export const allowsAnyOrigin = (rule: CorsRule): boolean => rule.allowedOrigins.includes('*');
