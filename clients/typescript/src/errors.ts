/**
 * The errors a memstrata server answers with: `{"error": {"code", "message", "details"}}`,
 * as one class per code, all `MemstrataError`s.
 */

/** What the server says went wrong, as its JSON body carries it. */
export interface ErrorBody {
  code: string;
  message: string;
  details?: unknown;
}

/** Any failed call: `status` is the HTTP status (0 when the server could not be reached). */
export class MemstrataError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;

  constructor(status: number, body: ErrorBody, options?: { cause?: unknown }) {
    super(body.message, options);
    this.name = new.target.name;
    this.status = status;
    this.code = body.code;
    this.details = body.details;
  }
}

/** 422 `invalid_input`: the message says which field and why; nothing was written. */
export class InvalidInputError extends MemstrataError {}
/** 422 `scope_required`: give at least one of `user_id`, `agent_id`, `run_id`. */
export class ScopeRequiredError extends MemstrataError {}
/** 404 `not_found`: no such memory in this scope (also another tenant's ids). */
export class NotFoundError extends MemstrataError {}
/** 409 `conflict`: the memory changed since `expected_version`, or the id exists. */
export class ConflictError extends MemstrataError {}
/** 401 `unauthorized`: a missing or unknown API key. */
export class UnauthorizedError extends MemstrataError {}
/** 400 `confirmation_required`: a call that erases for good needs `confirm: true`. */
export class ConfirmationRequiredError extends MemstrataError {}
/** 400 `configuration`: the server is not set up for this (a language model, say). */
export class ConfigurationError extends MemstrataError {}
/** The server could not be reached, or answered something that is not memstrata's. */
export class ConnectionError extends MemstrataError {}

const BY_CODE: Record<string, new (status: number, body: ErrorBody) => MemstrataError> = {
  invalid_input: InvalidInputError,
  scope_required: ScopeRequiredError,
  not_found: NotFoundError,
  conflict: ConflictError,
  unauthorized: UnauthorizedError,
  confirmation_required: ConfirmationRequiredError,
  configuration: ConfigurationError,
};

function isErrorBody(value: unknown): value is { error: ErrorBody } {
  if (typeof value !== "object" || value === null || !("error" in value)) return false;
  const error = (value as { error: unknown }).error;
  return (
    typeof error === "object" &&
    error !== null &&
    typeof (error as ErrorBody).code === "string" &&
    typeof (error as ErrorBody).message === "string"
  );
}

/** The error for a failed response: `body` is its parsed JSON, or its text. */
export function errorFor(status: number, body: unknown): MemstrataError {
  if (isErrorBody(body)) {
    const Class = BY_CODE[body.error.code] ?? MemstrataError;
    return new Class(status, body.error);
  }
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return new ConnectionError(status, {
    code: "bad_response",
    message: `the server answered HTTP ${status} without a memstrata error body: ${String(text).slice(0, 200)}`,
  });
}
