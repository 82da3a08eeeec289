// The parsed SAS token on its own, so the request (which carries one) and the SAS checks (which take
// a request's response) can both use it without importing each other.

interface CommonSas {
  version: string;
  permissions: string;
  start?: string;
  expiry: string;
  ip?: string;
  protocol?: string;
  signature: string;
}

/** Service SAS for a share (`sr=s`) or a file (`sr=f`), as `generateSasUrl` on a share or file client makes it. */
export interface ServiceSas extends CommonSas {
  kind: 'service';
  resource: 'f' | 's';
  /** rscc, rscd, rsce, rscl, rsct: signed, and sent back as response headers by Get File. */
  overrides: Record<(typeof OVERRIDES)[number][0], string>;
}

/** Account SAS (`ss`, `srt`), as `generateAccountSasUrl` / `generateAccountSASQueryParameters` make it. */
export interface AccountSas extends CommonSas {
  kind: 'account';
  services: string;
  resourceTypes: string;
  encryptionScope: string;
}

export type SasToken = ServiceSas | AccountSas;

export const OVERRIDES = [
  ['rscc', 'cache-control'],
  ['rscd', 'content-disposition'],
  ['rsce', 'content-encoding'],
  ['rscl', 'content-language'],
  ['rsct', 'content-type'],
] as const;
