// The WWW-Authenticate header (RFC 7235) a registry answers 401 with, e.g.
//   Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"
//   Basic realm="shoal-test"
// One header may carry several challenges separated by commas, and commas also
// separate parameters, so it needs a small tokenizer rather than a split. Pure.

export interface Challenge {
  /** Lowercased: 'bearer', 'basic', ... */
  scheme: string;
  /** Parameter names lowercased, values unquoted. */
  params: Record<string, string>;
}

const TOKEN = /[!#$%&'*+\-.^_`|~0-9A-Za-z]+/y;
const TOKEN68 = /[A-Za-z0-9\-._~+/]+=*/y;
const SPACES = /[ \t]*/y;

class Cursor {
  pos = 0;
  constructor(readonly text: string) {}

  match(re: RegExp): string | undefined {
    re.lastIndex = this.pos;
    const m = re.exec(this.text);
    if (m === null || m[0] === '') return undefined;
    this.pos = re.lastIndex;
    return m[0];
  }

  skipSpaces(): void {
    this.match(SPACES);
  }

  peek(): string | undefined {
    return this.text[this.pos];
  }

  eat(ch: string): boolean {
    if (this.text[this.pos] !== ch) return false;
    this.pos += 1;
    return true;
  }

  done(): boolean {
    return this.pos >= this.text.length;
  }

  quoted(): string | undefined {
    if (!this.eat('"')) return undefined;
    let out = '';
    while (!this.done()) {
      const ch = this.text[this.pos++] as string;
      if (ch === '"') return out;
      if (ch === '\\' && !this.done()) out += this.text[this.pos++];
      else out += ch;
    }
    return undefined; // unterminated: drop the parameter rather than guess
  }
}

/** Try to read `name = value` at the cursor; leaves the cursor untouched when it is not a parameter. */
function readParam(c: Cursor): [string, string] | undefined {
  const start = c.pos;
  const name = c.match(TOKEN);
  if (name === undefined) return undefined;
  c.skipSpaces();
  if (!c.eat('=')) {
    c.pos = start;
    return undefined;
  }
  c.skipSpaces();
  const value = c.peek() === '"' ? c.quoted() : c.match(TOKEN);
  if (value === undefined) {
    c.pos = start;
    return undefined;
  }
  return [name.toLowerCase(), value];
}

/** Every challenge in the header, in order; malformed parts are skipped. */
export function parseWwwAuthenticate(header: string): Challenge[] {
  const c = new Cursor(header);
  const out: Challenge[] = [];
  let current: Challenge | undefined;
  while (!c.done()) {
    c.skipSpaces();
    if (c.eat(',')) continue;
    if (c.done()) break;
    // A parameter continues the current challenge; anything else starts a new one.
    if (current !== undefined) {
      const param = readParam(c);
      if (param !== undefined) {
        current.params[param[0]] = param[1];
        continue;
      }
    }
    const scheme = c.match(TOKEN);
    if (scheme === undefined) {
      c.pos += 1; // not a token: skip the character and resynchronize
      continue;
    }
    current = { scheme: scheme.toLowerCase(), params: {} };
    out.push(current);
    c.skipSpaces();
    // `Negotiate abc==` style: a token68 that is not the start of a parameter.
    const save = c.pos;
    if (readParam(c) === undefined) {
      c.pos = save;
      const t68 = c.match(TOKEN68);
      if (t68 !== undefined && (c.done() || /[ \t,]/.test(c.peek() ?? ''))) current.params['token68'] = t68;
      else c.pos = save;
    } else {
      c.pos = save;
    }
  }
  return out;
}

/** The challenge a registry client can answer: Bearer preferred over Basic, others ignored. */
export function pickChallenge(challenges: Challenge[]): Challenge | undefined {
  return challenges.find((ch) => ch.scheme === 'bearer') ?? challenges.find((ch) => ch.scheme === 'basic');
}
