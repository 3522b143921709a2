/**
 * Errors a user can act on. Anything thrown as a VigilInputError exits with code 2 and its message
 * is printed as is; anything else is a bug and is printed with its stack.
 */
export class VigilInputError extends Error {
  override readonly name = 'VigilInputError';
  /** The file, field or parameter at fault, when there is one. */
  readonly subject?: string;

  constructor(message: string, options?: { subject?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.subject = options?.subject;
  }
}

/** Short, single-line rendering of a received value for error messages (never dumps large data). */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (value instanceof Uint8Array) return `${value.constructor.name} of ${value.length} bytes`;
  return `a ${typeof value === 'object' ? (value.constructor?.name ?? 'object') : typeof value}`;
}

/**
 * sharp-style argument error: names the parameter, what was expected and what was received.
 * Example: invalidArgument('batchSize', 'a positive integer', 0)
 *   -> Expected a positive integer for batchSize but received 0
 */
export function invalidArgument(parameter: string, expected: string, received: unknown): VigilInputError {
  return new VigilInputError(`Expected ${expected} for ${parameter} but received ${describeValue(received)}`, {
    subject: parameter,
  });
}

/** The message of anything thrown, for per-file error records in batch results. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
