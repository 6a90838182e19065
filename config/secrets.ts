// `${VAR}` expansion for bootseq.yml, `VAR_FILE` secrets and redaction. The only place that decides
// what counts as a secret and how a URL's userinfo is read; nothing here ever logs a value.

export interface Expansion {
  readonly value: string;
  readonly problems: readonly string[];
}

export interface SecretSource {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Reads at most `maxBytes` of a file for `VAR_FILE`; undefined when it cannot be read. */
  readFile(path: string, maxBytes: number): string | undefined;
  /**
   * What the path is ('a regular file', 'a FIFO (named pipe)', …), without opening it; undefined when
   * it cannot be told (missing: readFile says so). Optional for fakes, which hold regular files only.
   */
  kindOf?(path: string): string | undefined;
}

/** A secret file is read up to this size; anything longer is not a secret. */
const SECRET_FILE_MAX = 64 * 1024;
/** A variable with such a name holds a secret, whatever its value looks like. */
const SECRET_NAME = /PASS|SECRET|TOKEN|KEY|CREDENTIAL|PRIVATE/i;
/** A URL query parameter with such a name carries a secret (`token`, `api_key`, `X-Amz-Signature`…). */
const SECRET_PARAM = /token|secret|pass|pwd|sig|auth|credential|key|session|jwt|private/i;
/**
 * Shorter secrets are hidden only where they stand as a URL's password or a secret parameter: hidden
 * wherever they occur, a 2-byte password would turn "username-password pair" into nonsense.
 */
const SECRET_MIN = 3;
/** `${A:-${B:-…}}` nests at most this deep: deeper is refused (and the parser keeps no deep stack). */
const MAX_NESTING = 16;

/**
 * Resolves `${VAR}` references against the environment: VAR if set, else the contents of the file
 * named by VAR_FILE with trailing whitespace/CR/LF trimmed (docs/incidents.md (seeds/001)), else
 * `${VAR:-default}`'s default; anything else is a problem, never a silent empty string. Every value
 * is looked at for secrets on its own, whole, before it joins the text: a URL's password is found
 * whatever bytes it holds, since the value's end is the URL's end.
 */
export function createExpander(source: SecretSource) {
  const secrets = new Set<string>();
  const fromFiles: Record<string, string> = {};

  /** A secret value: a URL with a password or secret parameters shows with those hidden, else all of it. */
  function addSecretValue(value: string): void {
    const parts = urlSecrets(value);
    for (const secret of parts.length > 0 ? parts : [value]) secrets.add(secret);
  }

  /** Each name is looked up (and its file read, its value searched for secrets) once per load. */
  const looked = new Map<string, { value: string | undefined; problem?: string }>();
  function lookup(name: string): { value: string | undefined; problem?: string } {
    let found = looked.get(name);
    if (!found) looked.set(name, (found = lookupOnce(name)));
    return found;
  }

  function lookupOnce(name: string): { value: string | undefined; problem?: string } {
    const direct = source.env[name];
    if (direct !== undefined) {
      if (SECRET_NAME.test(name)) addSecretValue(direct);
      for (const secret of urlSecrets(direct)) secrets.add(secret);
      return { value: direct };
    }
    const file = source.env[`${name}_FILE`];
    if (file !== undefined) {
      const kind = source.kindOf?.(file);
      // Never opened: a FIFO with no writer would block the read forever, a device never ends.
      if (kind !== undefined && kind !== 'a regular file')
        return {
          value: undefined,
          problem: `${name}_FILE names ${file}, which is ${kind}, not a regular file (expected a file holding the secret, such as /run/secrets/NAME)`,
        };
      const text = source.readFile(file, SECRET_FILE_MAX + 1);
      if (text === undefined)
        return { value: undefined, problem: `${name}_FILE names ${file}, which cannot be read` };
      if (Buffer.byteLength(text) > SECRET_FILE_MAX)
        return {
          value: undefined,
          problem: `${name}_FILE names ${file}, which holds more than ${SECRET_FILE_MAX / 1024} KiB (expected a secret: a password, a token, a URL)`,
        };
      const value = text.replace(/[\s\r\n]+$/u, '');
      if (value === '') return { value: undefined, problem: `${name}_FILE names ${file}, which is empty` };
      addSecretValue(value);
      fromFiles[name] = value;
      return { value };
    }
    return { value: undefined };
  }

  function expand(text: string): Expansion {
    const problems: string[] = [];
    const value = expandReferences(text, lookup, problems);
    // A URL written in bootseq.yml itself (services.NAME.url, stores.NAME.postgres) is a whole value
    // too; a URL inside a longer value (a command) is found as the redactor finds it in any text.
    const whole = urlSecrets(value);
    for (const secret of whole.length > 0 ? whole : urlPasswords(value)) secrets.add(secret);
    return { value, problems };
  }

  return {
    expand,
    /**
     * A value the schema says is secret whatever it looks like (`health.heartbeat.url`): a URL shows
     * its scheme and host, everything after them hidden (a dead-man URL's path is its key).
     */
    addSecretUrl(value: string): void {
      for (const secret of secretUrlParts(value)) secrets.add(secret);
    },
    /** Variables that came from `VAR_FILE`, so children see them as if they were set. */
    resolvedFromFiles: (): Readonly<Record<string, string>> => ({ ...fromFiles }),
    redactor: () => createRedactor([...secrets]),
  };
}

