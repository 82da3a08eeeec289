import { Inject, Injectable } from '@nestjs/common';
import { applyPolicy, SignedIdentifier } from '@leasehold/domain';
import { randomBytes } from 'node:crypto';
import { AzureError, authenticationFailed, invalidHeader } from '../errors';
import { ClientConnection, parseUrl, ParsedUrl } from '../request';
import {
  authorizeSas,
  checkSasConditions,
  checkServicePermissions,
  hasSas,
  parseSas,
  sasSignatureMatches,
  sasStringToSign,
  SasToken,
  ServiceSas,
} from './sas';
import { checkRequestDate, parseSharedKeyAuthorization, SignableRequest, verifySharedKeySignature } from './shared-key';

/** The accounts capability answers this: the decoded keys of an account, or undefined when there is no such (enabled) account. */
export interface AccountKeyLookup {
  keysOf(account: string): Promise<Buffer[] | undefined>;
}
export const ACCOUNT_KEY_LOOKUP = Symbol('ACCOUNT_KEY_LOOKUP');

/** The filesystem capability answers this: a share's stored access policies, or undefined when there is no such share. */
export interface StoredPolicyLookup {
  signedIdentifiersOf(account: string, share: string): Promise<SignedIdentifier[] | undefined>;
}
export const STORED_POLICY_LOOKUP = Symbol('STORED_POLICY_LOOKUP');

export interface Principal {
  principal: string;
  authentication: 'SharedKey' | 'SAS';
  /** The verified SAS: what it grants is checked once the operation is known. */
  sas?: SasToken;
  /** Under Shared Key, the query parameters the signature covers: the only ones the request may act on. */
  signedQuery?: Record<string, string>;
}

/**
 * Stands in for the keys of an account that does not exist (or is disabled): the signature is
 * checked against it all the same, so such a request gets the same answer, after the same work, as
 * a wrong signature, and account names cannot be enumerated.
 */
const NO_KEYS = [randomBytes(64)];

/** Proves that a request was signed with a key of the account its URL names, by Shared Key or by a SAS. */
@Injectable()
export class Authenticator {
  constructor(
    @Inject(ACCOUNT_KEY_LOOKUP) private readonly accounts: AccountKeyLookup,
    @Inject(STORED_POLICY_LOOKUP) private readonly policies: StoredPolicyLookup,
  ) {}

  async authenticate(
    url: ParsedUrl,
    req: SignableRequest,
    now: Date,
    connection: ClientConnection = {},
  ): Promise<Principal> {
    const account = url.account;
    const authorization = req.headers['authorization'];
    // An Authorization header decides: its signature covers the whole query, SAS fields included.
    if (authorization === undefined && hasSas(url.query)) return this.authenticateSas(url, now, connection);
    const credentials = parseSharedKeyAuthorization(Array.isArray(authorization) ? authorization[0] : authorization);
    if (credentials === undefined) {
      throw authenticationFailed(
        'No credentials: the request carries neither a Shared Key Authorization header nor a shared access signature.',
      );
    }
    if ('error' in credentials) throw authenticationFailed(credentials.error);
    const dateProblem = checkRequestDate(req.headers, now);
    if (dateProblem) throw authenticationFailed(dateProblem);
    // The signing account must be the account the URL addresses: one tenant's key never opens another's data.
    if (credentials.account !== account) {
      throw authenticationFailed(`The credentials are for account '${credentials.account}', not for '${account}'.`);
    }
    const keys = (await this.accounts.keysOf(account)) ?? NO_KEYS;
    const signedQuery = verifySharedKeySignature(req, credentials, keys);
    if (!signedQuery || keys === NO_KEYS) {
      throw authenticationFailed(
        'The MAC signature found in the HTTP request is not the same as any computed signature. Server used the Shared Key string-to-sign rules of the Azure Storage SDK.',
      );
    }
    return { principal: account, authentication: 'SharedKey', signedQuery };
  }

  /**
   * The source of Put Range From URL: a file of the same account, readable under the SAS in its URL
   * (Shared Key signs one request, not a second one made on its behalf).
   */
  async authorizeCopySource(
    source: string,
    account: string,
    now: Date,
    connection: ClientConnection,
  ): Promise<ParsedUrl> {
    let url: ParsedUrl;
    try {
      const parsed = new URL(source);
      url = parseUrl(parsed.pathname + parsed.search);
    } catch {
      throw invalidHeader('x-ms-copy-source', source);
    }
    if (url.account !== account)
      throw new AzureError(403, 'CannotVerifyCopySource', 'The copy source must be in the same storage account.');
    if (url.share === undefined || url.path.length === 0) throw invalidHeader('x-ms-copy-source', source);
    if (!hasSas(url.query))
      throw new AzureError(
        403,
        'CannotVerifyCopySource',
        'The copy source must carry a shared access signature that grants read (r).',
      );
    await this.authorizeSourceSas(url, now, connection);
    return url;
  }

  /**
   * The SAS on a copy source's URL (Copy File, Put Range From URL): signed with a key of the source's
   * account, its conditions met by the connection that asks (time, address, protocol), granting read on
   * the file. Any refusal becomes CannotVerifyCopySource with the status the source itself would answer.
   */
  async authorizeSourceSas(url: ParsedUrl, now: Date, connection: ClientConnection): Promise<void> {
    try {
      const { sas } = await this.authenticateSas(url, now, connection);
      authorizeSas(sas!, { sas: 'r', resource: 'file' }, url.path);
    } catch (error) {
      if (error instanceof AzureError) throw new AzureError(error.status, 'CannotVerifyCopySource', error.message);
      throw error;
    }
  }

  /** Azure's order: well formed, known account, signature; then time, source address, protocol. No x-ms-date: SAS requests carry none. */
  private async authenticateSas(url: ParsedUrl, now: Date, connection: ClientConnection): Promise<Principal> {
    const sas = parseSas(url.query);
    const keys = (await this.accounts.keysOf(url.account)) ?? NO_KEYS;
    const stringToSign = sasStringToSign(sas, url);
    // As Azure does, the detail shows the string-to-sign: it is made only of what the request sent.
    if (!sasSignatureMatches(stringToSign, sas.signature, keys) || keys === NO_KEYS)
      throw authenticationFailed(`Signature did not match. String to sign used was ${stringToSign}`);
    const effective = sas.kind === 'service' && sas.identifier !== undefined ? await this.withPolicy(sas, url) : sas;
    checkSasConditions(effective, now, connection);
    return { principal: `sas:${url.account}`, authentication: 'SAS', sas: effective };
  }

  /** The SAS with its stored access policy applied, read now: a changed or removed policy binds SAS already handed out. */
  private async withPolicy(sas: ServiceSas, url: ParsedUrl): Promise<ServiceSas> {
    const identifiers =
      url.share === undefined ? undefined : await this.policies.signedIdentifiersOf(url.account, url.share);
    const outcome = applyPolicy(
      { start: sas.start, expiry: sas.expiry || undefined, permissions: sas.permissions || undefined },
      sas.identifier!,
      identifiers ?? [],
    );
    if ('problem' in outcome) throw authenticationFailed(outcome.problem);
    // Times were checked when the SAS was parsed and when the policy was stored; the letters may come from either.
    checkServicePermissions(sas.resource, outcome.fields.permissions);
    return { ...sas, ...outcome.fields };
  }
}
