/**
 * Stored access policies (a share's signed identifiers, Set Share ACL) and what a service SAS that
 * names one (`si`) is worth: the policy supplies the start, expiry and permissions the SAS leaves
 * out, and a field given by both is refused, as Azure documents. Because the policy is read when
 * the SAS is used, changing or removing it takes effect for every SAS already handed out.
 */
export interface AccessPolicy {
  start?: string;
  expiry?: string;
  permission?: string;
}

export interface SignedIdentifier {
  id: string;
  accessPolicy: AccessPolicy;
}

export const MAX_SIGNED_IDENTIFIERS = 5;
const MAX_ID_LENGTH = 64;
/** A share's policy may grant these, in this order. */
export const SHARE_POLICY_PERMISSIONS = 'rcwdl';

/** Why the identifiers cannot be stored, or undefined. `isTime` tells a valid ISO 8601 time. */
export function signedIdentifiersProblem(
  identifiers: SignedIdentifier[],
  isTime: (value: string) => boolean,
): string | undefined {
  if (identifiers.length > MAX_SIGNED_IDENTIFIERS)
    return `At most ${MAX_SIGNED_IDENTIFIERS} signed identifiers are allowed.`;
  const seen = new Set<string>();
  for (const { id, accessPolicy } of identifiers) {
    if (id.length === 0 || id.length > MAX_ID_LENGTH)
      return `A signed identifier's Id must be 1 to ${MAX_ID_LENGTH} characters.`;
    if (seen.has(id)) return `The signed identifier '${id}' is given more than once.`;
    seen.add(id);
    for (const time of [accessPolicy.start, accessPolicy.expiry]) {
      if (time !== undefined && !isTime(time)) return `'${time}' is not an ISO 8601 UTC time.`;
    }
    const permission = accessPolicy.permission;
    if (permission !== undefined && !inOrder(permission, SHARE_POLICY_PERMISSIONS))
      return `Permission '${permission}' must be letters of ${SHARE_POLICY_PERMISSIONS}, in that order.`;
  }
  return undefined;
}

/** Distinct letters of `alphabet`, in its order (empty is allowed). */
function inOrder(value: string, alphabet: string): boolean {
  let last = -1;
  for (const letter of value) {
    const at = alphabet.indexOf(letter);
    if (at <= last) return false;
    last = at;
  }
  return true;
}

export interface SasFields {
  start?: string;
  expiry?: string;
  permissions?: string;
}

export type PolicyOutcome =
  { fields: Required<Pick<SasFields, 'expiry' | 'permissions'>> & Pick<SasFields, 'start'> } | { problem: string };

/**
 * The SAS's effective start, expiry and permissions once the named policy is applied; a problem
 * when the policy does not exist, a field is given twice, or expiry or permissions are given by neither.
 */
export function applyPolicy(sas: SasFields, id: string, identifiers: SignedIdentifier[]): PolicyOutcome {
  const policy = identifiers.find((i) => i.id === id)?.accessPolicy;
  if (!policy) return { problem: `The signed identifier '${id}' is not a stored access policy of this share.` };
  const pairs: Array<[string, string | undefined, string | undefined]> = [
    ['The start time', sas.start, policy.start],
    ['The expiry time', sas.expiry, policy.expiry],
    ['The permissions', sas.permissions, policy.permission || undefined],
  ];
  const twice = pairs.find(([, fromSas, fromPolicy]) => fromSas !== undefined && fromPolicy !== undefined);
  if (twice) return { problem: `${twice[0]} is given by both the SAS and the stored access policy.` };
  const [start, expiry, permissions] = pairs.map(([, fromSas, fromPolicy]) => fromSas ?? fromPolicy);
  if (expiry === undefined) return { problem: 'Neither the SAS nor the stored access policy gives an expiry time.' };
  if (permissions === undefined) return { problem: 'Neither the SAS nor the stored access policy gives permissions.' };
  return { fields: { start, expiry, permissions } };
}