interface Frame {
  /** The reference this frame is the default of (for messages). */
  readonly name: string;
  /** Whether the default is used: the variable is unset (or empty, for `:-`). Else only parsed. */
  readonly used: boolean;
  /** The variable's value when the default is not used. */
  readonly value: string;
  out: string;
}

/**
 * `text` with its references replaced, as docker compose and sh read them: `${NAME}`,
 * `${NAME:-default}` (unset or empty), `${NAME-default}` (unset), defaults holding references
 * themselves, evaluated only when used; `$$` is one `$`; any other `$` is kept for the shell. An
 * unset reference without a default, an unclosed `${…`, and `${…}` forms bootseq does not expand are
 * problems naming the reference. One pass with an explicit stack: linear in the text, whatever it holds.
 */
function expandReferences(
  text: string,
  lookup: (name: string) => { value: string | undefined; problem?: string },
  problems: string[],
): string {
  const state: Expanding = { text, stack: [], out: '', problems };
  let i = 0;
  let nextDollar = -2;
  let nextClose = -2;
  for (;;) {
    if (nextDollar !== -1 && nextDollar < i) nextDollar = text.indexOf('$', i);
    if (state.stack.length > 0 && nextClose !== -1 && nextClose < i) nextClose = text.indexOf('}', i);
    const close = state.stack.length > 0 ? nextClose : -1;
    if (nextDollar < 0 && close < 0) {
      append(state, text.slice(i));
      break;
    }
    if (close >= 0 && (nextDollar < 0 || close < nextDollar)) {
      append(state, text.slice(i, close));
      const frame = state.stack.pop()!;
      append(state, frame.used ? frame.out : frame.value);
      i = close + 1;
      continue;
    }
    const at = nextDollar;
    append(state, text.slice(i, at));
    const next = text[at + 1];
    if (next === '$') {
      append(state, '$');
      i = at + 2;
      continue;
    }
    if (next !== '{') {
      append(state, '$');
      i = at + 1;
      continue;
    }
    const after = expandReference(state, at, lookup);
    if (after === 'unclosed') break;
    if (after === 'too-deep') return state.out;
    i = after;
  }
  if (state.stack.length > 0)
    problems.push(`\${${state.stack[0]!.name}:-… has no closing } (write $$ for a literal $)`);
  return state.out;
}

/** expandReferences' state: the text, the defaults being read (innermost last), the output so far. */
interface Expanding {
  readonly text: string;
  readonly stack: Frame[];
  out: string;
  readonly problems: string[];
}

/** Adds to the innermost default being read, or to the output. */
function append(state: Expanding, piece: string): void {
  const top = state.stack.at(-1);
  if (top) top.out += piece;
  else state.out += piece;
}

