import type { ServiceErrorKind } from './metrics.js';

/** A request the service refuses, with the HTTP status and the error kind it is answered with. */
export class ServiceError extends Error {
  override readonly name = 'ServiceError';

  constructor(
    readonly statusCode: number,
    readonly kind: ServiceErrorKind,
    message: string,
    /** Extra response headers (e.g. Retry-After). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** The JSON body of every error response. */
export interface ErrorResponse {
  error: {
    /** Stable machine-readable kind, also the `kind` label of `vigil_errors_total`. */
    code: ServiceErrorKind;
    /** Plain-language reason naming what was wrong. */
    message: string;
  };
  /** Correlates with the server log line of this request. */
  requestId: string;
}
