import { randomBytes } from 'node:crypto';

/** A fresh ETag in Azure's shape: a quoted hex number that changes on every write. */
export const newEtag = () => `"0x8${randomBytes(7).toString('hex').toUpperCase().slice(0, 13)}"`;