/**
 * The reference opening with `${` at `at`: its value appended, or a default opened (a Frame), or a
 * problem. Returns where reading goes on; `unclosed` when the text ends inside it, `too-deep` when
 * defaults nest past MAX_NESTING (reading stops there).
 */
function expandReference(
  state: Expanding,
  at: number,
  lookup: (name: string) => { value: string | undefined; problem?: string },
): number | 'unclosed' | 'too-deep' {
  const { text, stack, problems } = state;
  const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(at + 2, at + 2 + 256))?.[0] ?? '';
  const after = at + 2 + name.length;
  const operator = text.startsWith(':-', after) ? ':-' : text[after] === '-' ? '-' : text[after];
  if (name !== '' && operator === undefined) {
    problems.push(`\${${name}… has no closing } (write $$ for a literal $)`);
    append(state, text.slice(at));
    return 'unclosed';
  }
  if (name === '' || (operator !== '}' && operator !== ':-' && operator !== '-')) {
    const shown = name === '' ? text.slice(at, at + 3) : `\${${name}${text.slice(after, after + 2)}`;
    problems.push(
      `${shown.endsWith('}') ? shown : `${shown}…`} is not a reference bootseq expands (write \${NAME}, \${NAME:-default} or \${NAME-default}; $\${ passes \${ on as written)`,
    );
    // Refused anyway: the rest is still read, so one run lists every problem.
    append(state, text.slice(at, after));
    return after;
  }
  const isActive = stack.every((f) => f.used);
  const found = isActive ? lookup(name) : { value: undefined };
  if (found.problem) problems.push(found.problem);
  if (operator === '}') {
    if (isActive && found.value === undefined && !found.problem)
      problems.push(`\${${name}} is not set (set ${name}, or ${name}_FILE to a file holding it)`);
    append(state, found.value ?? '');
    return after + 1;
  }
  if (stack.length >= MAX_NESTING) {
    problems.push(`\${${name}:-… nests defaults more than ${MAX_NESTING} deep`);
    return 'too-deep';
  }
  const value = found.value ?? '';
  const unset = found.value === undefined && !found.problem;
  stack.push({
    name,
    used: isActive && (unset || (operator === ':-' && value === '')),
    value,
    out: '',
  });
  return after + operator.length;
}

/** A URL's parts as bootseq reads them; `userinfo` is undefined when the URL has none. */
export interface UrlParts {
  readonly scheme: string;
  /** The user as written (up to the first `:` of the userinfo). */
  readonly user: string | undefined;
  /** The password as written (after the first `:`), undefined without a `:`. */
  readonly password: string | undefined;
  /** Everything after the userinfo's `@` (or after `://`): host, port, path, query. */
  readonly rest: string;
}

/**
 * A value that is a URL as a whole (a config value, an environment value), split the way people
 * write URLs: the userinfo runs from `://` to the URL's LAST `@`, so a password may hold `@ : / ? # %`,
 * quotes and spaces unencoded (`redis://user:p@ss@host` is the password `p@ss`). One exception keeps
 * the URL standard's reading where paths and queries are common (http, https, ws, wss): when what
 * precedes the first `/ ? #` is a plain `host` or `host:port` with no `@`, the URL has no userinfo
 * and a later `@` belongs to its path or query (`http://api:8080/up?from=ops@example.com`). Undefined
 * when `text` does not start with `scheme://`. `lastAt` drops the exception (redaction hides both
 * readings of such a URL).
 */
