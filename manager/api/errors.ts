// Every failure becomes Docker's ErrorResponse: a status and `{"message": "..."}`.
// Messages are written for the person at the terminal: the docker CLI prints them verbatim
// after "Error response from daemon: ".

import { isShoalError } from '../../shared/errors.js';

export interface ErrorReply {
  status: number;
  message: string;
  /** True for failures the caller did not cause: they get logged at error level. */
  unexpected: boolean;
}

/** The parts of an ajv error we read (fastify's FastifySchemaValidationError). */
export interface SchemaIssue {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

const CONTEXT_NAMES: Record<string, string> = {
  body: 'invalid JSON body',
  querystring: 'invalid query parameter',
  params: 'invalid path parameter',
  headers: 'invalid header',
};

/** `/Spec/Labels/com.example` -> `Spec.Labels["com.example"]`, `/RemoteAddrs/0` -> `RemoteAddrs[0]`. */
export function fieldPath(instancePath: string, child?: string): string {
  const segments = instancePath === '' ? [] : instancePath.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (child !== undefined) segments.push(child);
  let out = '';
  for (const segment of segments) {
    if (/^[0-9]+$/.test(segment)) out += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

const ARTICLES: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'a boolean (true or false)',
  object: 'an object',
  array: 'an array',
  null: 'null',
};

function describeType(type: unknown): string {
  const types = Array.isArray(type) ? type : String(type).split(',');
  return types.map((t) => ARTICLES[String(t)] ?? String(t)).join(' or ');
}

function issueText(issue: SchemaIssue, root: string): string {
  const p = issue.params;
  if (issue.keyword === 'required') {
    return `${fieldPath(issue.instancePath, String(p['missingProperty']))} is required`;
  }
  const field = fieldPath(issue.instancePath) || root;
  switch (issue.keyword) {
    case 'type':
      return `${field} must be ${describeType(p['type'])}`;
    case 'enum':
      // "" (Go's zero value, accepted as "the default") is not worth suggesting.
      return `${field} must be one of ${(p['allowedValues'] as unknown[]).filter((v) => v !== '').map(String).join(', ')}`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `${field} must be ${String(p['comparison'])} ${String(p['limit'])}`;
    case 'minItems':
      return `${field} must have at least ${String(p['limit'])} item(s)`;
    case 'maxItems':
      return `${field} must have at most ${String(p['limit'])} item(s)`;
    case 'minLength':
      return `${field} must not be shorter than ${String(p['limit'])} character(s)`;
    case 'maxLength':
      return `${field} must not be longer than ${String(p['limit'])} character(s)`;
    case 'additionalProperties':
      return `${field} has an unknown field ${JSON.stringify(p['additionalProperty'])}`;
    default:
      return `${field} ${issue.message ?? 'is invalid'}`;
  }
}

/** Rewrites ajv's first complaint into e.g. `invalid JSON body: Spec.Role must be one of worker, manager`. */
export function describeValidationFailure(context: string, issues: readonly SchemaIssue[]): string {
  const prefix = CONTEXT_NAMES[context] ?? `invalid ${context}`;
  const first = issues[0];
  if (first === undefined) return prefix;
  const root = context === 'body' ? 'the body' : context;
  return `${prefix}: ${issueText(first, root)}`;
}

interface FrameworkError {
  code?: unknown;
  statusCode?: unknown;
  message?: unknown;
  validation?: unknown;
  validationContext?: unknown;
}

function asFrameworkError(err: unknown): FrameworkError {
  return typeof err === 'object' && err !== null ? (err as FrameworkError) : {};
}

export interface ErrorContext {
  bodyLimit: number;
  contentType: string | undefined;
}

/** Maps anything a handler, hook, parser or validator throws to the reply Docker would give. */
export function toErrorReply(err: unknown, ctx: ErrorContext): ErrorReply {
  if (isShoalError(err)) {
    // A ShoalError is raised on purpose (no leader, not a manager...): expected, even as a 5xx,
    // unless it is a plain 500, which means something broke.
    return { status: err.status, message: err.toResponse().message, unexpected: err.status === 500 };
  }
  const e = asFrameworkError(err);
  if (Array.isArray(e.validation)) {
    const context = typeof e.validationContext === 'string' ? e.validationContext : 'body';
    return { status: 400, message: describeValidationFailure(context, e.validation as SchemaIssue[]), unexpected: false };
  }
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, message: `request body is too large: the limit is ${ctx.bodyLimit} bytes`, unexpected: false };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      // dockerd answers 400 where fastify would say 415.
      return {
        status: 400,
        message: `unsupported Content-Type header (${ctx.contentType ?? ''}): must be 'application/json'`,
        unexpected: false,
      };
    case 'FST_ERR_BAD_URL':
      return { status: 400, message: `invalid URL: ${String(e.message)}`, unexpected: false };
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return { status: 414, message: 'URL too long: a path segment exceeds the maximum length', unexpected: false };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, message: 'request body size did not match the Content-Length header', unexpected: false };
    default:
      break;
  }
  const message = typeof e.message === 'string' && e.message !== '' ? e.message : String(err);
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return { status: e.statusCode, message, unexpected: false };
  }
  return { status: 500, message, unexpected: true };
}
