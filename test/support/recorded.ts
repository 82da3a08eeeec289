import { RestError } from '@azure/storage-file-share';
import type { Pool } from 'pg';

export interface StoredEvent {
  tenant: string;
  stream_id: string;
  type: string;
  data: Record<string, any>;
  metadata: Record<string, any>;
}

/** The events one request recorded, in log order. */
export async function eventsOf(db: Pool, requestId: string | undefined | null): Promise<StoredEvent[]> {
  expect(requestId).toEqual(expect.any(String));
  const { rows } = await db.query(
    `SELECT tenant, stream_id, type, data, metadata FROM events WHERE metadata->>'requestId' = $1 ORDER BY position`,
    [requestId],
  );
  return rows;
}

/** The one event a successful write recorded, stamped with the request and the caller (the development account's key by default). */
export async function onlyEvent(
  db: Pool,
  response: { requestId?: string },
  type: string,
  principal = 'devstoreaccount1',
  authentication = 'SharedKey',
): Promise<StoredEvent> {
  const events = await eventsOf(db, response.requestId);
  expect(events.map((e) => e.type)).toEqual([type]);
  expect(events[0].tenant).toBe(principal.replace(/^sas:/, ''));
  expect(events[0].metadata).toMatchObject({ requestId: response.requestId, principal, authentication });
  return events[0];
}

/**
 * Asserts an SDK call fails as Azure would: status, body code (`code`) and header code
 * (`details.errorCode`); a HEAD answer has no body, so only the header carries the code. A
 * refused request records no event.
 */
export async function refusedBySdk(
  db: Pool,
  call: Promise<unknown>,
  status: number,
  code: string,
  { head = false } = {},
): Promise<RestError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RestError);
  const rest = error as RestError;
  expect({
    status: rest.statusCode,
    code: rest.code,
    header: (rest.details as { errorCode?: string })?.errorCode,
  }).toEqual({
    status,
    code: head ? undefined : code,
    header: code,
  });
  expect(await eventsOf(db, rest.response?.headers.get('x-ms-request-id'))).toEqual([]);
  return rest;
}
