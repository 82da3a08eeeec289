// The two outcome tables of docs/lease-file.md as data, so that every client the e2e tests drive (the
// JS SDK and hand-signed requests in lease-cells, the Python SDK in python-sdk) checks the same cells.
import { LeaseState } from '../../libs/domain/src';

export const A = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
export const B = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb';
export const C = 'cccccccc-cccc-4ccc-8ccc-cccccccccccc';

/** The columns of both tables, in order: Available, Leased (A), Broken (A). */
export const LEASE_COLUMNS = ['available', 'leased', 'broken'] as const;
export type LeaseColumn = (typeof LEASE_COLUMNS)[number];

/** The state each column starts in: acquire (A) is epoch 1, the break after it epoch 2. */
export const START_STATE: Record<LeaseColumn, LeaseState> = {
  available: { status: 'available', epoch: 0 },
  leased: { status: 'leased', leaseId: A, epoch: 1 },
  broken: { status: 'broken', leaseId: A, epoch: 2 },
};

/** X is an id the service generated. */
export type LeaseHolder = 'A' | 'B' | 'X';
export type LeaseActionCell =
  | { ok: 'Leased'; holder: LeaseHolder; event?: string; epoch: number }
  | { ok: 'Broken'; event?: string; epoch: number }
  | { ok: 'Available'; event: string }
  | { fail: 409; code: string };

export interface LeaseActionRow {
  name: string;
  kind: 'acquire' | 'change' | 'release' | 'break';
  /** The lease id the request sends in x-ms-lease-id (change, release). */
  holds?: string;
  /** x-ms-proposed-lease-id (acquire, change); an acquire without one lets the service make the id up. */
  proposes?: string;
  cells: [LeaseActionCell, LeaseActionCell, LeaseActionCell];
}

const leased = (holder: LeaseHolder, event: string | undefined, epoch: number): LeaseActionCell => ({
  ok: 'Leased',
  holder,
  event,
  epoch,
});
const failed = (code: string): LeaseActionCell => ({ fail: 409, code });
const NOT_PRESENT = 'LeaseNotPresentWithLeaseOperation';
const MISMATCH = 'LeaseIdMismatchWithLeaseOperation';

/** Outcomes of lease operations on files, by lease state; epochs start at 0, 1, 2. */
export const LEASE_ACTION_TABLE: LeaseActionRow[] = [
  {
    name: 'Acquire, no proposed lease ID',
    kind: 'acquire',
    cells: [leased('X', 'LeaseAcquired', 1), failed('LeaseAlreadyPresent'), leased('X', 'LeaseAcquired', 3)],
  },
  {
    name: 'Acquire (A)',
    kind: 'acquire',
    proposes: A,
    cells: [leased('A', 'LeaseAcquired', 1), leased('A', undefined, 1), leased('A', 'LeaseAcquired', 3)],
  },
  {
    name: 'Acquire (B)',
    kind: 'acquire',
    proposes: B,
    cells: [leased('B', 'LeaseAcquired', 1), failed('LeaseAlreadyPresent'), leased('B', 'LeaseAcquired', 3)],
  },
  {
    name: 'Break',
    kind: 'break',
    cells: [failed(NOT_PRESENT), { ok: 'Broken', event: 'LeaseBroken', epoch: 2 }, { ok: 'Broken', epoch: 2 }],
  },
  {
    name: 'Change, (A) to (B)',
    kind: 'change',
    holds: A,
    proposes: B,
    cells: [failed(NOT_PRESENT), leased('B', 'LeaseChanged', 2), failed(NOT_PRESENT)],
  },
  {
    name: 'Change, (B) to (A)',
    kind: 'change',
    holds: B,
    proposes: A,
    cells: [failed(NOT_PRESENT), leased('A', undefined, 1), failed(NOT_PRESENT)],
  },
  {
    name: 'Change, (B) to (C)',
    kind: 'change',
    holds: B,
    proposes: C,
    cells: [failed(NOT_PRESENT), failed(MISMATCH), failed(NOT_PRESENT)],
  },
  {
    name: 'Release (A)',
    kind: 'release',
    holds: A,
    cells: [
      failed(NOT_PRESENT),
      { ok: 'Available', event: 'LeaseReleased' },
      { ok: 'Available', event: 'LeaseReleased' },
    ],
  },
  {
    name: 'Release (B)',
    kind: 'release',
    holds: B,
    cells: [failed(NOT_PRESENT), failed(MISMATCH), failed(MISMATCH)],
  },
];

/** Each row of a table crossed with the three columns: [row name, column, row, the cell]. */
export const leaseActionCells = () =>
  LEASE_ACTION_TABLE.flatMap((row) => LEASE_COLUMNS.map((column, i) => [row.name, column, row, row.cells[i]] as const));

export const LEASE_ACTION_SUCCESS = { acquire: 201, change: 200, release: 200, break: 202 } as const;

export type UseKind = 'write' | 'read';
export type UseCell = 'ok' | { fail: 409 | 412; code: string };
const USE_NOT_PRESENT: UseCell = { fail: 412, code: 'LeaseNotPresentWithFileOperation' };
// The table says 409 where the real service answers 412: the table wins (docs/lease-file.md).
const USE_MISMATCH: UseCell = { fail: 409, code: 'LeaseIdMismatchWithFileOperation' };
const USE_MISSING: UseCell = { fail: 412, code: 'LeaseIdMissing' };

/** Outcomes of use attempts on files, by lease state: [row, read or write, the lease id sent, cells]. */
export const USE_TABLE: Array<[string, UseKind, string | undefined, [UseCell, UseCell, UseCell]]> = [
  ['Write using (A)', 'write', A, [USE_NOT_PRESENT, 'ok', USE_NOT_PRESENT]],
  ['Write using (B)', 'write', B, [USE_NOT_PRESENT, USE_MISMATCH, USE_NOT_PRESENT]],
  ['Write, no lease specified', 'write', undefined, ['ok', USE_MISSING, 'ok']],
  ['Read using (A)', 'read', A, [USE_NOT_PRESENT, 'ok', USE_NOT_PRESENT]],
  ['Read using (B)', 'read', B, [USE_NOT_PRESENT, USE_MISMATCH, USE_NOT_PRESENT]],
  ['Read, no lease specified', 'read', undefined, ['ok', 'ok', 'ok']],
];
