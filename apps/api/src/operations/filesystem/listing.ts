import { AzureError, element, encodedElement, MarkerCodec, WireRequest } from '@leasehold/wire';

/** Azure's largest listing page. */
export const MAX_LIST_RESULTS = 5000;

/**
 * Where a listing resumes: the start, or the position in a marker this service issued for the same
 * binding; otherwise Azure Files' own code for a marker it did not issue.
 */
export function resumeFrom<T>(
  markers: MarkerCodec,
  binding: string,
  marker: string | undefined,
  isPosition: (value: unknown) => value is T,
  start: T,
): T {
  const position = marker ? markers.decode(binding, marker, isPosition) : start;
  if (!position) throw new AzureError(400, 'InvalidContinuationToken', 'The specified continuation token is invalid.');
  return position;
}

/** The account's URL as the client reached it: a listing's ServiceEndpoint. */
export const serviceEndpoint = (req: WireRequest) =>
  `${req.headers['host'] ? `http://${req.headers['host']}` : ''}/${req.context.tenant}/`;

/** What a listing echoes of its request: Prefix and Marker when given, MaxResults when asked for. */
export const listingEcho = (req: WireRequest, prefix: string, limit: number) =>
  (prefix ? encodedElement('Prefix', prefix) : '') +
  (req.query['marker'] ? element('Marker', req.query['marker']) : '') +
  (req.query['maxresults'] ? element('MaxResults', limit) : '');
