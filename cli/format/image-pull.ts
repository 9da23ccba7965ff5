// How `shoal image pull` shows the daemon's progress stream: docker's jsonmessage
// display for an output that is not a terminal (moby pkg/jsonmessage): one line
// per status, `<id>: <status>` for layers, and no progress bars (the byte counts
// of Downloading/Extracting only make sense redrawn in place). Pure.

import type { PullMessage } from '../../manager/api/image-types.js';
import { ShoalError } from '../../shared/errors.js';

/** A JSONMessage as dockerd streams it; pulls use the PullMessage subset. */
export interface JsonMessage extends PullMessage {
  stream?: string;
  from?: string;
  aux?: unknown;
}

/** The error a message carries (errorDetail, or the older `error` alone), else undefined. */
export function messageError(m: JsonMessage): string | undefined {
  if (m.errorDetail !== undefined) return m.errorDetail.message ?? m.error ?? 'unknown error';
  return m.error !== undefined && m.error !== '' ? m.error : undefined;
}

/** What docker prints for one message when stdout is not a terminal ('' for nothing). */
export function pullMessageText(m: JsonMessage): string {
  if (m.aux !== undefined) return '';
  const detail = m.progressDetail;
  // jsonmessage: a message whose progress would draw a bar is left out off a terminal.
  if (detail !== undefined && ((detail.current ?? 0) > 0 || (detail.total ?? 0) > 0)) return '';
  let line = '';
  if (m.id !== undefined && m.id !== '') line += `${m.id}: `;
  if (m.from !== undefined && m.from !== '') line += `(from ${m.from}) `;
  const status = m.status ?? '';
  if (m.progress !== undefined && m.progress !== '') return `${line}${status} ${m.progress}`;
  if (m.stream !== undefined && m.stream !== '') return `${line}${m.stream}`;
  return `${line}${status}\n`;
}

/**
 * Splits a progress stream into JSON messages as chunks arrive. dockerd (and
 * shoal) end every message with a newline; a message split across chunks waits
 * for the rest of its line.
 */
export class JsonMessageDecoder {
  #pending = '';
  readonly #utf8 = new TextDecoder();

  push(chunk: Uint8Array): JsonMessage[] {
    this.#pending += this.#utf8.decode(chunk, { stream: true });
    const lines = this.#pending.split('\n');
    this.#pending = lines.pop() ?? '';
    return lines.flatMap(parseLine);
  }

  /** Whatever is left when the stream ends. */
  end(): JsonMessage[] {
    const rest = this.#pending + this.#utf8.decode();
    this.#pending = '';
    return parseLine(rest);
  }
}

function parseLine(line: string): JsonMessage[] {
  const text = line.trim();
  if (text === '') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw badLine('is not JSON', text);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw badLine('is not a JSON object', text);
  return [parsed as JsonMessage];
}

function badLine(what: string, text: string): ShoalError {
  return new ShoalError('bad_response', `the daemon sent a progress line that ${what}: ${text.slice(0, 200)}`, 502);
}
