import { StacklessError } from '@leasehold/domain';

/**
 * An Azure-style error: the gateway turns it into the status, the `x-ms-error-code` header and the
 * XML `<Error><Code/><Message/>…</Error>` body. `details` become extra elements (HeaderName,
 * QueryParameterName, AuthenticationErrorDetail, …).
 */
export class AzureError extends StacklessError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, string> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const invalidHeader = (
  name: string,
  value: string,
  message = 'The value for one of the HTTP headers is not in the correct format.',
) => new AzureError(400, 'InvalidHeaderValue', message, { HeaderName: name, HeaderValue: value });

export const missingHeader = (name: string) =>
  new AzureError(400, 'MissingRequiredHeader', "An HTTP header that's mandatory for this request is not specified.", {
    HeaderName: name,
  });

export const missingQuery = (name: string) =>
  new AzureError(
    400,
    'MissingRequiredQueryParameter',
    'A query parameter that is mandatory for this request is not specified.',
    { QueryParameterName: name },
  );

export const invalidQuery = (name: string, value: string, reason?: string) =>
  new AzureError(
    400,
    'InvalidQueryParameterValue',
    'Value for one of the query parameters specified in the request URI is invalid.',
    {
      QueryParameterName: name,
      QueryParameterValue: value,
      ...(reason ? { Reason: reason } : {}),
    },
  );

export const invalidUri = () =>
  new AzureError(400, 'InvalidUri', 'The requested URI does not represent any resource on the server.');

export const authenticationFailed = (detail: string) =>
  new AzureError(
    403,
    'AuthenticationFailed',
    'Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.',
    { AuthenticationErrorDetail: detail },
  );

export const permissionMismatch = () =>
  new AzureError(
    403,
    'AuthorizationPermissionMismatch',
    'This request is not authorized to perform this operation using this permission.',
  );