export function splitUrl(text: string, lastAt = false): UrlParts | undefined {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text);
  if (!scheme) return undefined;
  const start = scheme[0].length;
  const at = text.lastIndexOf('@');
  const authority = text.slice(start).split(/[/?#]/, 1)[0] ?? '';
  const standard =
    !lastAt && WEB_SCHEME.test(scheme[1]!) && !authority.includes('@') && PLAIN_AUTHORITY.test(authority);
  if (at < start || standard)
    return { scheme: scheme[1]!, user: undefined, password: undefined, rest: text.slice(start) };
  const userinfo = text.slice(start, at);
  const colon = userinfo.indexOf(':');
  return {
    scheme: scheme[1]!,
    user: colon < 0 ? userinfo : userinfo.slice(0, colon),
    password: colon < 0 ? undefined : userinfo.slice(colon + 1),
    rest: text.slice(at + 1),
  };
}

const WEB_SCHEME = /^(https?|wss?)$/i;
const PLAIN_AUTHORITY = /^(\[[0-9a-f:.]*\]|[a-z0-9._~!$&'()*+,;=%-]*)(:[0-9]*)?$/i;

/**
 * `text` (a whole-value URL) with its user and password percent-encoded, so that every URL parser
 * downstream (WHATWG URL for the service probe, pg's) reads the user and password splitUrl read. A
 * `%` followed by two hex digits is an escape (the URL standard: `g%40est` is `g@est`); any other `%`
 * is itself. Anything that is not such a URL is returned as it is.
 */
export function normalizeUrl(text: string): string {
  const url = splitUrl(text);
  if (!url || url.user === undefined) return text;
  const encode = (part: string) => encodeURIComponent(decodeLeniently(part));
  const password = url.password === undefined ? '' : `:${encode(url.password)}`;
  return `${url.scheme}://${encode(url.user)}${password}@${url.rest}`;
}

/** Each run of `%XX` escapes decoded when it is UTF-8; every other byte, `%` included, kept. */
function decodeLeniently(text: string): string {
  return text.replace(/(?:%[0-9a-f]{2})+/gi, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}

/**
 * The secrets a whole-value URL carries, in every form they may be printed: its password (as written,
 * decoded, encoded as normalizeUrl and WHATWG URL write it) and the values of its query parameters
 * whose names say secret. Empty for anything else.
 */
function urlSecrets(text: string): string[] {
  const url = splitUrl(text.trim());
  if (!url) return [];
  const found: string[] = [];
  // `http://api:80/x@y`: read as the standard reads it, but `80/x` is hidden as if it were a password.
  const other = splitUrl(text.trim(), true);
  if (url.user === undefined && other?.password) found.push(other.password);
  const forms = (value: string) => {
    const decoded = decodeLeniently(value);
    found.push(value, decoded, encodeURIComponent(decoded));
    try {
      found.push(new URL(`x://u:${value}@h`).password);
    } catch {
      // not parsable that way: the other forms stand
    }
  };
  if (url.password !== undefined && url.password !== '') forms(url.password);
  const query = url.rest.split('#', 1)[0]!;
  const q = query.indexOf('?');
  if (q >= 0)
    for (const pair of query.slice(q + 1).split(/[&;]/)) {
      const eq = pair.indexOf('=');
      if (eq > 0 && SECRET_PARAM.test(pair.slice(0, eq)) && eq < pair.length - 1) forms(pair.slice(eq + 1));
    }
  return found;
}

/**
 * Where the passwords of `scheme://user:password@host` URLs are in `text`, as [start, end) spans. The
 * userinfo ends at the LAST `@` of the token (people paste passwords with unencoded `@ : / % #`): a
 * path with an `@` is over-redacted, never a byte of a password shown. Linear in the text's length:
 * each `://` is looked at once, its token scanned once (docs: issue "no input freezes").
 */
export function urlPasswordSpans(text: string): [number, number][] {
  const spans: [number, number][] = [];
  let from = 0;
  for (;;) {
    const sep = text.indexOf('://', from);
    if (sep < 0) return spans;
    let end = sep + 3;
    while (end < text.length && !TOKEN_END.test(text[end]!)) end += 1;
    from = end;
    if (!hasScheme(text, sep)) continue;
    const token = text.slice(sep + 3, end);
    const at = token.lastIndexOf('@');
    const colon = token.indexOf(':');
    if (at < 0 || colon < 0 || colon > at) continue;
    spans.push([sep + 3 + colon + 1, sep + 3 + at]);
  }
}

const TOKEN_END = /[\s"'<>`]/;

/** A URL scheme right before `://`: a letter, then letters, digits, `+ . -` (at most 32). */
function hasScheme(text: string, sep: number): boolean {
  let start = sep;
  while (start > 0 && sep - start < 32 && /[a-z0-9+.-]/i.test(text[start - 1]!)) start -= 1;
  return start < sep && /[a-z]/i.test(text[start]!);
}

function urlPasswords(text: string): string[] {
  return urlPasswordSpans(text).flatMap(([a, b]) => {
    const password = text.slice(a, b);
    return [password, safeDecode(password)];
  });
}

/** `text` percent-decoded (a URL's user or password), or as it is when it is not valid percent-encoding. */
export function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * Where the values of secret query parameters (`?token=…`, `&X-Amz-Signature=…`) are in `text`, for
 * text bootseq never saw whole (a child's output): each value runs to the next `& # ;`, space or quote.
 */
export function secretParamSpans(text: string): [number, number][] {
  const spans: [number, number][] = [];
  for (const match of text.matchAll(SECRET_PARAM_PAIR)) {
    if (!SECRET_PARAM.test(match[1]!) || match[2] === '') continue;
    const end = match.index + match[0].length;
    spans.push([end - match[2]!.length, end]);
  }
  return spans;
}

const SECRET_PARAM_PAIR = /[?&;]([^=&?#;\s"'<>`]{1,64})=([^&#;\s"'<>`]*)/g;

/**
 * Replaces with *** every URL password, every secret parameter's value and every known secret (a
 * value from a `VAR_FILE`, a `*PASSWORD*` variable, a password read from a configured URL), wherever
 * they overlap: the spans are found on the text as given and merged, so no secret is cut in two by
 * another's *** and no piece of one survives. Linear: one scan for URLs and parameters, one indexOf
 * walk per secret.
 */
function createRedactor(secrets: readonly string[]): (text: string) => string {
  const known = [...new Set(secrets)].filter((s) => s.length >= SECRET_MIN);
  return (text) => {
    // One mark per hidden UTF-16 unit, then one pass: no sorting, however many spans overlap.
    let hidden: Uint8Array | undefined;
    const hide = (a: number, b: number) => {
      hidden ??= new Uint8Array(text.length);
      hidden.fill(1, a, b);
    };
    for (const [a, b] of urlPasswordSpans(text)) hide(a, b);
    for (const [a, b] of secretParamSpans(text)) hide(a, b);
    for (const secret of known)
      for (let at = text.indexOf(secret); at >= 0; at = text.indexOf(secret, at + 1))
        hide(at, at + secret.length);
    if (!hidden) return text;
    let result = '';
    let from = 0;
    for (let i = 0; i < text.length; ) {
      if (hidden[i] === 0) {
        i += 1;
        continue;
      }
      let end = i;
      while (end < text.length && hidden[end] === 1) end += 1;
      result += `${text.slice(from, i)}***`;
      from = end;
      i = end;
    }
    return result + text.slice(from);
  };
}

/**
 * A URL whose path is a key (`https://hc-ping.com/<uuid>`): the path, query and fragment as written and
 * as WHATWG URL writes them, and its password; the whole text when it has no such part.
 */
export function secretUrlParts(text: string): string[] {
  const value = text.trim();
  const found = urlSecrets(value);
  const schemeEnd = value.indexOf('://');
  const pathAt = schemeEnd < 0 ? -1 : value.slice(schemeEnd + 3).search(/[/?#]/);
  // The path's first slash stays shown: `https://hc-ping.com/***` reads as a URL.
  const rest = pathAt < 0 ? '' : value.slice(schemeEnd + 3 + pathAt).replace(/^\//, '');
  if (rest.length < SECRET_MIN) return [...found, value];
  found.push(rest);
  try {
    const url = new URL(value);
    found.push(`${url.pathname}${url.search}${url.hash}`.replace(/^\//, ''));
  } catch {
    // not parsable: the form as written stands
  }
  return found.filter((s) => s.length >= SECRET_MIN);
}
