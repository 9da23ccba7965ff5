// Errors users can act on. Every error we raise on purpose is a ShoalError: a stable
// machine-readable `code` for programs and tests, a message written for the person at the
// terminal, and (for the API layer) the HTTP status the Docker Engine API would answer with.

export interface ShoalErrorOptions {
  /** The error that led to this one, kept for logs; never shown as the user message. */
  cause?: unknown;
}

export class ShoalError extends Error {
  /** Stable identifier such as 'not_found'; callers branch on this, never on the message. */
  readonly code: string;
  /** HTTP status for the Docker-API layer; 500 unless a subclass knows better. */
  readonly status: number;

  constructor(code: string, message: string, status = 500, options: ShoalErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = status;
    // Subclasses get their own name in stack traces and `String(err)`.
    this.name = new.target.name;
  }

  /** Body shape the Docker Engine API uses for errors (`ErrorResponse`). */
  toResponse(): { message: string } {
    return { message: this.message };
  }
}

/** The named object (service, task, node, network...) does not exist. */
export class NotFoundError extends ShoalError {
  constructor(message: string, options?: ShoalErrorOptions) {
    super('not_found', message, 404, options);
  }
}

/** The request clashes with current state: a name in use, or a stale `Version.Index`. */
export class ConflictError extends ShoalError {
  constructor(message: string, options?: ShoalErrorOptions) {
    super('conflict', message, 409, options);
  }
}

/** The caller sent something malformed or out of range; retrying unchanged will not help. */
export class InvalidArgumentError extends ShoalError {
  constructor(message: string, options?: ShoalErrorOptions) {
    super('invalid_argument', message, 400, options);
  }
}

/** Temporarily unable to serve (no leader, not a manager, overloaded); retry later. */
export class UnavailableError extends ShoalError {
  constructor(message: string, options?: ShoalErrorOptions) {
    super('unavailable', message, 503, options);
  }
}

export function isShoalError(err: unknown): err is ShoalError {
  return err instanceof ShoalError;
}
