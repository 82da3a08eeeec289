/** The events of an account's stream, account-<name>. They never carry key material. */
export type AccountEvent =
  | { type: 'AccountCreated'; data: { name: string; createdAt: Date | string } }
  | { type: 'AccountDisabled'; data: { name: string } }
  | { type: 'AccountEnabled'; data: { name: string } }
  | { type: 'AccountKeyRotated'; data: { name: string; key: 'key1' | 'key2' } };

export const ACCOUNT_STREAM_PREFIX = 'account-';
export const accountStream = (name: string) => `${ACCOUNT_STREAM_PREFIX}${name}`;

/** An account's row in the accounts projection: the one mapping both the inline projection and rebuilds use. */
export const accountRow = (
  created: { name: string; createdAt: Date | string },
  disabled: boolean,
  version: number,
) => ({
  name: created.name,
  disabled,
  created_at: created.createdAt,
  version,
});

/** The accounts row a stream's events leave. */
export function accountRowOf(events: AccountEvent[]): ReturnType<typeof accountRow> | undefined {
  let created: { name: string; createdAt: Date | string } | undefined;
  let disabled = false;
  for (const e of events) {
    if (e.type === 'AccountCreated') created = e.data;
    else if (e.type === 'AccountDisabled') disabled = true;
    else if (e.type === 'AccountEnabled') disabled = false;
  }
  return created && accountRow(created, disabled, events.length);
}
